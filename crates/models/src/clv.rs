//! Customer lifetime value over a horizon, from any purchase model and an
//! expected spend per purchase (e.g. Gamma-Gamma's), discounted monthly as
//! in lifetimes' `customer_lifetime_value`:
//!
//! CLV = Σ_{i=1}^{H} (E[Y(m·i)] − E[Y(m·(i−1))]) · spend · margin / (1+d)^i,
//!
//! where m is the model's time units per month (30 when the model is fitted
//! in days), H the horizon in months and d the monthly discount rate.

use crate::error::ModelError;
use crate::summary::CustomerSummary;

/// A fitted model of repeat purchases in continuous time, in the time unit
/// of its [`CustomerSummary`] rows.
pub trait PurchaseModel {
    /// E[Y(t) | x, t_x, T], expected purchases in the next `t` of a customer
    /// with that history.
    fn expected_purchases(&self, t: f64, customer: &CustomerSummary) -> f64;
    /// P(alive | x, t_x, T).
    fn p_alive(&self, customer: &CustomerSummary) -> f64;
    /// E[X(t)], expected repeat purchases in (0, t] of a customer who has
    /// just made their first purchase.
    fn expected_purchases_new(&self, t: f64) -> f64;
    /// E[Y(t) | alive at T, x, t_x, T]: `expected_purchases` is this times
    /// `p_alive`. [`customer_lifetime_value`] computes P(alive) once and
    /// this H times, instead of P(alive) H times (for Pareto/NBD, two ₂F₁
    /// evaluations each).
    fn expected_purchases_if_alive(&self, t: f64, customer: &CustomerSummary) -> f64;
}

/// Horizon, discounting and margin of a CLV.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvOptions {
    /// Horizon H in months.
    pub horizon_months: u32,
    /// Discount rate d per month (0.01 is about 12.7% a year).
    pub monthly_discount_rate: f64,
    /// Share of the spend that is profit, in [0, 1] (1 for revenue CLV).
    pub margin: f64,
    /// Model time units per month: 30 for models fitted in days (lifetimes'
    /// convention), 30/7 for weeks.
    pub time_units_per_month: f64,
}

impl Default for ClvOptions {
    /// 12 months at 1% a month, revenue (margin 1), model in days.
    fn default() -> Self {
        Self {
            horizon_months: 12,
            monthly_discount_rate: 0.01,
            margin: 1.0,
            time_units_per_month: 30.0,
        }
    }
}

impl ClvOptions {
    /// Checks the options once, so that the per-customer functions need not:
    /// discount rate finite and > −1, margin and time units finite, time
    /// units positive.
    pub fn validate(&self) -> Result<(), ModelError> {
        let checks = [
            (
                "monthly_discount_rate",
                self.monthly_discount_rate,
                self.monthly_discount_rate > -1.0,
            ),
            ("margin", self.margin, true),
            (
                "time_units_per_month",
                self.time_units_per_month,
                self.time_units_per_month > 0.0,
            ),
        ];
        for (name, value, in_domain) in checks {
            if !(value.is_finite() && in_domain) {
                return Err(ModelError::InvalidParameter { name, value });
            }
        }
        Ok(())
    }
}

/// Discounted CLV of one customer over the horizon (see the module docs),
/// given their expected spend per purchase. Allocation-free: one P(alive)
/// and H conditional expectations.
pub fn customer_lifetime_value<M: PurchaseModel + ?Sized>(
    model: &M,
    customer: &CustomerSummary,
    expected_spend: f64,
    options: &ClvOptions,
) -> f64 {
    let alive = model.p_alive(customer);
    if alive == 0.0 {
        return 0.0;
    }
    alive * discounted_purchases_if_alive(model, customer, options) * expected_spend
}

/// The discounted purchases over the horizon of a customer still alive,
/// times the margin: [`customer_lifetime_value`] is P(alive) × this ×
/// expected spend. For every purchase model here it depends on x and T
/// only (not t_x), so a scorer can compute it once per distinct (x, T)
/// instead of once per customer.
pub fn discounted_purchases_if_alive<M: PurchaseModel + ?Sized>(
    model: &M,
    customer: &CustomerSummary,
    options: &ClvOptions,
) -> f64 {
    discounted_increments(options, |t| model.expected_purchases_if_alive(t, customer))
}

/// Discounted CLV over the horizon of a customer who has just made their
/// first purchase (from `expected_purchases_new`).
pub fn new_customer_lifetime_value<M: PurchaseModel + ?Sized>(
    model: &M,
    expected_spend: f64,
    options: &ClvOptions,
) -> f64 {
    discounted_increments(options, |t| model.expected_purchases_new(t)) * expected_spend
}

/// Σ_{i=1}^{H} (E(m·i) − E(m·(i−1))) · margin / (1+d)^i.
fn discounted_increments(options: &ClvOptions, expected: impl Fn(f64) -> f64) -> f64 {
    let step = options.time_units_per_month;
    let factor = 1.0 / (1.0 + options.monthly_discount_rate);
    let mut discount = 1.0;
    let mut previous = 0.0;
    let mut total = 0.0;
    for month in 1..=options.horizon_months {
        let current = expected(step * f64::from(month));
        discount *= factor;
        total += (current - previous) * discount;
        previous = current;
    }
    total * options.margin
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgnbd::{BgNbdParams, FittedBgNbd};

    const TOLERANCE: f64 = 1e-12;

    fn model() -> FittedBgNbd {
        FittedBgNbd::from_params(BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap())
    }

    #[test]
    fn what_an_alive_customer_buys_does_not_depend_on_recency() {
        // The scorer computes it once per (x, T): check that holds for every
        // purchase model, and that CLV factors as P(alive) × it × spend.
        use crate::mbgnbd::{FittedMbgNbd, MbgNbdParams};
        use crate::pareto_nbd::{FittedParetoNbd, ParetoNbdParams};
        let models: [Box<dyn PurchaseModel>; 3] = [
            Box::new(model()),
            Box::new(FittedMbgNbd::from_params(
                MbgNbdParams::new(0.525, 6.183, 0.891, 1.614).unwrap(),
            )),
            Box::new(FittedParetoNbd::from_params(
                ParetoNbdParams::new(0.553, 10.58, 0.606, 11.67).unwrap(),
            )),
        ];
        let options = ClvOptions::default();
        for m in &models {
            for (x, t) in [(0.0, 10.0), (3.0, 40.0), (12.0, 300.0)] {
                let base = discounted_purchases_if_alive(
                    m.as_ref(),
                    &CustomerSummary::new(x, 0.0, t),
                    &options,
                );
                assert!(base > 0.0);
                for recency in [0.0, t / 3.0, t] {
                    let c = CustomerSummary::new(x, if x == 0.0 { 0.0 } else { recency }, t);
                    let got = discounted_purchases_if_alive(m.as_ref(), &c, &options);
                    assert_eq!(got, base, "x {x}, t_x {recency}, T {t}");
                    let clv = customer_lifetime_value(m.as_ref(), &c, 40.0, &options);
                    assert_eq!(clv, m.p_alive(&c) * got * 40.0);
                    for days in [30.0, 365.0] {
                        let alive = CustomerSummary::new(x, 0.0, t);
                        assert_eq!(
                            m.expected_purchases(days, &c),
                            m.expected_purchases_if_alive(days, &alive) * m.p_alive(&c)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn undiscounted_clv_is_expected_purchases_times_spend() {
        // With d = 0 the increments telescope to E[Y(m·H)].
        let m = model();
        let c = CustomerSummary::new(2.0, 30.43, 38.86);
        let options = ClvOptions {
            monthly_discount_rate: 0.0,
            margin: 0.3,
            time_units_per_month: 30.0 / 7.0,
            ..ClvOptions::default()
        };
        let expected = m.expected_purchases(12.0 * 30.0 / 7.0, &c) * 50.0 * 0.3;
        let got = customer_lifetime_value(&m, &c, 50.0, &options);
        assert!(
            (got - expected).abs() < TOLERANCE * expected,
            "{got} {expected}"
        );
        let new = new_customer_lifetime_value(&m, 50.0, &options);
        let expected = m.expected_purchases_new(12.0 * 30.0 / 7.0) * 50.0 * 0.3;
        assert!((new - expected).abs() < TOLERANCE * expected);
    }

    #[test]
    fn discounting_follows_lifetimes_formula() {
        let m = model();
        let c = CustomerSummary::new(5.0, 20.0, 38.0);
        let options = ClvOptions {
            horizon_months: 3,
            monthly_discount_rate: 0.05,
            margin: 1.0,
            time_units_per_month: 30.0 / 7.0,
        };
        let e = |months: f64| m.expected_purchases(months * 30.0 / 7.0, &c);
        let expected = 10.0
            * ((e(1.0) - e(0.0)) / 1.05
                + (e(2.0) - e(1.0)) / 1.05f64.powi(2)
                + (e(3.0) - e(2.0)) / 1.05f64.powi(3));
        let got = customer_lifetime_value(&m, &c, 10.0, &options);
        assert!(
            (got - expected).abs() < TOLERANCE * expected,
            "{got} {expected}"
        );
    }

    #[test]
    fn options_are_validated() {
        assert!(ClvOptions::default().validate().is_ok());
        let bad = ClvOptions {
            monthly_discount_rate: -1.0,
            ..ClvOptions::default()
        };
        assert!(bad.validate().is_err());
        let bad = ClvOptions {
            time_units_per_month: 0.0,
            ..ClvOptions::default()
        };
        assert!(bad.validate().is_err());
    }
}
