//! Filling in what the flags left out: asked with dialoguer when standard input is a
//! terminal, otherwise a [`UsageError`] naming the flag (exit status 2), so a script fails at
//! once instead of hanging on a question.

use std::fmt;
use std::io::IsTerminal;
use std::str::FromStr;

use anyhow::{Context as _, Result};
use dialoguer::{Confirm, Input, Select};

/// A value that has to be given on the command line; `main` exits with status 2.
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

    /// `given`, else typed in (re-asked until it parses), offering `default`.
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
        if !self.interactive {
            return Err(Self::missing(flag));
        }
        let mut input = Input::<String>::new().with_prompt(prompt);
        if let Some(default) = default {
            input = input.default(default);
        }
        let text = input
            .validate_with(|text: &String| {
                text.trim()
                    .parse::<T>()
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
            .interact_text()
            .with_context(|| format!("failed to read {flag} from the terminal"))?;
        text.trim()
            .parse::<T>()
            .map_err(|e| anyhow::anyhow!("invalid {flag}: {e}"))
    }

    /// `given`, else one of `items` picked from a list; returns the picked item.
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
        if !self.interactive {
            return Err(Self::missing(flag));
        }
        anyhow::ensure!(!items.is_empty(), "nothing to choose from for {flag}");
        let index = Select::new()
            .with_prompt(prompt)
            .items(items)
            .default(0)
            .interact()
            .with_context(|| format!("failed to read {flag} from the terminal"))?;
        Ok(items[index].clone())
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
