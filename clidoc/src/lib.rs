//! Man pages and shell completions of a binary, generated from its clap definition, and the
//! check that keeps the copies checked in under `doc/` equal to what the code generates.
//!
//! Each binary crate has a unit test that calls [`check`] with its `Cli::command()`. The test
//! fails with the list of stale files and the command that regenerates them; with
//! `WIREMESH_REGENERATE_DOCS=1` it writes the files instead (and still fails if a write
//! fails). Packaging installs the files from `doc/`, so what ships is what was reviewed.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap_complete::Shell;

/// The environment variable that makes [`check`] write the files instead of comparing.
pub const REGENERATE_VAR: &str = "WIREMESH_REGENERATE_DOCS";

/// Every generated file of `bin`, by path relative to `doc/`: `man/<bin>/<bin>.1`, one
/// `man/<bin>/<bin>-<subcommand>.1` per visible subcommand, and `completions/<bin>/<bin>.bash`,
/// `completions/<bin>/_<bin>` (zsh) and `completions/<bin>/<bin>.fish`. Each binary owns its
/// two directories, so packaging can take them whole.
pub fn generate(cmd: clap::Command, bin: &str) -> io::Result<BTreeMap<PathBuf, Vec<u8>>> {
    let mut files = BTreeMap::new();
    assert_eq!(cmd.get_name(), bin, "the command's name is the binary's");
    // Man pages leave out the `help` subcommand; completions are exactly what
    // `<bin> completions <shell>` prints.
    let mut pages = cmd.clone().disable_help_subcommand(true);
    pages.build();
    man_pages(pages, &Path::new("man").join(bin), &mut files)?;
    for (shell, name) in [
        (Shell::Bash, format!("{bin}.bash")),
        (Shell::Zsh, format!("_{bin}")),
        (Shell::Fish, format!("{bin}.fish")),
    ] {
        let mut text = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), bin, &mut text);
        files.insert(Path::new("completions").join(bin).join(name), text);
    }
    Ok(files)
}

fn man_pages(
    cmd: clap::Command,
    dir: &Path,
    files: &mut BTreeMap<PathBuf, Vec<u8>>,
) -> io::Result<()> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned() {
        man_pages(sub, dir, files)?;
    }
    let man = clap_mangen::Man::new(cmd).manual("wiremesh manual");
    let mut page = Vec::new();
    man.render(&mut page)?;
    files.insert(dir.join(man.get_filename()), page);
    Ok(())
}

/// A difference between `doc/` and the generated files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stale {
    /// Generated, but not in `doc/` (or different there).
    Differs(PathBuf),
    /// In `doc/` under a directory the generator owns, but no longer generated.
    Extra(PathBuf),
}

/// Compares `files` with `doc_dir`: files that differ or are missing, and files in `bin`'s
/// directories that are no longer generated.
pub fn compare(doc_dir: &Path, bin: &str, files: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<Stale> {
    let mut stale = Vec::new();
    for (path, content) in files {
        if fs::read(doc_dir.join(path)).ok().as_ref() != Some(content) {
            stale.push(Stale::Differs(path.clone()));
        }
    }
    for dir in ["man", "completions"] {
        let dir = Path::new(dir).join(bin);
        let Ok(entries) = fs::read_dir(doc_dir.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = dir.join(entry.file_name());
            if !files.contains_key(&path) {
                stale.push(Stale::Extra(path));
            }
        }
    }
    stale
}

/// Writes `files` under `doc_dir` and removes the extra ones `compare` found.
pub fn write(
    doc_dir: &Path,
    files: &BTreeMap<PathBuf, Vec<u8>>,
    stale: &[Stale],
) -> io::Result<()> {
    for (path, content) in files {
        let target = doc_dir.join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(target, content)?;
    }
    for entry in stale {
        if let Stale::Extra(path) = entry {
            fs::remove_file(doc_dir.join(path))?;
        }
    }
    Ok(())
}

/// The body of each binary's staleness test: panics with what is stale and how to regenerate
/// it, unless `WIREMESH_REGENERATE_DOCS=1`, which rewrites `doc_dir` instead.
pub fn check(cmd: clap::Command, bin: &str, package: &str, doc_dir: &Path) {
    let files = generate(cmd, bin).expect("generate man pages and completions");
    let stale = compare(doc_dir, bin, &files);
    if stale.is_empty() {
        return;
    }
    if std::env::var_os(REGENERATE_VAR).is_some_and(|v| v == "1") {
        write(doc_dir, &files, &stale).expect("write the generated documentation");
        return;
    }
    let list: Vec<String> = stale
        .iter()
        .map(|s| match s {
            Stale::Differs(path) => format!("  changed: doc/{}", path.display()),
            Stale::Extra(path) => format!("  no longer generated: doc/{}", path.display()),
        })
        .collect();
    panic!(
        "the man pages and completions in doc/ differ from what the code generates:\n{}\n\
         regenerate them with:\n  {REGENERATE_VAR}=1 cargo test -p {package} --bin {bin} generated_docs\n\
         and commit the result",
        list.join("\n")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn demo() -> Command {
        Command::new("demo")
            .version("1.0")
            .about("Demo")
            .subcommand(Command::new("up").about("Up").arg(Arg::new("iface")))
            .subcommand(Command::new("secret").hide(true))
    }

    #[test]
    fn one_page_per_visible_subcommand_and_three_shells() {
        let files = generate(demo(), "demo").unwrap();
        let names: Vec<String> = files.keys().map(|p| p.display().to_string()).collect();
        assert_eq!(
            names,
            [
                "completions/demo/_demo",
                "completions/demo/demo.bash",
                "completions/demo/demo.fish",
                "man/demo/demo-up.1",
                "man/demo/demo.1"
            ]
        );
        let page = String::from_utf8(files[Path::new("man/demo/demo-up.1")].clone()).unwrap();
        assert!(page.contains("demo\\-up"), "{page}");
    }

    #[test]
    fn compare_write_and_compare_again() {
        let dir = tempfile::tempdir().unwrap();
        let files = generate(demo(), "demo").unwrap();
        let stale = compare(dir.path(), "demo", &files);
        assert_eq!(stale.len(), files.len());
        // A page of a removed subcommand is extra; another binary's page is not ours.
        fs::create_dir_all(dir.path().join("man/demo")).unwrap();
        fs::create_dir_all(dir.path().join("man/other")).unwrap();
        fs::write(dir.path().join("man/demo/demo-gone.1"), "old").unwrap();
        fs::write(dir.path().join("man/other/other.1"), "other").unwrap();
        let stale = compare(dir.path(), "demo", &files);
        assert!(stale.contains(&Stale::Extra(PathBuf::from("man/demo/demo-gone.1"))));
        write(dir.path(), &files, &stale).unwrap();
        assert!(compare(dir.path(), "demo", &files).is_empty());
        assert!(dir.path().join("man/other/other.1").exists());
        assert!(!dir.path().join("man/demo/demo-gone.1").exists());
    }
}
