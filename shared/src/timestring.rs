//! Durations written as `<integer><unit>` (`30s`, `10m`, `2h`, `14d`, `1w`), as in invite expiry.
//!
//! The grammar is innernet's: one unsigned integer, then exactly one unit letter; no spaces,
//! signs, fractions or combined units. The unit given is kept so the value prints as written.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::names::shorten;

/// A unit of a [`Timestring`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl TimeUnit {
    fn from_char(unit: char) -> Option<Self> {
        match unit {
            's' => Some(Self::Seconds),
            'm' => Some(Self::Minutes),
            'h' => Some(Self::Hours),
            'd' => Some(Self::Days),
            'w' => Some(Self::Weeks),
            _ => None,
        }
    }

    /// The letter that writes this unit.
    pub fn as_char(self) -> char {
        match self {
            Self::Seconds => 's',
            Self::Minutes => 'm',
            Self::Hours => 'h',
            Self::Days => 'd',
            Self::Weeks => 'w',
        }
    }

    /// Seconds in one of this unit.
    pub fn seconds(self) -> u64 {
        match self {
            Self::Seconds => 1,
            Self::Minutes => 60,
            Self::Hours => 3600,
            Self::Days => 86_400,
            Self::Weeks => 604_800,
        }
    }
}

/// A duration parsed from a time string, remembering how it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Timestring {
    count: u64,
    unit: TimeUnit,
    duration: Duration,
}

/// Why a string is not a time string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestringError {
    #[error("invalid duration: it is empty; write a number and a unit, like 14d")]
    Empty,
    #[error(
        "invalid duration {input:?}: it must end in a unit: s, m, h, d or w (seconds, minutes, \
         hours, days, weeks), like 14d"
    )]
    MissingUnit { input: String },
    #[error("invalid duration {input:?}: it must start with a whole number, like 14d")]
    InvalidNumber { input: String },
    #[error("invalid duration {input:?}: it is too long to represent")]
    Overflow { input: String },
}

impl Timestring {
    /// `secs` written with the largest unit that divides it (`600` is `10m`, `90` is `90s`).
    pub fn from_secs(secs: u64) -> Self {
        let unit = [
            TimeUnit::Weeks,
            TimeUnit::Days,
            TimeUnit::Hours,
            TimeUnit::Minutes,
        ]
        .into_iter()
        .find(|unit| secs > 0 && secs.is_multiple_of(unit.seconds()))
        .unwrap_or(TimeUnit::Seconds);
        Self {
            count: secs / unit.seconds(),
            unit,
            duration: Duration::from_secs(secs),
        }
    }

    /// The duration.
    pub fn as_duration(&self) -> Duration {
        self.duration
    }

    /// The number as written.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The unit as written.
    pub fn unit(&self) -> TimeUnit {
        self.unit
    }
}

impl From<Timestring> for Duration {
    fn from(timestring: Timestring) -> Self {
        timestring.duration
    }
}

impl FromStr for Timestring {
    type Err = TimestringError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let mut chars = input.chars();
        let last = chars.next_back().ok_or(TimestringError::Empty)?;
        let unit = TimeUnit::from_char(last).ok_or_else(|| TimestringError::MissingUnit {
            input: shorten(input),
        })?;
        let digits = chars.as_str();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TimestringError::InvalidNumber {
                input: shorten(input),
            });
        }
        let overflow = || TimestringError::Overflow {
            input: shorten(input),
        };
        let count = digits.parse::<u64>().map_err(|_| overflow())?;
        let seconds = count.checked_mul(unit.seconds()).ok_or_else(overflow)?;
        Ok(Self {
            count,
            unit,
            duration: Duration::from_secs(seconds),
        })
    }
}

impl fmt::Display for Timestring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.count, self.unit.as_char())
    }
}

impl Serialize for Timestring {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestring {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `secs` UNIX seconds as a UTC time, `2026-12-06 11:42:07Z` (the proleptic Gregorian
/// calendar; what logs and listings print).
pub fn format_utc(secs: u64) -> String {
    let days = secs / 86_400;
    let rest = secs % 86_400;
    let (year, month, day) = civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The date `days` days after 1970-01-01: years of 400 (146,097 days) repeat, and counting
/// from 1 March puts the leap day last.
fn civil_date(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01, 719,468 days before 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `expected` is the number of seconds and the display form, or the error.
    fn check(input: &str, expected: Result<(u64, &str), TimestringError>) {
        let got = input
            .parse::<Timestring>()
            .map(|t| (t.as_duration().as_secs(), t.to_string()));
        let expected = expected.map(|(secs, text)| (secs, text.to_owned()));
        assert_eq!(got, expected, "input {input:?}");
    }

    #[test]
    fn from_secs_picks_the_largest_whole_unit() {
        for (secs, text) in [
            (0, "0s"),
            (90, "90s"),
            (600, "10m"),
            (5400, "90m"),
            (7200, "2h"),
            (86_400, "1d"),
            (1_209_600, "2w"),
        ] {
            let t = Timestring::from_secs(secs);
            assert_eq!(
                (t.to_string(), t.as_duration().as_secs()),
                (text.to_owned(), secs)
            );
        }
    }

    #[test]
    fn grammar() {
        let missing_unit = |s: &str| Err(TimestringError::MissingUnit { input: s.into() });
        let bad_number = |s: &str| Err(TimestringError::InvalidNumber { input: s.into() });
        let overflow = |s: &str| Err(TimestringError::Overflow { input: s.into() });
        check("30s", Ok((30, "30s")));
        check("10m", Ok((600, "10m")));
        check("2h", Ok((7200, "2h")));
        check("14d", Ok((1_209_600, "14d")));
        check("1w", Ok((604_800, "1w")));
        check("0s", Ok((0, "0s")));
        check("007m", Ok((420, "7m")));
        check(
            "18446744073709551615s",
            Ok((u64::MAX, "18446744073709551615s")),
        );
        check("", Err(TimestringError::Empty));
        check("14", missing_unit("14"));
        check("14y", missing_unit("14y"));
        check("14D", missing_unit("14D"));
        check("14d ", missing_unit("14d "));
        check("d", bad_number("d"));
        check(" 14d", bad_number(" 14d"));
        check("1 d", bad_number("1 d"));
        check("1.5h", bad_number("1.5h"));
        check("-1h", bad_number("-1h"));
        check("+1h", bad_number("+1h"));
        check("1h30m", bad_number("1h30m"));
        check("é1d", bad_number("é1d"));
        check("18446744073709551616s", overflow("18446744073709551616s"));
        check("30500568904943664w", overflow("30500568904943664w"));
    }

    #[test]
    fn serde_is_the_display_string() {
        let t: Timestring = serde_json::from_str("\"14d\"").unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), "\"14d\"");
        assert!(serde_json::from_str::<Timestring>("\"14 days\"").is_err());
    }

    #[test]
    fn utc_times() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00Z");
        assert_eq!(format_utc(951_782_400), "2000-02-29 00:00:00Z");
        assert_eq!(format_utc(951_868_799), "2000-02-29 23:59:59Z");
        assert_eq!(format_utc(1_796_558_527), "2026-12-06 12:02:07Z");
        assert_eq!(format_utc(4_107_542_400), "2100-03-01 00:00:00Z");
    }
}
