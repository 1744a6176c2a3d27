//! Report granularities and calendar periods.

use crate::CoreError;
use chrono::{Datelike, Duration, NaiveDate};
use std::fmt;
use std::str::FromStr;

/// The length of a report period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Granularity {
    /// Calendar day.
    Day,
    /// ISO week, Monday to Sunday.
    Week,
    /// Calendar month.
    Month,
    /// Calendar quarter.
    Quarter,
    /// Calendar year.
    Year,
}

impl Granularity {
    /// The name accepted on the command line and by SQL `date_trunc`.
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Day => "day",
            Granularity::Week => "week",
            Granularity::Month => "month",
            Granularity::Quarter => "quarter",
            Granularity::Year => "year",
        }
    }

    /// The first day of the period that contains `date`.
    pub fn start_of(self, date: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => date,
            Granularity::Week => {
                date - Duration::days(date.weekday().num_days_from_monday() as i64)
            }
            Granularity::Month => date.with_day(1).expect("day 1 exists"),
            Granularity::Quarter => {
                let m = (date.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(date.year(), m, 1).expect("quarter start exists")
            }
            Granularity::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1).expect("Jan 1 exists"),
        }
    }

    /// The first day of the period after the one that starts at `start`.
    pub fn next_start(self, start: NaiveDate) -> NaiveDate {
        match self {
            Granularity::Day => start + Duration::days(1),
            Granularity::Week => start + Duration::days(7),
            Granularity::Month => start
                .checked_add_months(chrono::Months::new(1))
                .expect("in range"),
            Granularity::Quarter => start
                .checked_add_months(chrono::Months::new(3))
                .expect("in range"),
            Granularity::Year => start
                .checked_add_months(chrono::Months::new(12))
                .expect("in range"),
        }
    }

    /// The `count` periods ending with the one that contains `as_of`, oldest
    /// first, each as `[start, next start)`.
    pub fn periods_until(self, as_of: NaiveDate, count: usize) -> Vec<(NaiveDate, NaiveDate)> {
        let mut starts = vec![self.start_of(as_of)];
        while starts.len() < count {
            let first = starts[starts.len() - 1];
            starts.push(self.start_of(first - Duration::days(1)));
        }
        starts.reverse();
        starts
            .into_iter()
            .map(|s| (s, self.next_start(s)))
            .collect()
    }
}

impl fmt::Display for Granularity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Granularity {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(Granularity::Day),
            "week" | "weekly" => Ok(Granularity::Week),
            "month" | "monthly" => Ok(Granularity::Month),
            "quarter" | "quarterly" => Ok(Granularity::Quarter),
            "year" | "yearly" => Ok(Granularity::Year),
            other => Err(CoreError::Unknown {
                what: "period",
                value: other.to_string(),
                expected: "day, week, month, quarter, year".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn period_starts() {
        let leap = ymd(2024, 2, 29);
        assert_eq!(Granularity::Day.start_of(leap), leap);
        assert_eq!(Granularity::Week.start_of(leap), ymd(2024, 2, 26));
        assert_eq!(Granularity::Month.start_of(leap), ymd(2024, 2, 1));
        assert_eq!(Granularity::Quarter.start_of(leap), ymd(2024, 1, 1));
        assert_eq!(
            Granularity::Quarter.start_of(ymd(2024, 12, 31)),
            ymd(2024, 10, 1)
        );
        assert_eq!(Granularity::Year.start_of(leap), ymd(2024, 1, 1));
    }

    #[test]
    fn periods_until_counts_back_across_year_ends() {
        let p = Granularity::Month.periods_until(ymd(2024, 2, 29), 3);
        assert_eq!(
            p,
            vec![
                (ymd(2023, 12, 1), ymd(2024, 1, 1)),
                (ymd(2024, 1, 1), ymd(2024, 2, 1)),
                (ymd(2024, 2, 1), ymd(2024, 3, 1)),
            ]
        );
        assert_eq!(
            Granularity::Month.next_start(ymd(2024, 1, 1)),
            ymd(2024, 2, 1)
        );
    }
}
