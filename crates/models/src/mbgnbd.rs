//! MBG/NBD purchase model: Batislam, Denizel and Filiztekin (2007),
//! "Empirical validation and comparison of models for customer base
//! analysis", International Journal of Research in Marketing 24(3).
//!
//! As BG/NBD (rate λ ~ Gamma(r, α), dropout probability p ~ Beta(a, b)),
//! but the dropout coin is also tossed right after the first purchase, so a
//! customer without repeat purchases may already be gone. The likelihood
//! and predictions are those of lifetimes' `ModifiedBetaGeoFitter`.

use crate::beta_geometric::{self as kernel, Variant};
use crate::error::ModelError;
use crate::optimize::{self, FitOptions};
use crate::summary::{check_rows, CustomerSummary};

/// MBG/NBD parameters (r, α) of the purchase rate and (a, b) of the
/// dropout probability, all positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MbgNbdParams {
    /// Shape r of the Gamma purchase-rate distribution.
    pub r: f64,
    /// Scale α of the Gamma purchase-rate distribution (time units).
    pub alpha: f64,
    /// First shape a of the Beta dropout distribution.
    pub a: f64,
    /// Second shape b of the Beta dropout distribution.
    pub b: f64,
}

/// Names of the parameters, in the order of the fit.
const NAMES: &[&str] = &["r", "alpha", "a", "b"];

impl MbgNbdParams {
    /// Parameters checked to be finite and positive.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ModelError> {
        for (name, value) in [("r", r), ("alpha", alpha), ("a", a), ("b", b)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ModelError::InvalidParameter { name, value });
            }
        }
        Ok(Self { r, alpha, a, b })
    }

    fn to_array(self) -> [f64; 4] {
        [self.r, self.alpha, self.a, self.b]
    }

    fn from_slice(v: &[f64]) -> Self {
        Self {
            r: v[0],
            alpha: v[1],
            a: v[2],
            b: v[3],
        }
    }

    /// ln L of one customer, alive after x + 1 tosses or dropped out at the
    /// last purchase:
    /// ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+1) − ln B(a, b)
    /// + ln[(α+T)^−(r+x) + a/(b+x) (α+t_x)^−(r+x)].
    pub fn log_likelihood_one(&self, c: &CustomerSummary) -> f64 {
        kernel::log_likelihood_one(Variant::Mbg, self.to_array(), c)
    }

    /// Weighted log-likelihood of compressed rows.
    pub fn log_likelihood(&self, rows: &[(CustomerSummary, f64)]) -> f64 {
        kernel::log_likelihood(Variant::Mbg, self.to_array(), rows, None)
    }

    /// Weighted log-likelihood and its analytic gradient with respect to
    /// (r, α, a, b).
    pub fn log_likelihood_with_gradient(&self, rows: &[(CustomerSummary, f64)]) -> (f64, [f64; 4]) {
        let mut g = [0.0; 4];
        let value = kernel::log_likelihood(Variant::Mbg, self.to_array(), rows, Some(&mut g));
        (value, g)
    }

    /// P(alive | x, t_x, T) = 1 / (1 + a/(b+x) ((α+T)/(α+t_x))^(r+x)),
    /// for every x including 0 (Batislam et al. 2007).
    pub fn p_alive(&self, c: &CustomerSummary) -> f64 {
        kernel::p_alive(Variant::Mbg, self.to_array(), c)
    }

    /// E[Y(t) | x, t_x, T], expected purchases in the next `t`:
    /// P(alive) · (a+b+x)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
    /// ₂F₁(r+x, b+x+1; a+b+x; t/(α+T+t))].
    /// Finite across the removable singularity at a = 1.
    pub fn expected_purchases(&self, t: f64, c: &CustomerSummary) -> f64 {
        self.expected_purchases_if_alive(t, c) * self.p_alive(c)
    }

    /// E[Y(t) | alive at T, x, t_x, T]: [`MbgNbdParams::expected_purchases`]
    /// without its P(alive) factor.
    pub fn expected_purchases_if_alive(&self, t: f64, c: &CustomerSummary) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let x = c.frequency;
        kernel::expected_purchases_alive(a, b + x + 1.0, r + x, alpha + c.t, t)
    }

    /// E[X(t)], expected repeat purchases in (0, t] of a customer who has
    /// just made their first purchase:
    /// b/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b+1; a+b; t/(α+t))], which is
    /// P(survive the first toss) = b/(a+b) times the expectation of an alive
    /// customer with p ~ Beta(a, b+1).
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        let Self { r, alpha, a, b } = *self;
        b / (a + b) * kernel::expected_purchases_alive(a, b + 1.0, r, alpha, t)
    }
}

/// Unfitted MBG/NBD model: call [`MbgNbd::fit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MbgNbd;

/// MBG/NBD fitted by maximum likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedMbgNbd {
    /// Maximum-likelihood parameters.
    pub params: MbgNbdParams,
    /// Log-likelihood of the data at `params` (without penalties).
    pub log_likelihood: f64,
    /// Standard errors from the inverse Hessian of the negative
    /// log-likelihood in natural parameters; `None` when that Hessian is not
    /// positive definite or when [`FitOptions::standard_errors`] is false.
    pub standard_errors: Option<MbgNbdParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl MbgNbd {
    /// Fits r, α, a, b by maximum likelihood on compressed rows, over the
    /// log-parameters with analytic gradients, from all parameters = 1 (on
    /// more than 100,000 rows, from the fit of a sample of them).
    pub fn fit(
        rows: &[(CustomerSummary, f64)],
        options: &FitOptions,
    ) -> Result<FittedMbgNbd, ModelError> {
        // Bad rows are reported by their index here, not in a sample.
        check_rows(rows)?;
        let estimate =
            optimize::estimate_warm(rows, &[1.0; 4], options, |rows, start, h0, options| {
                kernel::estimate(Variant::Mbg, NAMES, rows, start, h0, options)
            })?;
        Ok(FittedMbgNbd {
            params: MbgNbdParams::from_slice(&estimate.theta),
            log_likelihood: estimate.log_likelihood,
            standard_errors: estimate
                .standard_errors
                .map(|se| MbgNbdParams::from_slice(&se)),
            iterations: estimate.iterations,
        })
    }
}

fitted_purchase_model!(FittedMbgNbd, MbgNbdParams);

#[cfg(test)]
mod tests {
    use super::*;

    /// Agreement with the formulas evaluated by mpmath 1.3 at 30 digits.
    const MPMATH_TOLERANCE: f64 = 1e-10;

    fn lifetimes_values() -> MbgNbdParams {
        MbgNbdParams::new(0.525, 6.183, 0.891, 1.614).unwrap()
    }

    #[test]
    fn predictions_match_mpmath() {
        let p = lifetimes_values();
        // (x, t_x, T, P(alive), E[Y(39)]) by mpmath.
        let table = [
            (
                2.0,
                30.43,
                38.86,
                0.706_202_265_118_487,
                1.262_960_623_267_37,
            ),
            (
                0.0,
                0.0,
                38.86,
                0.389_735_080_918_763,
                0.154_012_746_675_147,
            ),
            (7.0, 35.0, 38.0, 0.850_646_751_682_222, 4.394_047_418_380_51),
        ];
        for (x, t_x, t, alive, e39) in table {
            let c = CustomerSummary::new(x, t_x, t);
            assert!((p.p_alive(&c) - alive).abs() < MPMATH_TOLERANCE, "{c:?}");
            let got = p.expected_purchases(39.0, &c);
            assert!(
                (got - e39).abs() < MPMATH_TOLERANCE,
                "{c:?}: {got} vs {e39}"
            );
        }
        let got = p.expected_purchases_new(78.0);
        assert!(
            (got - 1.804_757_577_553_14).abs() < MPMATH_TOLERANCE,
            "{got}"
        );
    }

    #[test]
    fn new_customer_is_not_surely_alive() {
        // Unlike BG/NBD, a new customer may have dropped out at once, so
        // E[X(t)] is below the expectation of a surely alive customer.
        let p = lifetimes_values();
        let c = CustomerSummary::new(0.0, 0.0, 0.0);
        assert!(p.p_alive(&c) < 1.0);
        let (a, b) = (p.a, p.b);
        let alive = p.expected_purchases(20.0, &c) / p.p_alive(&c);
        assert!(p.expected_purchases_new(20.0) < alive);
        // P(alive | x=0, T=0) = 1/(1 + a/b) = b/(a+b).
        assert!((p.p_alive(&c) - b / (a + b)).abs() < 1e-15);
    }
}
