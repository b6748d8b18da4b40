//! Terminal colour for human output: on only when standard output is a terminal and
//! `NO_COLOR` is unset or empty (<https://no-color.org>). [`Style::for_stdout`] finds both
//! facts out for standard output; [`Style::for_output`] decides from given facts, and the
//! rest wraps text in ANSI SGR sequences.

use std::ffi::OsStr;

/// Whether to colour, and the colouring itself. `Style::default()` is plain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    enabled: bool,
}

impl Style {
    /// Plain text: no escape sequences at all.
    pub const PLAIN: Style = Style { enabled: false };
    /// Coloured text, whatever the output is.
    pub const COLOUR: Style = Style { enabled: true };

    /// Colour only for a terminal, and only when `NO_COLOR` (its value as read from the
    /// environment) is unset or empty.
    pub fn for_output(is_terminal: bool, no_color: Option<&OsStr>) -> Style {
        let opted_out = no_color.is_some_and(|value| !value.is_empty());
        Style {
            enabled: is_terminal && !opted_out,
        }
    }

    /// Colour for what goes to standard output: only on a terminal, and never with
    /// `NO_COLOR`.
    pub fn for_stdout() -> Style {
        use std::io::IsTerminal;
        Style::for_output(
            std::io::stdout().is_terminal(),
            std::env::var_os("NO_COLOR").as_deref(),
        )
    }

    pub fn is_enabled(self) -> bool {
        self.enabled
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }

    pub fn red(self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn green(self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn yellow(self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn cyan(self, text: &str) -> String {
        self.paint("36", text)
    }
}

/// Pads `text` with spaces to `width` columns, counting characters rather than bytes (names
/// are ASCII, but a CIDR name may not be). Text already as wide is returned unchanged.
pub fn pad(text: &str, width: usize) -> String {
    let len = text.chars().count();
    let mut out = text.to_owned();
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(len)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_needs_a_terminal_and_no_opt_out() {
        assert!(Style::for_output(true, None).is_enabled());
        assert!(Style::for_output(true, Some(OsStr::new(""))).is_enabled());
        assert!(!Style::for_output(true, Some(OsStr::new("1"))).is_enabled());
        assert!(!Style::for_output(false, None).is_enabled());
    }

    #[test]
    fn plain_style_adds_nothing() {
        assert_eq!(Style::PLAIN.red("x"), "x");
        assert_eq!(Style::COLOUR.red("x"), "\x1b[31mx\x1b[0m");
        assert_eq!(Style::COLOUR.bold("x"), "\x1b[1mx\x1b[0m");
    }

    #[test]
    fn pad_counts_characters() {
        assert_eq!(pad("ab", 4), "ab  ");
        assert_eq!(pad("äb", 3), "äb ");
        assert_eq!(pad("abcdef", 3), "abcdef");
    }
}
