//! The `wiremesh` binary (not yet functional; see the peer-client issue).

fn main() {
    eprintln!("wiremesh: not built yet; this release ships only the foundation crates");
    std::process::exit(1);
}
