//! Parsing of timestamps with explicit time zones.
//!
//! Every time is stored as microseconds since the Unix epoch in UTC. A text
//! with an offset (RFC 3339) keeps its offset; a text without one (a plain
//! date, or a date and time) is read in the time zone the user names, UTC by
//! default — never the zone of the machine.

use crate::CoreError;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// Parses a time zone name (`"UTC"`, `"Europe/Rome"`).
pub fn parse_tz(name: &str) -> Result<Tz, CoreError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| CoreError::TimeZone(name.to_string()))
}

/// Reads timestamps in the given formats and time zone.
#[derive(Debug, Clone)]
pub struct TimeParser {
    formats: Vec<String>,
    tz: Tz,
}

/// Formats tried, in order, when the user gives none.
const DEFAULT_NAIVE: &[&str] = &[
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
];

impl Default for TimeParser {
    fn default() -> Self {
        TimeParser::new(Vec::new(), Tz::UTC)
    }
}

impl TimeParser {
    /// A parser trying `formats` (chrono `strftime` syntax) before the
    /// defaults (RFC 3339, `YYYY-MM-DD[ HH:MM[:SS]]`); naive times are in `tz`.
    pub fn new(formats: Vec<String>, tz: Tz) -> Self {
        TimeParser { formats, tz }
    }

    /// The zone used for times without an offset.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// Parses one text to microseconds since the epoch, UTC.
    pub fn parse_micros(&self, text: &str) -> Result<i64, CoreError> {
        let t = text.trim();
        for f in &self.formats {
            if let Some(v) = self.try_format(t, f) {
                return Ok(v);
            }
        }
        if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
            return Ok(dt.timestamp_micros());
        }
        if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            if let Some(v) = self.local(d.and_time(NaiveTime::MIN)) {
                return Ok(v);
            }
        }
        for f in DEFAULT_NAIVE {
            if let Ok(ndt) = NaiveDateTime::parse_from_str(t, f) {
                if let Some(v) = self.local(ndt) {
                    return Ok(v);
                }
            }
        }
        let mut expected: Vec<String> = self.formats.iter().map(|f| format!("'{f}'")).collect();
        expected.push("RFC 3339 (2024-05-01T10:00:00Z) or YYYY-MM-DD[ HH:MM:SS]".into());
        Err(CoreError::Time {
            value: text.to_string(),
            expected: expected.join(" or "),
        })
    }

    fn try_format(&self, t: &str, f: &str) -> Option<i64> {
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Some(dt.timestamp_micros());
        }
        if let Ok(ndt) = NaiveDateTime::parse_from_str(t, f) {
            return self.local(ndt);
        }
        NaiveDate::parse_from_str(t, f)
            .ok()
            .and_then(|d| self.local(d.and_time(NaiveTime::MIN)))
    }

    /// A wall-clock time in the parser's zone. In a DST overlap the earlier
    /// instant is taken; a wall time that does not exist (spring forward) is
    /// refused rather than guessed.
    fn local(&self, ndt: NaiveDateTime) -> Option<i64> {
        self.tz
            .from_local_datetime(&ndt)
            .earliest()
            .map(|dt| dt.with_timezone(&Utc).timestamp_micros())
    }
}

/// The instant at which the local calendar `date` starts in `tz`, in µs UTC.
pub fn start_of_day_micros(date: NaiveDate, tz: Tz) -> i64 {
    let ndt = date.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&ndt).earliest() {
        Some(dt) => dt.with_timezone(&Utc).timestamp_micros(),
        // Midnight skipped by a DST change: the day starts one hour later.
        None => tz
            .from_local_datetime(&(ndt + chrono::Duration::hours(1)))
            .earliest()
            .map(|dt| dt.with_timezone(&Utc).timestamp_micros())
            .unwrap_or_else(|| Utc.from_utc_datetime(&ndt).timestamp_micros()),
    }
}

/// Microseconds in one day.
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

#[cfg(test)]
mod tests {
    use super::*;

    fn micros(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp_micros()
    }

    #[test]
    fn offsets_are_kept_and_naive_times_use_the_given_zone() {
        let rome = TimeParser::new(vec![], parse_tz("Europe/Rome").unwrap());
        assert_eq!(
            rome.parse_micros("2024-01-31T23:30:00Z").unwrap(),
            micros("2024-01-31T23:30:00Z")
        );
        // Midnight in Rome in winter is 23:00 UTC the day before.
        assert_eq!(
            rome.parse_micros("2024-02-01").unwrap(),
            micros("2024-01-31T23:00:00Z")
        );
        assert_eq!(
            rome.parse_micros("2024-07-01 10:00:00").unwrap(),
            micros("2024-07-01T08:00:00Z")
        );
    }

    #[test]
    fn explicit_formats_come_first() {
        let p = TimeParser::new(vec!["%Y%m%d".into()], Tz::UTC);
        assert_eq!(
            p.parse_micros("19970101").unwrap(),
            micros("1997-01-01T00:00:00Z")
        );
        let p = TimeParser::new(vec!["%d/%m/%Y %H:%M".into()], Tz::UTC);
        assert_eq!(
            p.parse_micros("29/02/2024 12:00").unwrap(),
            micros("2024-02-29T12:00:00Z")
        );
    }

    #[test]
    fn errors_say_what_was_expected() {
        let p = TimeParser::default();
        let e = p.parse_micros("31/01/2024").unwrap_err().to_string();
        assert!(e.contains("31/01/2024") && e.contains("RFC 3339"), "{e}");
        assert!(p.parse_micros("2023-02-29").is_err(), "not a leap year");
        assert!(parse_tz("Mars/Olympus").is_err());
    }
}
