//! The `wiremesh-server` binary (not yet functional; see the coordination-server issue).

fn main() {
    eprintln!("wiremesh-server: not built yet; this release ships only the foundation crates");
    std::process::exit(1);
}
