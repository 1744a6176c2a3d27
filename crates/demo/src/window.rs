//! The data window: time units, calendar months and the sign-up curve.

use crate::config::DemoConfig;
use chrono::{Datelike, Months, NaiveDate};

/// One minute in µs.
pub(crate) const MINUTE: i64 = 60_000_000;
/// One hour in µs.
pub(crate) const HOUR: i64 = 60 * MINUTE;
/// One day in µs.
pub(crate) const DAY: i64 = 24 * HOUR;
/// One week in µs, the time unit of the purchase parameters.
pub(crate) const WEEK: i64 = 7 * DAY;
/// An average month in µs.
pub(crate) const MONTH: i64 = 2_629_746_000_000;
/// An average year in µs.
pub(crate) const YEAR: i64 = 12 * MONTH;

/// Relative activity by hour of day, UTC (most customers live in Europe):
/// quiet nights, busy evenings.
const HOURLY: [i64; 24] = [
    2, 1, 1, 1, 1, 2, 3, 5, 6, 6, 6, 6, 6, 6, 6, 6, 7, 8, 9, 10, 10, 9, 6, 4,
];

/// Running sums of [`HOURLY`]: `CUMULATIVE[h]` is the weight before hour `h`.
const CUMULATIVE: [i64; 25] = {
    let mut c = [0; 25];
    let mut h = 0;
    while h < 24 {
        c[h + 1] = c[h] + HOURLY[h];
        h += 1;
    }
    c
};

/// Moves `t` within its day so that times spread uniformly over the day
/// follow [`HOURLY`]. Non-decreasing, with midnights fixed, so order, days
/// and months are kept.
pub(crate) fn daily_rhythm(t: i64) -> i64 {
    let day = t.div_euclid(DAY) * DAY;
    // The time of day in units of 1/total µs, then the hour it falls in.
    let x = t.rem_euclid(DAY) * CUMULATIVE[24];
    let mut h = 0;
    while x >= CUMULATIVE[h + 1] * DAY {
        h += 1;
    }
    day + h as i64 * HOUR + (x - CUMULATIVE[h] * DAY) / (HOURLY[h] * 24)
}

/// `[start, end)` in µs UTC with the calendar months it covers.
#[derive(Debug, Clone)]
pub(crate) struct Window {
    /// First instant.
    pub start: i64,
    /// First instant after the last day.
    pub end: i64,
    /// Start of each calendar month overlapping the window (the first one
    /// clamped to `start`).
    pub month_starts: Vec<i64>,
    /// (year, month) of each entry of `month_starts`.
    pub months: Vec<(i32, u32)>,
    /// Yearly exponential growth rate of sign-ups, per µs.
    growth_rate: f64,
}

impl Window {
    /// The window of `cfg`.
    pub fn new(cfg: &DemoConfig) -> Self {
        let (start, end) = cfg.window();
        let first = chrono::DateTime::from_timestamp_micros(start)
            .expect("start in range")
            .date_naive();
        let mut month =
            NaiveDate::from_ymd_opt(first.year(), first.month(), 1).expect("first of month");
        let mut month_starts = Vec::new();
        let mut months = Vec::new();
        loop {
            let t = month
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros();
            if t >= end {
                break;
            }
            month_starts.push(t.max(start));
            months.push((month.year(), month.month()));
            month = month
                .checked_add_months(Months::new(1))
                .expect("month in range");
        }
        Window {
            start,
            end,
            month_starts,
            months,
            growth_rate: cfg.growth.ln() / YEAR as f64,
        }
    }

    /// Length of the window in µs.
    pub fn len(&self) -> i64 {
        self.end - self.start
    }

    /// Index into `months` of the month holding `t` (which is in the window).
    pub fn month_of(&self, t: i64) -> usize {
        self.month_starts
            .partition_point(|&m| m <= t)
            .saturating_sub(1)
    }

    /// The calendar month (1–12) holding `t`.
    pub fn calendar_month(&self, t: i64) -> u32 {
        self.months[self.month_of(t)].1
    }

    /// Sign-up time at quantile `u` in [0, 1) of the sign-up curve, whose
    /// density grows exponentially by the configured factor each year.
    pub fn signup_at(&self, u: f64) -> i64 {
        let k = self.growth_rate;
        let len = self.len() as f64;
        let offset = if k.abs() < 1e-18 {
            u * len
        } else {
            (u * (k * len).exp_m1()).ln_1p() / k
        };
        (self.start + offset as i64).clamp(self.start, self.end - 1)
    }

    /// Share of sign-ups before `t`: the inverse of [`signup_at`](Self::signup_at).
    pub fn signup_share_before(&self, t: i64) -> f64 {
        let k = self.growth_rate;
        let x = (t - self.start) as f64;
        let len = self.len() as f64;
        if k.abs() < 1e-18 {
            x / len
        } else {
            (k * x).exp_m1() / (k * len).exp_m1()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daily_rhythm_keeps_days_and_order() {
        let day = 20_000 * DAY;
        assert_eq!(daily_rhythm(day), day);
        let mut last = daily_rhythm(day - 1);
        assert!(last < day);
        let mut evening = 0;
        for k in 0..10_000 {
            let t = daily_rhythm(day + k * (DAY / 10_000));
            assert!(t >= last && t < day + DAY);
            evening += usize::from((18 * HOUR..22 * HOUR).contains(&(t - day)));
            last = t;
        }
        // Four evening hours take 38 of 127 parts of the day.
        assert!((evening as f64 / 10_000.0 - 38.0 / 127.0).abs() < 0.01);
    }

    #[test]
    fn months_cover_the_window_and_sign_ups_grow() {
        let w = Window::new(&DemoConfig::default());
        assert_eq!(w.months.len(), 36);
        assert_eq!(w.months[0], (2023, 11));
        assert_eq!(w.months[35], (2026, 10));
        assert_eq!(w.month_of(w.start), 0);
        assert_eq!(w.month_of(w.end - 1), 35);
        assert_eq!(w.calendar_month(w.end - 1), 10);
        // Later sign-ups are more common: the median is past the middle.
        let median = w.signup_at(0.5);
        assert!(median > w.start + w.len() / 2);
        assert!((w.signup_share_before(median) - 0.5).abs() < 1e-6);
        assert_eq!(w.signup_at(0.0), w.start);
    }
}
