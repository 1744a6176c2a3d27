//! An axis of slots 0 … n − 1 (periods, the steps of a bridge, heatmap rows
//! and columns), each one unit wide and centred on its number, whose ticks
//! the chart chooses (plotters would pick "nice" fractional values).

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use std::ops::Range;

/// `n` slots with ticks on `ticks`.
#[derive(Debug, Clone)]
pub(crate) struct Slots {
    n: usize,
    ticks: Vec<f64>,
}

impl Slots {
    /// `n` slots, labelled at the slot numbers `ticks`.
    pub(crate) fn new(n: usize, ticks: impl IntoIterator<Item = usize>) -> Slots {
        let ticks = ticks.into_iter().map(|t| t as f64).collect();
        Slots { n, ticks }
    }
}

impl Ranged for Slots {
    // Labels always come from the chart's formatter; this only satisfies
    // the mesh's bound.
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let Range { start, end } = self.range();
        let t = (value - start) / (end - start);
        limit.0 + (t * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Light points would draw the thin grid lines: none between slots.
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        -0.5..self.n.max(1) as f64 - 0.5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_centred_on_their_numbers() {
        let s = Slots::new(4, [0, 3]);
        // 4 slots over 400 px: slot i is centred at 50 + 100 i.
        assert_eq!(s.map(&0.0, (0, 400)), 50);
        assert_eq!(s.map(&3.0, (0, 400)), 350);
        assert_eq!(s.map(&-0.5, (0, 400)), 0);
        assert_eq!(s.key_points(10usize), Vec::<f64>::new());
    }
}
