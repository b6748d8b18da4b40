//! A DNS reply to each of the default resolvers' queries, with the id the seeds use.

use publicip::message::parse_reply;
use publicip::DEFAULT_RESOLVERS;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        for resolver in DEFAULT_RESOLVERS.iter() {
            let _ = parse_reply(resolver, 0x1234, data);
        }
    });
}
