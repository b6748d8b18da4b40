//! Writes a private file, refuses to overwrite it, then replaces it atomically.
//!
//! `cargo run -p privatefile --example write_secret -- /tmp/secret.txt`

fn main() -> Result<(), privatefile::Error> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/privatefile-example.txt".to_owned());
    let path = std::path::Path::new(&path);
    privatefile::write_new(path, b"first\n")?;
    match privatefile::write_new(path, b"second\n") {
        Err(error @ privatefile::Error::Exists { .. }) => println!("refused: {error}"),
        other => println!("unexpected: {other:?}"),
    }
    privatefile::replace(path, b"replaced\n")?;
    println!(
        "{} now holds: {}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default().trim()
    );
    std::fs::remove_file(path).ok();
    Ok(())
}
