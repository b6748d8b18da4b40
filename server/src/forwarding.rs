//! The host's IP forwarding, which the server needs while it is the hub of devices: their
//! packets arrive on the interface and leave through it again.
//!
//! The value found before the server turned a family's forwarding on is recorded in a file
//! (`<data-dir>/<network>.forwarding.json`) before the switch is touched, so a server that
//! is killed and started again still knows what to put back. It is put back when the server
//! hosts no device any more, and by `uninstall`; a switch that was on already is left on.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the switches were before the server turned them on (`None`: not touched).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ipv4_was: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ipv6_was: Option<bool>,
}

/// The forwarding switches of the host (of the network namespace the server runs in).
#[derive(Debug, Clone)]
pub struct Forwarding {
    record: PathBuf,
    /// Where the switches are: `/proc/sys/net` (another root in tests).
    sysctl: PathBuf,
}

fn switch_path(sysctl: &Path, v6: bool) -> PathBuf {
    if v6 {
        sysctl.join("ipv6/conf/all/forwarding")
    } else {
        sysctl.join("ipv4/ip_forward")
    }
}

impl Forwarding {
    /// The host's switches, recorded in `record`.
    pub fn new(record: PathBuf) -> Self {
        Self::with_sysctl(record, PathBuf::from("/proc/sys/net"))
    }

    /// Switches under `sysctl` instead of `/proc/sys/net`.
    pub fn with_sysctl(record: PathBuf, sysctl: PathBuf) -> Self {
        Self { record, sysctl }
    }

    fn read_record(&self) -> io::Result<Record> {
        match std::fs::read(&self.record) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{} is damaged: {error}", self.record.display()),
                )
            }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(Record::default()),
            Err(error) => Err(error),
        }
    }

    fn is_on(&self, v6: bool) -> io::Result<bool> {
        let path = switch_path(&self.sysctl, v6);
        let text = std::fs::read_to_string(&path).map_err(|error| {
            io::Error::new(error.kind(), format!("{}: {error}", path.display()))
        })?;
        Ok(text.trim() != "0")
    }

    fn set(&self, v6: bool, on: bool) -> io::Result<()> {
        let path = switch_path(&self.sysctl, v6);
        std::fs::write(&path, if on { "1\n" } else { "0\n" })
            .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))
    }

    /// Turns forwarding of a family on, recording what it was first. Returns whether it
    /// was off.
    pub fn turn_on(&self, v6: bool) -> io::Result<bool> {
        let mut record = self.read_record()?;
        let slot = if v6 {
            &mut record.ipv6_was
        } else {
            &mut record.ipv4_was
        };
        let on = self.is_on(v6)?;
        if slot.is_none() {
            *slot = Some(on);
            privatefile::replace(&self.record, &serde_json::to_vec(&record)?)
                .map_err(privatefile::Error::into_io)?;
        }
        if !on {
            self.set(v6, true)?;
        }
        Ok(!on)
    }

    /// Puts back what the record says and removes it. Returns the families turned off.
    pub fn restore(&self) -> io::Result<Vec<bool>> {
        let record = self.read_record()?;
        let mut turned_off = Vec::new();
        for (v6, was) in [(false, record.ipv4_was), (true, record.ipv6_was)] {
            if was == Some(false) && self.is_on(v6)? {
                self.set(v6, false)?;
                turned_off.push(v6);
            }
        }
        match std::fs::remove_file(&self.record) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => {}
        }
        Ok(turned_off)
    }

    /// Whether the server holds a record (it turned something on, or found it on).
    pub fn is_recorded(&self) -> bool {
        self.record.exists()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake(dir: &Path, v4: &str, v6: &str) -> Forwarding {
        std::fs::create_dir_all(dir.join("ipv4")).unwrap();
        std::fs::create_dir_all(dir.join("ipv6/conf/all")).unwrap();
        std::fs::write(dir.join("ipv4/ip_forward"), v4).unwrap();
        std::fs::write(dir.join("ipv6/conf/all/forwarding"), v6).unwrap();
        Forwarding::with_sysctl(dir.join("wm0.forwarding.json"), dir.to_path_buf())
    }

    fn read(dir: &Path, v6: bool) -> String {
        std::fs::read_to_string(switch_path(dir, v6))
            .unwrap()
            .trim()
            .to_owned()
    }

    #[test]
    fn what_was_off_goes_back_off_and_what_was_on_stays_on() {
        let dir = tempfile::tempdir().unwrap();
        let forwarding = fake(dir.path(), "0\n", "1\n");
        assert!(forwarding.turn_on(false).unwrap());
        assert!(!forwarding.turn_on(true).unwrap());
        // Again (a restarted server): the first value found stays recorded.
        assert!(!forwarding.turn_on(false).unwrap());
        assert_eq!(
            (read(dir.path(), false), read(dir.path(), true)),
            ("1".into(), "1".into())
        );
        assert!(forwarding.is_recorded());
        assert_eq!(forwarding.restore().unwrap(), vec![false]);
        assert_eq!(
            (read(dir.path(), false), read(dir.path(), true)),
            ("0".into(), "1".into())
        );
        assert!(!forwarding.is_recorded());
        // Nothing recorded: nothing to do.
        assert_eq!(forwarding.restore().unwrap(), Vec::<bool>::new());
    }

    #[test]
    fn a_damaged_record_is_an_error_that_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let forwarding = fake(dir.path(), "0\n", "0\n");
        std::fs::write(dir.path().join("wm0.forwarding.json"), "{not json").unwrap();
        let error = forwarding.turn_on(false).unwrap_err();
        assert!(error.to_string().contains("is damaged"), "{error}");
        assert!(forwarding.restore().is_err());
        assert_eq!(read(dir.path(), false), "0");
    }
}
