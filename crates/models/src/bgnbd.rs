//! BG/NBD purchase model: Fader, Hardie and Lee (2005), "Counting your
//! customers the easy way: an alternative to the Pareto/NBD model",
//! Marketing Science 24(2).
//!
//! While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
//! after each purchase they drop out with probability p ~ Beta(a, b).

use crate::error::ModelError;
use crate::optimize::{self, FitOptions};
use crate::special::{hyp2f1, ln_gamma, log_sum_exp};
use crate::summary::{check_rows, CustomerSummary};

/// BG/NBD parameters (r, α) of the purchase rate and (a, b) of the dropout
/// probability, all positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdParams {
    /// Shape r of the Gamma purchase-rate distribution.
    pub r: f64,
    /// Scale α of the Gamma purchase-rate distribution (time units).
    pub alpha: f64,
    /// First shape a of the Beta dropout distribution.
    pub a: f64,
    /// Second shape b of the Beta dropout distribution.
    pub b: f64,
}

impl BgNbdParams {
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

    /// Log-likelihood of one customer, ln L(r, α, a, b | x, t_x, T), eq. 6 of
    /// the paper, with the two-term sum taken by log-sum-exp.
    pub fn log_likelihood_one(&self, c: &CustomerSummary) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let x = c.frequency;
        let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
        let a2 = ln_gamma(a + b) + ln_gamma(b + x) - ln_gamma(b) - ln_gamma(a + b + x);
        let a3 = -(r + x) * (alpha + c.t).ln();
        let a4 = if x > 0.0 {
            a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + c.recency).ln()
        } else {
            f64::NEG_INFINITY
        };
        a1 + a2 + log_sum_exp(a3, a4)
    }

    /// Weighted log-likelihood of compressed rows.
    pub fn log_likelihood(&self, rows: &[(CustomerSummary, f64)]) -> f64 {
        rows.iter()
            .map(|(c, w)| w * self.log_likelihood_one(c))
            .sum()
    }

    /// ln of δ_{x>0} · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), the odds of having
    /// dropped out (−∞ when x = 0).
    fn ln_dropout_odds(&self, c: &CustomerSummary) -> f64 {
        let x = c.frequency;
        if x > 0.0 {
            self.a.ln() - (self.b + x - 1.0).ln()
                + (self.r + x) * ((self.alpha + c.t).ln() - (self.alpha + c.recency).ln())
        } else {
            f64::NEG_INFINITY
        }
    }

    /// P(alive | x, t_x, T) = 1 / (1 + δ_{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x)),
    /// eq. 13 of the paper.
    pub fn p_alive(&self, c: &CustomerSummary) -> f64 {
        1.0 / (1.0 + self.ln_dropout_odds(c).exp())
    }

    /// E[Y(t) | x, t_x, T], expected purchases in the next `t` periods for a
    /// customer with that history, eq. 10 of the paper.
    ///
    /// Euler's transformation ₂F₁(a', b'; c; z) = (1−z)^(c−a'−b') ₂F₁(c−a', c−b'; c; z)
    /// turns ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z) into
    /// (1−z)^(a−1) ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose series neither
    /// overflows for large x nor crawls as z → 1.
    ///
    /// The formula has a removable singularity at a = 1, which is not yet
    /// handled: there it returns NaN.
    pub fn expected_purchases(&self, t: f64, c: &CustomerSummary) -> f64 {
        if t <= 0.0 {
            return 0.0;
        }
        let Self { r, alpha, a, b } = *self;
        let x = c.frequency;
        let big_c = a + b + x - 1.0;
        let one_minus_z = (alpha + c.t) / (alpha + c.t + t);
        let z = t / (alpha + c.t + t);
        let f = hyp2f1(a + b - 1.0 - r, a - 1.0, big_c, z);
        let bracket = 1.0 - one_minus_z.powf(a - 1.0) * f;
        let value = big_c / (a - 1.0) * bracket * self.p_alive(c);
        value.max(0.0)
    }

    /// E[X(t)], expected purchases in (0, t] of a customer who has just made
    /// their first purchase, eq. 7 of the paper:
    /// (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))].
    /// It equals [`BgNbdParams::expected_purchases`] with x = t_x = T = 0.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        self.expected_purchases(t, &CustomerSummary::new(0.0, 0.0, 0.0))
    }
}

/// Unfitted BG/NBD model: call [`BgNbd::fit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BgNbd;

/// BG/NBD fitted by maximum likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedBgNbd {
    /// Maximum-likelihood parameters.
    pub params: BgNbdParams,
    /// Log-likelihood of the data at `params` (without the penalty).
    pub log_likelihood: f64,
    /// Standard errors from the inverse Hessian of the negative
    /// log-likelihood in natural parameters; `None` when that Hessian is not
    /// positive definite.
    pub standard_errors: Option<BgNbdParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl BgNbd {
    /// Fits r, α, a, b by maximum likelihood on compressed rows
    /// (see [`crate::compress`]), optimising over the log-parameters.
    pub fn fit(
        rows: &[(CustomerSummary, f64)],
        options: &FitOptions,
    ) -> Result<FittedBgNbd, ModelError> {
        let total = check_rows(rows)?;
        let penalty = options.l2_penalty;
        let objective = |log_params: &[f64]| {
            let theta: Vec<f64> = log_params.iter().map(|v| v.exp()).collect();
            let params = BgNbdParams::from_slice(&theta);
            -params.log_likelihood(rows) / total
                + penalty * theta.iter().map(|v| v * v).sum::<f64>()
        };
        let min = optimize::minimize(&objective, &[0.0; 4], options)?;
        let theta: Vec<f64> = min.x.iter().map(|v| v.exp()).collect();
        let params = BgNbdParams::from_slice(&theta);
        let nll = |p: &[f64]| {
            if p.iter().any(|v| *v <= 0.0) {
                return f64::NAN;
            }
            -BgNbdParams::from_slice(p).log_likelihood(rows)
        };
        let standard_errors = optimize::invert_spd(&optimize::hessian(&nll, &theta))
            .map(|inv| {
                BgNbdParams::from_slice(&(0..4).map(|i| inv[i][i].sqrt()).collect::<Vec<_>>())
            })
            .filter(|se| se.to_array().iter().all(|v| v.is_finite()));
        Ok(FittedBgNbd {
            params,
            log_likelihood: params.log_likelihood(rows),
            standard_errors,
            iterations: min.iterations,
        })
    }
}

impl FittedBgNbd {
    /// A fitted model from known parameters (e.g. published ones), without
    /// likelihood or standard errors.
    pub fn from_params(params: BgNbdParams) -> Self {
        Self {
            params,
            log_likelihood: f64::NAN,
            standard_errors: None,
            iterations: 0,
        }
    }

    /// See [`BgNbdParams::expected_purchases`].
    pub fn expected_purchases(&self, t: f64, c: &CustomerSummary) -> f64 {
        self.params.expected_purchases(t, c)
    }

    /// See [`BgNbdParams::expected_purchases_new`].
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        self.params.expected_purchases_new(t)
    }

    /// See [`BgNbdParams::p_alive`].
    pub fn p_alive(&self, c: &CustomerSummary) -> f64 {
        self.params.p_alive(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-9;

    fn published() -> BgNbdParams {
        BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap()
    }

    #[test]
    fn new_customer_equals_zero_history() {
        let p = published();
        assert_eq!(p.p_alive(&CustomerSummary::new(0.0, 0.0, 10.0)), 1.0);
        assert_eq!(p.expected_purchases_new(0.0), 0.0);
        // Eq. 7 by the untransformed series agrees with the Euler form.
        let t = 20.0;
        let (r, alpha, a, b) = (p.r, p.alpha, p.a, p.b);
        let direct = (a + b - 1.0) / (a - 1.0)
            * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, t / (alpha + t)));
        assert!((p.expected_purchases_new(t) - direct).abs() < TOLERANCE);
    }

    #[test]
    fn rejects_bad_params() {
        assert!(BgNbdParams::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(BgNbdParams::new(1.0, f64::NAN, 1.0, 1.0).is_err());
    }
}
