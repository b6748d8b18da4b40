//! Filling in what the flags left out: asked with dialoguer when standard input is a
//! terminal, otherwise a [`UsageError`] naming the flag (the binaries exit with status 2), so
//! a script fails at once instead of hanging on a question. `--yes` answers confirmations.
//!
//! A value given on the command line is never asked again; a bad one is an error of its own
//! (not a usage error), and a bad answer at the terminal is asked again.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use anyhow::{Context as _, Result};
use dialoguer::{Confirm, Input, Select};

/// A value that has to be given on the command line; the binaries exit with status 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Whether questions can be asked.
#[derive(Debug, Clone, Copy)]
pub struct Prompter {
    interactive: bool,
}

impl Prompter {
    /// Interactive exactly when standard input is a terminal.
    pub fn detect() -> Self {
        Self {
            interactive: std::io::stdin().is_terminal(),
        }
    }

    /// A prompter that never asks (every missing value is a usage error).
    pub fn non_interactive() -> Self {
        Self { interactive: false }
    }

    pub fn is_interactive(&self) -> bool {
        self.interactive
    }

    /// The error for a value that cannot be asked for.
    pub fn missing(flag: &str) -> anyhow::Error {
        UsageError(format!(
            "missing {flag}: standard input is not a terminal, so it cannot be asked for; \
             pass {flag} on the command line"
        ))
        .into()
    }

    /// `given` parsed with `parse`, else the answer to `prompt`, asked again until it
    /// parses (`default` offered).
    pub fn ask<T>(
        &self,
        given: Option<&str>,
        flag: &str,
        prompt: &str,
        default: Option<String>,
        parse: impl Fn(&str) -> Result<T>,
    ) -> Result<T> {
        if let Some(text) = given {
            return parse(text);
        }
        if !self.interactive {
            return Err(Self::missing(flag));
        }
        let mut input = Input::<String>::new().with_prompt(prompt);
        if let Some(default) = default {
            input = input.default(default);
        }
        let text = input
            .validate_with(|text: &String| parse(text).map(drop).map_err(|e| format!("{e:#}")))
            .interact_text()
            .with_context(|| format!("failed to read {flag} from the terminal"))?;
        parse(&text)
    }

    /// `given`, else typed in and parsed with [`FromStr`] (asked again until it parses),
    /// offering `default`.
    pub fn input<T>(
        &self,
        given: Option<T>,
        flag: &str,
        prompt: &str,
        default: Option<String>,
    ) -> Result<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        if let Some(value) = given {
            return Ok(value);
        }
        self.ask(None, flag, prompt, default, |text| {
            text.trim()
                .parse::<T>()
                .map_err(|e| anyhow::anyhow!("invalid {flag}: {e}"))
        })
    }

    /// `given`, else the index of one of `items` picked from a list.
    pub fn select_index(
        &self,
        given: Option<usize>,
        flag: &str,
        prompt: &str,
        items: &[String],
    ) -> Result<usize> {
        if let Some(index) = given {
            return Ok(index);
        }
        if !self.interactive {
            return Err(Self::missing(flag));
        }
        anyhow::ensure!(!items.is_empty(), "nothing to choose from for {flag}");
        Select::new()
            .with_prompt(prompt)
            .items(items)
            .default(0)
            .interact()
            .with_context(|| format!("failed to read {flag} from the terminal"))
    }

    /// `given`, else one of `items` picked from a list.
    pub fn select(
        &self,
        given: Option<String>,
        flag: &str,
        prompt: &str,
        items: &[String],
    ) -> Result<String> {
        if let Some(value) = given {
            return Ok(value);
        }
        let index = self.select_index(None, flag, prompt, items)?;
        items
            .get(index)
            .cloned()
            .context("the chosen entry is not in the list")
    }

    /// `given`, else a yes/no question.
    pub fn yes_no(
        &self,
        given: Option<bool>,
        flag: &str,
        prompt: &str,
        default: bool,
    ) -> Result<bool> {
        if let Some(value) = given {
            return Ok(value);
        }
        if !self.interactive {
            return Err(Self::missing(flag));
        }
        Confirm::new()
            .with_prompt(prompt)
            .default(default)
            .interact()
            .with_context(|| format!("failed to read {flag} from the terminal"))
    }

    /// A confirmation: `true` with `--yes`, else asked; without a terminal a usage error.
    pub fn confirm(&self, yes: bool, prompt: &str) -> Result<bool> {
        if yes {
            return Ok(true);
        }
        self.yes_no(None, "--yes", prompt, false)
    }
}

/// The answer "no" to a confirmation: nothing was done, the process exits 0.
pub fn cancelled() -> Result<()> {
    eprintln!("cancelled, nothing changed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage_message(error: anyhow::Error) -> String {
        error
            .downcast::<UsageError>()
            .expect("a usage error")
            .to_string()
    }

    #[test]
    fn given_values_are_used_and_missing_ones_name_their_flag() {
        let prompter = Prompter::non_interactive();
        let parsed = prompter.ask(Some(" 7 "), "--n", "N", None, |t| {
            Ok(t.trim().parse::<u8>()?)
        });
        assert_eq!(parsed.unwrap(), 7);
        assert_eq!(
            prompter.input(Some(3u16), "--port", "Port", None).unwrap(),
            3
        );
        assert_eq!(
            prompter.select(Some("b".into()), "--x", "X", &[]).unwrap(),
            "b"
        );
        assert_eq!(prompter.select_index(Some(1), "--x", "X", &[]).unwrap(), 1);
        assert!(prompter
            .yes_no(Some(false), "--admin", "Admin?", true)
            .is_ok_and(|v| !v));
        assert!(prompter.confirm(true, "Sure?").unwrap());

        let missing = usage_message(
            prompter
                .input::<u16>(None, "--port", "Port", None)
                .unwrap_err(),
        );
        assert!(
            missing.starts_with("missing --port: standard input is not a terminal"),
            "{missing}"
        );
        let missing = usage_message(prompter.confirm(false, "Sure?").unwrap_err());
        assert!(
            missing.contains("pass --yes on the command line"),
            "{missing}"
        );
        let missing = usage_message(
            prompter
                .select(None, "--cidr", "CIDR", &["a".into()])
                .unwrap_err(),
        );
        assert!(missing.starts_with("missing --cidr"), "{missing}");
    }

    #[test]
    fn a_bad_given_value_is_not_a_usage_error() {
        let prompter = Prompter::non_interactive();
        let error = prompter
            .ask(Some("x"), "--n", "N", None, |t| Ok(t.parse::<u8>()?))
            .unwrap_err();
        assert!(error.downcast_ref::<UsageError>().is_none(), "{error}");
    }
}
