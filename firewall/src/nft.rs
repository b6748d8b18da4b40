//! Running Debian's `nft` with its JSON API.

use std::ffi::OsString;
use std::io;

use nftables::helper::{self, NftablesError};
use nftables::schema::{NfListObject, NfObject, Nftables};

/// Why talking to nftables failed.
#[derive(Debug, thiserror::Error)]
pub enum NftError {
    #[error("`nft` was not found; install Debian's nftables package (apt-get install nftables)")]
    Missing,
    #[error("could not run `nft`: {0}")]
    Run(String),
    #[error("nft refused the change: {0}")]
    Refused(String),
    #[error("nft printed JSON this program cannot read: {0}")]
    Output(String),
}

/// How to run `nft`: directly, or through a prefix (tests run it inside a network namespace
/// with `ip netns exec NAME nft`).
#[derive(Debug, Clone)]
pub struct Nft {
    program: OsString,
    args: Vec<OsString>,
}

impl Default for Nft {
    fn default() -> Self {
        Self::system()
    }
}

impl Nft {
    /// `nft` from `PATH`.
    pub fn system() -> Self {
        Self {
            program: "nft".into(),
            args: Vec::new(),
        }
    }

    /// `nft` inside the network namespace `name` (through `ip netns exec`).
    pub fn in_netns(name: &str) -> Self {
        Self {
            program: "ip".into(),
            args: vec!["netns".into(), "exec".into(), name.into(), "nft".into()],
        }
    }

    fn error(&self, error: NftablesError) -> NftError {
        match error {
            NftablesError::NftExecution { inner, .. }
                if inner.kind() == io::ErrorKind::NotFound =>
            {
                NftError::Missing
            }
            NftablesError::NftExecution { inner, .. } => NftError::Run(inner.to_string()),
            NftablesError::NftOutputEncoding { inner, .. } => NftError::Output(inner.to_string()),
            NftablesError::NftInvalidJson(inner) => NftError::Output(inner.to_string()),
            NftablesError::NftFailed { stderr, .. } => {
                if stderr.contains("nft: not found")
                    || stderr.contains("No such file or directory") && stderr.contains("exec")
                {
                    NftError::Missing
                } else {
                    NftError::Refused(stderr.trim().to_owned())
                }
            }
        }
    }

    /// Runs one transaction (`nft -j -f -`): all of it or nothing.
    pub fn apply(&self, batch: &Nftables<'_>) -> Result<(), NftError> {
        let payload = serde_json::to_string(batch).expect("a transaction serializes");
        helper::apply_ruleset_raw(&payload, Some(&self.program), &self.args)
            .map(|_| ())
            .map_err(|e| self.error(e))
    }

    /// Lists `inet <name>`; `None` when the table does not exist.
    pub fn list_table(&self, name: &str) -> Result<Option<Vec<NfListObject<'static>>>, NftError> {
        let mut args = self.args.clone();
        args.extend(["-j", "list", "table", "inet", name].map(OsString::from));
        let output = run_raw(&self.program, &args);
        let text = match output {
            Ok(text) => text,
            Err(NftablesError::NftFailed { stderr, .. })
                if stderr.contains("No such file or directory") =>
            {
                return Ok(None)
            }
            Err(e) => return Err(self.error(e)),
        };
        let parsed: Nftables<'static> =
            serde_json::from_str(&text).map_err(|e| NftError::Output(e.to_string()))?;
        Ok(Some(
            parsed
                .objects
                .iter()
                .filter_map(|o| match o {
                    NfObject::ListObject(object) => Some(object.clone()),
                    NfObject::CmdObject(_) => None,
                })
                .collect(),
        ))
    }
}

/// Runs `program args…` and returns its standard output, as the helper does.
fn run_raw(program: &OsString, args: &[OsString]) -> Result<String, NftablesError> {
    let output = std::process::Command::new(program)
        .args(args)
        .output()
        .map_err(|inner| NftablesError::NftExecution {
            program: program.clone(),
            inner,
        })?;
    let stdout =
        String::from_utf8(output.stdout).map_err(|inner| NftablesError::NftOutputEncoding {
            program: program.clone(),
            inner,
        })?;
    if !output.status.success() {
        return Err(NftablesError::NftFailed {
            program: program.clone(),
            hint: "listing a table".to_owned(),
            stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(stdout)
}
