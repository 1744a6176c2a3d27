//! Calibration/holdout validation of a purchase model, as in Fader, Hardie
//! and Lee (2005, Figure 5): customers are grouped by their number of
//! repeat purchases in the calibration period (0, 1, …, 6, 7+), and the
//! purchases the model expects for each group in the holdout period
//! (conditional on each customer's calibration history) are compared with
//! the purchases they actually made.

use crate::clv::PurchaseModel;
use crate::error::ModelError;
use crate::summary::CustomerSummary;

/// Calibration frequency from which customers share the last, open-ended
/// group ("7+").
pub const HOLDOUT_TOP_GROUP: u32 = 7;

/// Predicted and actual holdout purchases of one group of customers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HoldoutGroup {
    /// Calibration frequency of the group (its lower bound when open-ended).
    pub frequency: u32,
    /// True for the last group, which holds every frequency from
    /// `frequency` up; also true for the all-customers total (frequency 0).
    pub open_ended: bool,
    /// Number of customers.
    pub customers: f64,
    /// Their actual holdout purchases, summed.
    pub actual: f64,
    /// Their expected holdout purchases E[Y(t) | x, t_x, T], summed.
    pub predicted: f64,
    /// Σ |predicted − actual| over the group's customers.
    pub absolute_error: f64,
}

impl HoldoutGroup {
    fn empty(frequency: u32, open_ended: bool) -> Self {
        Self {
            frequency,
            open_ended,
            customers: 0.0,
            actual: 0.0,
            predicted: 0.0,
            absolute_error: 0.0,
        }
    }

    fn add(&mut self, actual: f64, predicted: f64) {
        self.customers += 1.0;
        self.actual += actual;
        self.predicted += predicted;
        self.absolute_error += (predicted - actual).abs();
    }

    /// Mean actual purchases per customer (NaN for an empty group).
    pub fn actual_mean(&self) -> f64 {
        self.actual / self.customers
    }

    /// Mean expected purchases per customer (NaN for an empty group).
    pub fn predicted_mean(&self) -> f64 {
        self.predicted / self.customers
    }

    /// Mean over the group's customers of |predicted − actual|.
    pub fn mean_absolute_error(&self) -> f64 {
        self.absolute_error / self.customers
    }
}

/// Outcome of [`compare_holdout`].
#[derive(Debug, Clone, PartialEq)]
pub struct HoldoutReport {
    /// Groups by calibration frequency 0, 1, …, [`HOLDOUT_TOP_GROUP`]
    /// (the last open-ended), always all of them, empty ones included.
    pub groups: Vec<HoldoutGroup>,
    /// All customers together.
    pub total: HoldoutGroup,
    /// Mean over customers of |E[Y(t) | history] − actual purchases|.
    pub mean_absolute_error: f64,
}

/// Compares a model's conditional expectations for a holdout period of
/// length `holdout_length` (in the model's time unit) with the purchases
/// actually made: `customers` holds per customer their calibration summary
/// and their actual number of holdout purchases.
///
/// Errors: [`ModelError::EmptyInput`] without customers,
/// [`ModelError::InvalidInput`] for an invalid summary or a negative or
/// non-finite purchase count, [`ModelError::InvalidParameter`] for a
/// negative or non-finite holdout length.
pub fn compare_holdout<M: PurchaseModel + ?Sized>(
    model: &M,
    customers: &[(CustomerSummary, f64)],
    holdout_length: f64,
) -> Result<HoldoutReport, ModelError> {
    if !(holdout_length.is_finite() && holdout_length >= 0.0) {
        return Err(ModelError::InvalidParameter {
            name: "holdout_length",
            value: holdout_length,
        });
    }
    if customers.is_empty() {
        return Err(ModelError::EmptyInput);
    }
    let mut groups: Vec<HoldoutGroup> = (0..=HOLDOUT_TOP_GROUP)
        .map(|f| HoldoutGroup::empty(f, f == HOLDOUT_TOP_GROUP))
        .collect();
    let mut total = HoldoutGroup::empty(0, true);
    for (index, (c, actual)) in customers.iter().enumerate() {
        c.validate()
            .map_err(|reason| ModelError::InvalidInput { index, reason })?;
        if !(actual.is_finite() && *actual >= 0.0) {
            return Err(ModelError::InvalidInput {
                index,
                reason: "holdout purchases must be finite and non-negative",
            });
        }
        let predicted = model.expected_purchases(holdout_length, c);
        let group = (c.frequency.min(f64::from(HOLDOUT_TOP_GROUP))) as usize;
        groups[group].add(*actual, predicted);
        total.add(*actual, predicted);
    }
    Ok(HoldoutReport {
        groups,
        total,
        mean_absolute_error: total.mean_absolute_error(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgnbd::{BgNbdParams, FittedBgNbd};

    const TOLERANCE: f64 = 1e-12;

    #[test]
    fn groups_and_totals() {
        let model = FittedBgNbd::from_params(BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap());
        let customers = [
            (CustomerSummary::new(0.0, 0.0, 38.0), 0.0),
            (CustomerSummary::new(0.0, 0.0, 30.0), 2.0),
            (CustomerSummary::new(2.0, 30.0, 38.0), 1.0),
            (CustomerSummary::new(9.0, 37.0, 38.0), 6.0),
            (CustomerSummary::new(12.0, 36.0, 38.0), 9.0),
        ];
        let report = compare_holdout(&model, &customers, 39.0).unwrap();
        assert_eq!(report.groups.len(), 8);
        let e = |i: usize| model.expected_purchases(39.0, &customers[i].0);
        let zero = report.groups[0];
        assert_eq!((zero.customers, zero.actual), (2.0, 2.0));
        assert!((zero.predicted - (e(0) + e(1))).abs() < TOLERANCE);
        let top = report.groups[7];
        assert!(top.open_ended && top.customers == 2.0 && top.actual == 15.0);
        assert!((top.predicted - (e(3) + e(4))).abs() < TOLERANCE);
        assert_eq!(report.groups[1].customers, 0.0);
        assert!(report.groups[1].actual_mean().is_nan());
        assert_eq!(report.total.customers, 5.0);
        let mae: f64 = (0..5).map(|i| (e(i) - customers[i].1).abs()).sum::<f64>() / 5.0;
        assert!((report.mean_absolute_error - mae).abs() < TOLERANCE);
    }

    #[test]
    fn rejects_bad_input() {
        let model = FittedBgNbd::from_params(BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap());
        assert_eq!(
            compare_holdout(&model, &[], 39.0),
            Err(ModelError::EmptyInput)
        );
        let bad = [(CustomerSummary::new(1.0, 2.0, 3.0), -1.0)];
        assert!(matches!(
            compare_holdout(&model, &bad, 39.0),
            Err(ModelError::InvalidInput { index: 0, .. })
        ));
        let ok = [(CustomerSummary::new(1.0, 2.0, 3.0), 1.0)];
        assert!(compare_holdout(&model, &ok, f64::NAN).is_err());
    }
}
