//! Asking for what the flags left out, with dialoguer, only when standard input is a terminal.
//!
//! Without a terminal every missing value is a [`UsageError`] naming its flag (exit status 2),
//! so scripts fail fast instead of hanging on a prompt; `--yes` answers confirmations.

use std::fmt;
use std::io::IsTerminal;

use anyhow::{Context, Result};
use dialoguer::{Confirm, Input, Select};

/// A value that had to be given on the command line: the binary exits with status 2.
#[derive(Debug)]
pub struct UsageError {
    pub message: String,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UsageError {}

/// Whether (and how) questions can be asked.
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

    fn missing(flag: &str) -> anyhow::Error {
        UsageError {
            message: format!(
                "missing {flag}: standard input is not a terminal, so it cannot be asked for; \
                 pass {flag} on the command line"
            ),
        }
        .into()
    }

    /// `given` parsed, else the answer to `prompt`, re-asked until it parses (`default`
    /// offered). A bad `given` is an error of its own, not a usage error.
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
            .validate_with(|text: &String| parse(text).map(|_| ()).map_err(|e| format!("{e:#}")))
            .interact_text()
            .with_context(|| format!("failed to read {flag} from the terminal"))?;
        parse(&text)
    }

    /// `given`, else one of `items` chosen from a list; returns the index.
    pub fn select(
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

    /// `given`, else a yes/no question.
    pub fn flag(
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

    /// A confirmation: `true` with `--yes`, else asked (a terminal is needed).
    pub fn confirm(&self, yes: bool, prompt: &str) -> Result<bool> {
        if yes {
            return Ok(true);
        }
        self.flag(None, "--yes", prompt, false)
    }

    pub fn is_interactive(&self) -> bool {
        self.interactive
    }
}
