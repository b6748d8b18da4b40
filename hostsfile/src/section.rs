//! Section tags, the [`HostsBuilder`], peer hostnames, and the pure update of a file's text.
//!
//! Nothing here does IO: [`HostsBuilder::apply`] maps the current contents of a hosts file to
//! its new contents (or [`Update::Unchanged`]), which keeps the logic easy to test and fuzz.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use crate::error::{Error, MarkerProblem, NameProblem};

/// Longest accepted tag, in bytes.
const MAX_TAG_LEN: usize = 200;
/// Longest accepted hostname, in bytes (the DNS limit for a full name).
const MAX_HOSTNAME_LEN: usize = 253;

/// The name of a section, as it appears in its marker lines
/// `# DO NOT EDIT <tag> BEGIN` and `# DO NOT EDIT <tag> END`.
///
/// Invariant: non-empty, at most 200 bytes, no control characters, no leading or trailing
/// whitespace, so a marker line always stays one line and matches itself after trimming.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Tag(String);

impl Tag {
    /// A tag from any caller-chosen text, e.g. `innernet evilcorp`.
    pub fn new(tag: impl Into<String>) -> Result<Self, Error> {
        let tag = tag.into();
        match tag_problem(&tag) {
            Some(problem) => Err(Error::InvalidTag { tag, problem }),
            None => Ok(Tag(tag)),
        }
    }

    /// wiremesh's tag for an interface: `wiremesh <interface>`.
    pub fn wiremesh(interface: &str) -> Result<Self, Error> {
        Tag::new(format!("wiremesh {interface}"))
    }

    /// innernet's tag for an interface: `innernet <interface>`, for files shared with it.
    pub fn innernet(interface: &str) -> Result<Self, Error> {
        Tag::new(format!("innernet {interface}"))
    }

    /// The tag text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The line that opens the section, without a line break.
    pub fn begin_marker(&self) -> String {
        format!("# DO NOT EDIT {} BEGIN", self.0)
    }

    /// The line that closes the section, without a line break.
    pub fn end_marker(&self) -> String {
        format!("# DO NOT EDIT {} END", self.0)
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn tag_problem(tag: &str) -> Option<NameProblem> {
    if tag.is_empty() {
        Some(NameProblem::Empty)
    } else if tag.len() > MAX_TAG_LEN {
        Some(NameProblem::TooLong {
            len: tag.len(),
            max: MAX_TAG_LEN,
        })
    } else if tag.chars().any(char::is_control) {
        Some(NameProblem::ControlCharacter)
    } else if tag.trim() != tag {
        Some(NameProblem::SurroundingWhitespace)
    } else {
        None
    }
}

fn hostname_problem(name: &str) -> Option<NameProblem> {
    if name.is_empty() {
        Some(NameProblem::Empty)
    } else if name.len() > MAX_HOSTNAME_LEN {
        Some(NameProblem::TooLong {
            len: name.len(),
            max: MAX_HOSTNAME_LEN,
        })
    } else if name.chars().any(char::is_control) {
        Some(NameProblem::ControlCharacter)
    } else if name.chars().any(char::is_whitespace) {
        Some(NameProblem::Whitespace)
    } else if name.contains('#') {
        Some(NameProblem::Hash)
    } else {
        None
    }
}

/// The hostname of a peer, following innernet's `--host-suffix` rules:
/// no suffix → `<peer>.<interface>.wg`; `Some(s)` → `<peer>.<s>`; `Some("")` → `<peer>`.
pub fn peer_hostname(peer_name: &str, interface: &str, suffix: Option<&str>) -> String {
    match suffix {
        None => format!("{peer_name}.{interface}.wg"),
        Some("") => peer_name.to_owned(),
        Some(suffix) => format!("{peer_name}.{suffix}"),
    }
}

/// The result of [`HostsBuilder::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Update {
    /// The file must be rewritten with these contents.
    Changed(String),
    /// The file already holds exactly this section (or no section and there is none to add).
    Unchanged,
}

/// The wanted contents of one section: hostnames grouped by IP address.
///
/// Rendered as one line per IP, `"<ip> <name1> <name2> …"`, IPs in ascending order (every
/// IPv4 address before every IPv6 one), names in the order they were added, without
/// duplicates (compared ASCII case-insensitively, as hostnames are).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostsBuilder {
    tag: Tag,
    /// `IpAddr`'s order puts V4 before V6 and is numeric within a family: exactly the order
    /// of the rendered lines. Every vector is non-empty.
    hosts: BTreeMap<IpAddr, Vec<String>>,
}

impl HostsBuilder {
    /// An empty section named `tag`. Writing an empty section removes it from the file.
    pub fn new(tag: Tag) -> Self {
        HostsBuilder {
            tag,
            hosts: BTreeMap::new(),
        }
    }

    /// The section's tag.
    pub fn tag(&self) -> &Tag {
        &self.tag
    }

    /// True when no hostname was added.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Adds one hostname for `ip`. A name that would break the file (empty, whitespace,
    /// control characters, `#`, longer than 253 bytes) is refused.
    pub fn add_hostname(
        &mut self,
        ip: IpAddr,
        name: impl Into<String>,
    ) -> Result<&mut Self, Error> {
        self.add_hostnames(ip, [name])
    }

    /// Adds several hostnames for `ip`. Either all are valid and added, or none is.
    pub fn add_hostnames<I, S>(&mut self, ip: IpAddr, names: I) -> Result<&mut Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let names: Vec<String> = names.into_iter().map(Into::into).collect();
        if let Some((name, problem)) = names
            .iter()
            .find_map(|name| hostname_problem(name).map(|problem| (name, problem)))
        {
            return Err(Error::InvalidHostname {
                ip,
                name: name.clone(),
                problem,
            });
        }
        for name in names {
            let existing = self.hosts.entry(ip).or_default();
            if !existing.iter().any(|seen| seen.eq_ignore_ascii_case(&name)) {
                existing.push(name);
            }
        }
        Ok(self)
    }

    /// The section as it is written: BEGIN marker, one line per IP, END marker, each line
    /// ended by `newline`. `None` when the section is empty.
    fn render(&self, newline: &str, last_newline: &str) -> Option<String> {
        if self.hosts.is_empty() {
            return None;
        }
        let mut out = String::new();
        out.push_str(&self.tag.begin_marker());
        out.push_str(newline);
        for (ip, names) in &self.hosts {
            out.push_str(&ip.to_string());
            for name in names {
                out.push(' ');
                out.push_str(name);
            }
            out.push_str(newline);
        }
        out.push_str(&self.tag.end_marker());
        out.push_str(last_newline);
        Some(out)
    }

    /// The section as it is appended to a file (`\n` line endings), `None` when empty.
    pub fn section(&self) -> Option<String> {
        self.render("\n", "\n")
    }

    /// Computes the new contents of a hosts file whose current contents are `existing`.
    ///
    /// - Both markers present: the section is replaced in place; every byte outside it is
    ///   kept, including whether the file ends with a line break. The same section gives
    ///   [`Update::Unchanged`].
    /// - No marker: the section is appended after a blank line (unless the last line is
    ///   already blank).
    /// - An empty builder removes the section ([`Update::Unchanged`] when there is none).
    /// - One marker only, the END before the BEGIN, or a marker twice: [`Error::Markers`].
    pub fn apply(&self, existing: &str) -> Result<Update, Error> {
        let markers = find_markers(existing, &self.tag).map_err(|problem| Error::Markers {
            path: None,
            tag: self.tag.as_str().to_owned(),
            problem,
        })?;
        let new = match markers {
            None => match self.section() {
                None => return Ok(Update::Unchanged),
                Some(section) => append(existing, &section),
            },
            Some((begin, end)) => {
                let before = existing.get(..begin.start).unwrap_or_default();
                let after = existing.get(end.end..).unwrap_or_default();
                let newline = if begin.terminator == "\r\n" {
                    "\r\n"
                } else {
                    "\n"
                };
                match self.render(newline, end.terminator) {
                    None => format!("{before}{after}"),
                    Some(section) => format!("{before}{section}{after}"),
                }
            }
        };
        if new == existing {
            Ok(Update::Unchanged)
        } else {
            Ok(Update::Changed(new))
        }
    }
}

/// One marker line: its number (from 1), its byte range including its line break, and the
/// line break itself (`""` on a last line without one).
#[derive(Debug, Clone, Copy)]
struct MarkerLine<'a> {
    number: usize,
    start: usize,
    end: usize,
    terminator: &'a str,
}

/// Finds the section's BEGIN and END lines: `None` when neither exists.
fn find_markers<'a>(
    existing: &'a str,
    tag: &Tag,
) -> Result<Option<(MarkerLine<'a>, MarkerLine<'a>)>, MarkerProblem> {
    let begin_marker = tag.begin_marker();
    let end_marker = tag.end_marker();
    let mut begin: Option<MarkerLine<'a>> = None;
    let mut end: Option<MarkerLine<'a>> = None;
    let mut offset = 0;
    for (index, line) in existing.split_inclusive('\n').enumerate() {
        let marker = MarkerLine {
            number: index + 1,
            start: offset,
            end: offset + line.len(),
            terminator: terminator(line),
        };
        offset = marker.end;
        let trimmed = line.trim();
        if trimmed == begin_marker {
            if let Some(first) = begin {
                return Err(MarkerProblem::DuplicateBegin {
                    first_line: first.number,
                    second_line: marker.number,
                });
            }
            begin = Some(marker);
        } else if trimmed == end_marker {
            if let Some(first) = end {
                return Err(MarkerProblem::DuplicateEnd {
                    first_line: first.number,
                    second_line: marker.number,
                });
            }
            end = Some(marker);
        }
    }
    match (begin, end) {
        (None, None) => Ok(None),
        (Some(begin), None) => Err(MarkerProblem::MissingEnd {
            begin_line: begin.number,
        }),
        (None, Some(end)) => Err(MarkerProblem::MissingBegin {
            end_line: end.number,
        }),
        (Some(begin), Some(end)) if end.number < begin.number => {
            Err(MarkerProblem::EndBeforeBegin {
                begin_line: begin.number,
                end_line: end.number,
            })
        }
        (Some(begin), Some(end)) => Ok(Some((begin, end))),
    }
}

fn terminator(line: &str) -> &str {
    if line.ends_with("\r\n") {
        "\r\n"
    } else if line.ends_with('\n') {
        "\n"
    } else {
        ""
    }
}

/// `existing`, then a blank line unless its last line is blank (or it is empty), then `section`.
fn append(existing: &str, section: &str) -> String {
    let mut out = String::with_capacity(existing.len() + section.len() + 2);
    out.push_str(existing);
    if let Some(last_line) = existing.split_inclusive('\n').next_back() {
        if !last_line.ends_with('\n') {
            out.push('\n');
        }
        if !last_line.trim().is_empty() {
            out.push('\n');
        }
    }
    out.push_str(section);
    out
}
