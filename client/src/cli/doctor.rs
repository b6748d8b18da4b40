//! `doctor`: runs the library's host checks ([`wiremesh::doctor`]) on the real machine,
//! prints the report (status words coloured on a terminal unless `NO_COLOR` is set, or JSON)
//! and fails when a check failed, so that `main` exits 1.

use std::time::SystemTime;

use anyhow::{bail, Result};
use wiremesh::doctor::{self, LiveSystem, Status};
use wiremesh::Context;
use wiremesh_cli::Style;

use super::args::DoctorOpts;

pub fn doctor(ctx: &Context, opts: &DoctorOpts) -> Result<()> {
    let report = doctor::diagnose(
        ctx,
        &LiveSystem::new(),
        opts.interface.as_ref(),
        SystemTime::now(),
    );
    if opts.json {
        print!("{}", doctor::render_json(&report));
    } else {
        let style = Style::for_stdout();
        let text = doctor::render_text_with(&report, &|status, label| paint(style, status, label));
        print!("{text}");
    }
    match report.n_with(Status::Fail) {
        0 => Ok(()),
        1 => bail!("1 check failed"),
        n => bail!("{n} checks failed"),
    }
}

/// PASS green, WARN yellow, FAIL red (plain when `style` is).
fn paint(style: Style, status: Status, label: &str) -> String {
    match status {
        Status::Pass => style.green(label),
        Status::Warn => style.yellow(label),
        Status::Fail => style.red(label),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_get_their_colours() {
        let cases = [
            (Status::Pass, "\x1b[32mPASS\x1b[0m"),
            (Status::Warn, "\x1b[33mWARN\x1b[0m"),
            (Status::Fail, "\x1b[31mFAIL\x1b[0m"),
        ];
        for (status, coloured) in cases {
            assert_eq!(paint(Style::COLOUR, status, status.label()), coloured);
            assert_eq!(paint(Style::PLAIN, status, status.label()), status.label());
        }
    }
}
