//! The per-customer summary every purchase model takes.

use crate::error::ModelError;

/// One customer's purchase history in the calibration period (Fader, Hardie,
/// Lee 2005): `frequency` x = number of repeat purchases, `recency` t_x = age
/// at the last purchase, `t` = T, age at the end of calibration, all in the
/// same time unit (weeks for CDNOW).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CustomerSummary {
    /// Number of repeat purchases x (a non-negative whole number).
    pub frequency: f64,
    /// Time from first to last purchase t_x, 0 ≤ t_x ≤ T.
    pub recency: f64,
    /// Time from first purchase to the end of calibration T.
    pub t: f64,
}

impl CustomerSummary {
    /// Summary from (x, t_x, T) without checks; see [`CustomerSummary::validate`].
    pub fn new(frequency: f64, recency: f64, t: f64) -> Self {
        Self {
            frequency,
            recency,
            t,
        }
    }

    /// Checks that x is a non-negative whole number and 0 ≤ t_x ≤ T, all finite.
    pub fn validate(&self) -> Result<(), &'static str> {
        if !(self.frequency.is_finite() && self.recency.is_finite() && self.t.is_finite()) {
            return Err("values must be finite");
        }
        if self.frequency < 0.0 || self.frequency.fract() != 0.0 {
            return Err("frequency must be a non-negative whole number");
        }
        if self.recency < 0.0 || self.recency > self.t {
            return Err("recency must lie in [0, T]");
        }
        Ok(())
    }
}

/// Groups identical (x, t_x, T) rows into unique rows with their count as
/// weight, sorted by (x, t_x, T). The models' likelihoods then cost one term
/// per unique row instead of one per customer.
pub fn compress(customers: &[CustomerSummary]) -> Vec<(CustomerSummary, f64)> {
    let mut rows: Vec<CustomerSummary> = customers.to_vec();
    // Rows that compare equal are the same three numbers, so an unstable
    // sort on integer keys ordered as `f64::total_cmp` gives the same
    // result as a stable one, several times faster on a million rows.
    rows.sort_unstable_by_key(|r| {
        (
            total_order(r.frequency),
            total_order(r.recency),
            total_order(r.t),
        )
    });
    let mut out: Vec<(CustomerSummary, f64)> = Vec::new();
    for row in rows {
        match out.last_mut() {
            Some((last, weight)) if same(last, &row) => *weight += 1.0,
            _ => out.push((row, 1.0)),
        }
    }
    out
}

/// An integer ordered as `f64::total_cmp` orders the floats.
fn total_order(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    bits ^ (((bits >> 63) as u64) >> 1) as i64
}

fn same(a: &CustomerSummary, b: &CustomerSummary) -> bool {
    a.frequency.total_cmp(&b.frequency).is_eq()
        && a.recency.total_cmp(&b.recency).is_eq()
        && a.t.total_cmp(&b.t).is_eq()
}

/// Validates weighted rows and returns the total weight.
pub(crate) fn check_rows(rows: &[(CustomerSummary, f64)]) -> Result<f64, ModelError> {
    let mut total = 0.0;
    for (index, (row, weight)) in rows.iter().enumerate() {
        row.validate()
            .map_err(|reason| ModelError::InvalidInput { index, reason })?;
        if !(weight.is_finite() && *weight >= 0.0) {
            return Err(ModelError::InvalidInput {
                index,
                reason: "weight must be finite and non-negative",
            });
        }
        total += weight;
    }
    if total <= 0.0 {
        return Err(ModelError::EmptyInput);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compress_counts_duplicates() {
        let a = CustomerSummary::new(1.0, 2.0, 3.0);
        let b = CustomerSummary::new(0.0, 0.0, 3.0);
        let rows = compress(&[a, b, a, a]);
        assert_eq!(rows, vec![(b, 1.0), (a, 3.0)]);
        assert!(compress(&[]).is_empty());
    }

    #[test]
    fn integer_keys_order_floats_as_total_cmp() {
        let values = [
            f64::NEG_INFINITY,
            -3.5,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            1.0,
            2.5,
            f64::INFINITY,
        ];
        for a in values {
            for b in values {
                assert_eq!(
                    total_order(a).cmp(&total_order(b)),
                    a.total_cmp(&b),
                    "{a} {b}"
                );
            }
        }
        // Sorted by x, then t_x, then T, whatever the input order.
        let rows = compress(&[
            CustomerSummary::new(2.0, 1.0, 5.0),
            CustomerSummary::new(0.0, 0.0, 7.0),
            CustomerSummary::new(2.0, 1.0, 4.0),
            CustomerSummary::new(2.0, 0.5, 9.0),
        ]);
        let order: Vec<(f64, f64, f64)> = rows
            .iter()
            .map(|(r, _)| (r.frequency, r.recency, r.t))
            .collect();
        assert_eq!(
            order,
            [
                (0.0, 0.0, 7.0),
                (2.0, 0.5, 9.0),
                (2.0, 1.0, 4.0),
                (2.0, 1.0, 5.0)
            ]
        );
    }

    #[test]
    fn validate_rejects_bad_rows() {
        assert!(CustomerSummary::new(1.5, 1.0, 2.0).validate().is_err());
        assert!(CustomerSummary::new(1.0, 3.0, 2.0).validate().is_err());
        assert!(CustomerSummary::new(-1.0, 0.0, 2.0).validate().is_err());
        assert!(CustomerSummary::new(1.0, f64::NAN, 2.0).validate().is_err());
        assert!(CustomerSummary::new(2.0, 2.0, 2.0).validate().is_ok());
    }
}
