//! A [`Report`] as text for a person (aligned, grouped by network, status words the caller
//! may colour) or as the JSON object documented in [`super`]. Pure functions of the report.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Report, Status};

/// The report as plain text (see [`render_text_with`]).
pub fn render_text(report: &Report) -> String {
    render_text_with(report, &|_, label| label.to_owned())
}

/// The report as text: one line `STATUS check: detail` per check, details aligned, the
/// advice of a check under its detail, a header line per network, and a summary. `paint`
/// decorates each status word (`PASS`, `WARN`, `FAIL`), e.g. with a terminal colour.
pub fn render_text_with(report: &Report, paint: &dyn Fn(Status, &str) -> String) -> String {
    let width = report
        .checks
        .iter()
        .map(|c| c.kind.as_str().len() + 1)
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut current = None;
    for check in &report.checks {
        if check.interface.is_some() && check.interface.as_ref() != current {
            current = check.interface.as_ref();
            if !out.is_empty() {
                out.push('\n');
            }
            if let Some(iface) = current {
                let _ = writeln!(out, "network {iface}");
            }
        }
        let name = format!("{}:", check.kind);
        let status = paint(check.status, check.status.label());
        let _ = writeln!(out, "{status} {name:<width$} {}", check.detail);
        if let Some(advice) = &check.advice {
            let indent = " ".repeat(Status::Pass.label().len() + 1 + width + 1);
            let _ = writeln!(out, "{indent}→ {advice}");
        }
    }
    out.push('\n');
    out.push_str(&summary(report));
    out.push('\n');
    out
}

/// "all 7 checks passed", or "9 checks: 6 passed, 1 warning, 2 failed".
pub fn summary(report: &Report) -> String {
    let total = report.checks.len();
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let passed = report.n_with(Status::Pass);
    if passed == total {
        return format!("all {} passed", plural(total, "check"));
    }
    format!(
        "{}: {passed} passed, {}, {} failed",
        plural(total, "check"),
        plural(report.n_with(Status::Warn), "warning"),
        report.n_with(Status::Fail)
    )
}

#[derive(Serialize)]
struct JsonReport<'a> {
    ok: bool,
    checks: Vec<JsonCheck<'a>>,
}

#[derive(Serialize)]
struct JsonCheck<'a> {
    interface: Option<&'a str>,
    check: &'static str,
    status: &'static str,
    detail: &'a str,
    advice: Option<&'a str>,
}

/// The report as the JSON object of the module doc, pretty-printed, with a final newline.
pub fn render_json(report: &Report) -> String {
    let document = JsonReport {
        ok: report.ok(),
        checks: report
            .checks
            .iter()
            .map(|check| JsonCheck {
                interface: check.interface.as_ref().map(|i| i.as_str()),
                check: check.kind.as_str(),
                status: check.status.as_str(),
                detail: &check.detail,
                advice: check.advice.as_deref(),
            })
            .collect(),
    };
    // Only strings, booleans and nulls: serialising cannot fail.
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::{Check, CheckKind};

    fn check(
        iface: Option<&str>,
        kind: CheckKind,
        status: Status,
        detail: &str,
        advice: Option<&str>,
    ) -> Check {
        Check {
            interface: iface.map(|i| i.parse().unwrap()),
            kind,
            status,
            detail: detail.to_owned(),
            advice: advice.map(str::to_owned),
        }
    }

    fn sample() -> Report {
        Report {
            checks: vec![
                check(
                    None,
                    CheckKind::ConfigDir,
                    Status::Pass,
                    "/etc/wiremesh: mode 0700, owned by root",
                    None,
                ),
                check(
                    None,
                    CheckKind::Installed,
                    Status::Pass,
                    "1 network installed: meshb",
                    None,
                ),
                check(
                    Some("meshb"),
                    CheckKind::Config,
                    Status::Fail,
                    "/etc/wiremesh/meshb.conf: mode 0644: other users can read its private key",
                    Some("run `chmod 600 /etc/wiremesh/meshb.conf`"),
                ),
                check(
                    Some("meshb"),
                    CheckKind::Interface,
                    Status::Fail,
                    "interface meshb is not up",
                    Some("run `wiremesh up meshb`"),
                ),
                check(
                    Some("meshb"),
                    CheckKind::RpFilter,
                    Status::Warn,
                    "not strict: off",
                    Some("run `sysctl -w net.ipv4.conf.all.rp_filter=1`"),
                ),
            ],
        }
    }

    #[test]
    fn text_is_aligned_grouped_and_summarised() {
        let expected = "\
PASS config-dir: /etc/wiremesh: mode 0700, owned by root
PASS installed:  1 network installed: meshb

network meshb
FAIL config:     /etc/wiremesh/meshb.conf: mode 0644: other users can read its private key
                 → run `chmod 600 /etc/wiremesh/meshb.conf`
FAIL interface:  interface meshb is not up
                 → run `wiremesh up meshb`
WARN rp_filter:  not strict: off
                 → run `sysctl -w net.ipv4.conf.all.rp_filter=1`

5 checks: 2 passed, 1 warning, 2 failed
";
        assert_eq!(render_text(&sample()), expected);
    }

    #[test]
    fn paint_decorates_only_the_status_words() {
        let painted = render_text_with(&sample(), &|status, label| match status {
            Status::Pass => format!("<g>{label}</g>"),
            Status::Warn => format!("<y>{label}</y>"),
            Status::Fail => format!("<r>{label}</r>"),
        });
        assert!(
            painted.starts_with("<g>PASS</g> config-dir: /etc"),
            "{painted}"
        );
        assert!(
            painted.contains("\n<r>FAIL</r> interface:  interface meshb"),
            "{painted}"
        );
        assert!(
            painted.contains("\n<y>WARN</y> rp_filter:  not strict"),
            "{painted}"
        );
        assert!(
            painted.contains("\n                 → run `wiremesh up meshb`"),
            "{painted}"
        );
    }

    #[test]
    fn summaries() {
        let mut report = sample();
        report.checks.retain(|c| c.status == Status::Pass);
        assert_eq!(summary(&report), "all 2 checks passed");
        report.checks.truncate(1);
        assert_eq!(summary(&report), "all 1 check passed");
        let mut report = sample();
        report.checks.retain(|c| c.status != Status::Fail);
        assert_eq!(summary(&report), "3 checks: 2 passed, 1 warning, 0 failed");
    }

    #[test]
    fn json_shape_is_stable() {
        let mut report = sample();
        report.checks.truncate(3);
        let expected = r#"{
  "ok": false,
  "checks": [
    {
      "interface": null,
      "check": "config-dir",
      "status": "pass",
      "detail": "/etc/wiremesh: mode 0700, owned by root",
      "advice": null
    },
    {
      "interface": null,
      "check": "installed",
      "status": "pass",
      "detail": "1 network installed: meshb",
      "advice": null
    },
    {
      "interface": "meshb",
      "check": "config",
      "status": "fail",
      "detail": "/etc/wiremesh/meshb.conf: mode 0644: other users can read its private key",
      "advice": "run `chmod 600 /etc/wiremesh/meshb.conf`"
    }
  ]
}
"#;
        assert_eq!(render_json(&report), expected);
        report.checks.truncate(2);
        assert!(render_json(&report).starts_with("{\n  \"ok\": true,"));
    }

    #[test]
    fn every_check_name_is_distinct() {
        let kinds = [
            CheckKind::ConfigDir,
            CheckKind::Installed,
            CheckKind::Config,
            CheckKind::Cache,
            CheckKind::Interface,
            CheckKind::Implementation,
            CheckKind::Server,
            CheckKind::Handshake,
            CheckKind::Routes,
            CheckKind::RpFilter,
        ];
        let names: std::collections::HashSet<&str> = kinds.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), kinds.len());
    }
}
