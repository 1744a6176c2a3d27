//! The report's periods on the x axis: which they are, how to name them and
//! which of them to label so that the labels never overlap.

use crate::columns::dates;
use crate::ChartError;
use chrono::{Datelike, NaiveDate};
use clientela_engine::Report;

/// The sections whose `period` column makes the calendar.
const PERIOD_SECTIONS: [&str; 4] = ["period_lifecycle", "churn", "nps", "mrr"];

/// Length of the periods, guessed from their start days (the report does
/// not carry its granularity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    /// Days or weeks: named by their first day.
    Day,
    Month,
    Quarter,
    Year,
}

/// The ordered, distinct periods of a report.
#[derive(Debug, Clone)]
pub(crate) struct Calendar {
    periods: Vec<NaiveDate>,
    unit: Unit,
}

impl Calendar {
    /// The periods of every trend section of the report, so that all charts
    /// share one x axis even where a section skips a period (NPS without
    /// answers in it).
    pub(crate) fn of(report: &Report) -> Result<Calendar, ChartError> {
        let mut all = Vec::new();
        for name in PERIOD_SECTIONS {
            if let Some(s) = report.section(name) {
                all.extend(dates(s, "period")?.into_iter().flatten());
            }
        }
        Ok(Calendar::new(all))
    }

    /// A calendar of these period starts (in any order, repeated or not).
    pub(crate) fn new(mut periods: Vec<NaiveDate>) -> Calendar {
        periods.sort();
        periods.dedup();
        let unit = unit_of(&periods);
        Calendar { periods, unit }
    }

    /// Number of periods.
    pub(crate) fn len(&self) -> usize {
        self.periods.len()
    }

    /// Position of a period start on the axis.
    pub(crate) fn index(&self, d: NaiveDate) -> Option<usize> {
        self.periods.binary_search(&d).ok()
    }

    /// One value per period from values keyed by period start; `missing`
    /// where a period has none (keys outside the calendar are dropped).
    pub(crate) fn align(
        &self,
        values: impl IntoIterator<Item = (NaiveDate, f64)>,
        missing: f64,
    ) -> Vec<f64> {
        let mut out = vec![missing; self.len()];
        for (d, v) in values {
            if let Some(i) = self.index(d) {
                out[i] = v;
            }
        }
        out
    }

    /// Name of the period at `i` (empty past the ends).
    pub(crate) fn label_at(&self, i: usize) -> String {
        self.periods
            .get(i)
            .map(|d| self.label(*d))
            .unwrap_or_default()
    }

    /// Name of a period: `2025-03`, `2025 Q1`, `2025` or `2025-03-17`.
    pub(crate) fn label(&self, d: NaiveDate) -> String {
        match self.unit {
            Unit::Day => d.format("%Y-%m-%d").to_string(),
            Unit::Month => d.format("%Y-%m").to_string(),
            Unit::Quarter => format!("{} Q{}", d.year(), d.month0() / 3 + 1),
            Unit::Year => d.year().to_string(),
        }
    }

    /// The longest period name, for sizing the labels.
    pub(crate) fn widest_label(&self) -> usize {
        self.periods
            .iter()
            .map(|d| self.label(*d).chars().count())
            .max()
            .unwrap_or(0)
    }
}

fn unit_of(periods: &[NaiveDate]) -> Unit {
    if periods.iter().any(|d| d.day() != 1) {
        return Unit::Day;
    }
    let month = |d: &NaiveDate| d.year() * 12 + d.month0() as i32;
    let gap = periods
        .windows(2)
        .map(|w| month(&w[1]) - month(&w[0]))
        .min();
    let all = |f: fn(&NaiveDate) -> bool| periods.iter().all(f);
    match gap {
        Some(g) if g >= 12 && all(|d| d.month() == 1) => Unit::Year,
        Some(g) if g >= 3 && all(|d| d.month0() % 3 == 0) => Unit::Quarter,
        _ => Unit::Month,
    }
}

/// Which slot the labels count from: it is always labelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    /// The first (offsets since joining: 0, 3, 6 …).
    First,
    /// The last (periods: the current one is always named).
    Last,
}

/// Indices of the `n` slots to label when each slot is `slot_px` wide and a
/// label needs `label_px`: every `step`-th slot counted from the anchor,
/// with `step` the smallest of 1, 2, 3, 4, 6, 12 … (whole quarters and
/// years of months) that leaves room.
pub(crate) fn ticks(n: usize, slot_px: f64, label_px: f64, anchor: Anchor) -> Vec<usize> {
    /// Room between two labels.
    const GAP_PX: f64 = 12.0;
    const STEPS: [usize; 9] = [1, 2, 3, 4, 6, 12, 24, 36, 60];
    let need = label_px + GAP_PX;
    let step = STEPS
        .into_iter()
        .find(|s| *s as f64 * slot_px >= need)
        .unwrap_or_else(|| (need / slot_px.max(1.0)).ceil() as usize)
        .max(1);
    match anchor {
        Anchor::First => (0..n).step_by(step).collect(),
        Anchor::Last => {
            let mut out: Vec<usize> = (0..n).rev().step_by(step).collect();
            out.reverse();
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn periods_are_named_by_their_guessed_length() {
        let months = Calendar::new(vec![d(2025, 3, 1), d(2025, 2, 1), d(2025, 3, 1)]);
        assert_eq!(months.len(), 2);
        assert_eq!(months.label_at(0), "2025-02");
        let quarters = Calendar::new(vec![d(2025, 1, 1), d(2025, 4, 1), d(2025, 10, 1)]);
        assert_eq!(quarters.label_at(2), "2025 Q4");
        let years = Calendar::new(vec![d(2024, 1, 1), d(2025, 1, 1)]);
        assert_eq!(years.label_at(1), "2025");
        let weeks = Calendar::new(vec![d(2025, 3, 3), d(2025, 3, 10)]);
        assert_eq!(weeks.label_at(0), "2025-03-03");
        // Three months apart but not calendar quarters: months.
        let odd = Calendar::new(vec![d(2025, 2, 1), d(2025, 5, 1)]);
        assert_eq!(odd.label_at(0), "2025-02");
    }

    #[test]
    fn values_land_on_their_period_and_gaps_get_the_default() {
        let c = Calendar::new(vec![d(2025, 1, 1), d(2025, 2, 1), d(2025, 3, 1)]);
        let v = c.align([(d(2025, 3, 1), 3.0), (d(2025, 1, 1), 1.0)], f64::NAN);
        assert_eq!(v[0], 1.0);
        assert!(v[1].is_nan());
        assert_eq!(v[2], 3.0);
    }

    #[test]
    fn every_period_is_labelled_when_there_is_room() {
        assert_eq!(ticks(4, 100.0, 50.0, Anchor::Last), vec![0, 1, 2, 3]);
        assert!(ticks(0, 100.0, 50.0, Anchor::Last).is_empty());
    }

    #[test]
    fn crowded_labels_skip_periods_but_keep_the_last() {
        // 36 months on 850 px: 23.6 px a month, 62 px a label → every 3rd.
        let t = ticks(36, 850.0 / 36.0, 50.0, Anchor::Last);
        assert_eq!(t.last(), Some(&35));
        assert_eq!(t.len(), 12);
        assert!(t.windows(2).all(|w| w[1] - w[0] == 3));
        let t = ticks(36, 850.0 / 36.0, 50.0, Anchor::First);
        assert_eq!(t[..3], [0, 3, 6]);
    }

    #[test]
    fn very_crowded_labels_fall_back_to_a_computed_step() {
        let t = ticks(1000, 1.0, 88.0, Anchor::First);
        assert_eq!(t[1] - t[0], 100);
    }
}
