//! An invitation, client config or server config file.

use wiremesh_shared::config::{ClientConfig, InvitationConfig, ServerConfig};

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else {
            return;
        };
        let _ = InvitationConfig::from_toml_str(text);
        let _ = ClientConfig::from_toml_str(text);
        let _ = ServerConfig::from_toml_str(text);
    });
}
