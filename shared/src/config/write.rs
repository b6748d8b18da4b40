//! A tiny TOML writer for our fixed layouts: tables and keys in a readable order, values
//! quoted by the `toml` crate. Writing by hand keeps `to_toml_string` infallible.

use std::fmt::Write as _;

/// Accumulates a TOML document.
#[derive(Debug, Default)]
pub(super) struct TomlWriter {
    out: String,
}

impl TomlWriter {
    /// Comment lines, each prefixed with `# ` (or `#` when empty).
    pub(super) fn comments(&mut self, text: &str) {
        for line in text.lines() {
            if line.is_empty() {
                self.out.push_str("#\n");
            } else {
                let _ = writeln!(self.out, "# {line}");
            }
        }
    }

    /// Starts `[name]`, separated from what came before by a blank line.
    pub(super) fn table(&mut self, name: &str) {
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        let _ = writeln!(self.out, "[{name}]");
    }

    /// `key = "value"` for a bare key.
    pub(super) fn string(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.out, "{key} = {}", quote(value));
    }

    /// `"key" = "value"`, for keys that are not bare words (IP addresses).
    pub(super) fn quoted_key_string(&mut self, key: &str, value: &str) {
        let _ = writeln!(self.out, "{} = {}", quote(key), quote(value));
    }

    /// `key = 123`.
    pub(super) fn integer(&mut self, key: &str, value: i64) {
        let _ = writeln!(self.out, "{key} = {value}");
    }

    /// `key = true` / `key = false`.
    pub(super) fn boolean(&mut self, key: &str, value: bool) {
        let _ = writeln!(self.out, "{key} = {value}");
    }

    /// The document.
    pub(super) fn finish(self) -> String {
        self.out
    }
}

/// A TOML string literal for `text`, escaped as needed.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}
