//! Shifted-beta-geometric (sBG) model of contract renewals: Fader and
//! Hardie (2007), "How to project customer retention", Journal of
//! Interactive Marketing 21(1); valuation by Fader and Hardie (2010),
//! "Customer-base valuation in a contractual setting: the perils of
//! ignoring heterogeneity", Marketing Science 29(1).
//!
//! At the end of each period a customer cancels with probability
//! θ ~ Beta(α, β), the same every period for that customer. Periods are
//! counted from 0 (acquisition): S(0) = 1.

use crate::error::ModelError;
use crate::optimize::{self, FitOptions, LogLikelihood};
use crate::special::{hyp2f1, ln_beta};

/// sBG parameters α, β of the Beta distribution of the churn probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SbgParams {
    /// First shape α of the Beta churn-probability distribution.
    pub alpha: f64,
    /// Second shape β of the Beta churn-probability distribution.
    pub beta: f64,
}

impl SbgParams {
    /// Parameters checked to be finite and positive.
    pub fn new(alpha: f64, beta: f64) -> Result<Self, ModelError> {
        for (name, value) in [("alpha", alpha), ("beta", beta)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ModelError::InvalidParameter { name, value });
            }
        }
        Ok(Self { alpha, beta })
    }

    /// P(T = t) = B(α+1, β+t−1)/B(α, β), the probability that a new
    /// customer's last period is t (they cancel at its end), t ≥ 1; 0 for t = 0.
    pub fn churn_probability(&self, t: u32) -> f64 {
        if t == 0 {
            return 0.0;
        }
        let t = f64::from(t);
        (ln_beta(self.alpha + 1.0, self.beta + t - 1.0) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// S(t) = B(α, β+t)/B(α, β), the probability of still being a customer
    /// in period t.
    pub fn survival(&self, t: u32) -> f64 {
        let t = f64::from(t);
        (ln_beta(self.alpha, self.beta + t) - ln_beta(self.alpha, self.beta)).exp()
    }

    /// r_t = S(t)/S(t−1) = (β+t−1)/(α+β+t−1), the share of period t − 1's
    /// customers who renew into period t (t ≥ 1). It rises with t: the
    /// customers most likely to cancel leave first.
    pub fn retention_rate(&self, t: u32) -> f64 {
        let t = f64::from(t.max(1));
        (self.beta + t - 1.0) / (self.alpha + self.beta + t - 1.0)
    }

    /// S(0), S(1), …, S(periods), by the recurrence S(t) = r_t S(t−1).
    pub fn survival_curve(&self, periods: u32) -> Vec<f64> {
        let mut curve = Vec::with_capacity(periods as usize + 1);
        let mut s = 1.0;
        curve.push(s);
        for t in 1..=periods {
            s *= self.retention_rate(t);
            curve.push(s);
        }
        curve
    }

    /// Log-likelihood of a cohort's counts of customers alive in periods
    /// 0, 1, …, k (Fader and Hardie 2007, appendix):
    /// Σ_{t=1}^{k} (n_{t−1} − n_t) ln P(T = t) + n_k ln S(k).
    pub fn log_likelihood(&self, alive: &[f64]) -> f64 {
        let Self { alpha, beta } = *self;
        let mut ln_p = (alpha / (alpha + beta)).ln(); // ln P(T = 1)
        let mut ln_s = 0.0; // ln S(0)
        let mut total = 0.0;
        for t in 1..alive.len() {
            let tf = t as f64;
            if t > 1 {
                ln_p += ((beta + tf - 2.0) / (alpha + beta + tf - 1.0)).ln();
            }
            ln_s += ((beta + tf - 1.0) / (alpha + beta + tf - 1.0)).ln();
            total += (alive[t - 1] - alive[t]) * ln_p;
        }
        total + alive[alive.len() - 1] * ln_s
    }

    /// Discounted expected lifetime of a customer just acquired, in
    /// periods, counting the current one undiscounted:
    /// DEL(d) = Σ_{t≥0} S(t)/(1+d)^t = ₂F₁(1, β; α+β; 1/(1+d)) (Fader and
    /// Hardie 2010). Multiply by the margin per period for the expected
    /// CLV. At d = 0 it is the mean lifetime (α+β−1)/(α−1), infinite for
    /// α ≤ 1; NaN for a negative or non-finite d.
    pub fn discounted_expected_lifetime(&self, discount_rate: f64) -> f64 {
        self.discounted_sum(discount_rate, 0.0)
    }

    /// DERL(d | α, β, n−1 renewals), the discounted expected residual
    /// lifetime of a customer who has renewed `renewals` = n − 1 times,
    /// evaluated just before the n-th renewal decision (Fader and Hardie
    /// 2010):
    /// (β+n−1)/(α+β+n−1) · ₂F₁(1, β+n; α+β+n; 1/(1+d)).
    /// Multiply by the margin per period for the customer's residual value.
    /// At d = 0 it is (β+n−1)/(α−1), infinite for α ≤ 1; NaN for a negative
    /// or non-finite d.
    pub fn derl(&self, discount_rate: f64, renewals: u32) -> f64 {
        let m = f64::from(renewals);
        let first = self.retention_rate(renewals + 1);
        first * self.discounted_sum(discount_rate, m + 1.0)
    }

    /// Σ_{k≥0} Π_{j<k} r_{n+j+1} / (1+d)^k = ₂F₁(1, β+n; α+β+n; 1/(1+d)):
    /// the ₂F₁ series' term ratio (β+n+k)/(α+β+n+k) is the retention rate.
    fn discounted_sum(&self, d: f64, n: f64) -> f64 {
        let Self { alpha, beta } = *self;
        if !(d.is_finite() && d >= 0.0) {
            return f64::NAN;
        }
        if d == 0.0 {
            // ₂F₁(1, b; c; 1) = (c−1)/(c−1−b) for c − 1 − b = α − 1 > 0.
            return if alpha > 1.0 {
                (alpha + beta + n - 1.0) / (alpha - 1.0)
            } else {
                f64::INFINITY
            };
        }
        hyp2f1(1.0, beta + n, alpha + beta + n, 1.0 / (1.0 + d))
    }
}

/// Unfitted sBG model: call [`Sbg::fit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sbg;

/// sBG fitted by maximum likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedSbg {
    /// Maximum-likelihood parameters.
    pub params: SbgParams,
    /// Log-likelihood of the counts at `params` (without penalties).
    pub log_likelihood: f64,
    /// Standard errors from the inverse Hessian of the negative
    /// log-likelihood; `None` when it is not positive definite or when
    /// [`FitOptions::standard_errors`] is false.
    pub standard_errors: Option<SbgParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl Sbg {
    /// Fits α, β by maximum likelihood to one cohort's counts of customers
    /// alive in periods 0, 1, …, k (n₀ > 0, non-increasing, k ≥ 1); counts
    /// may be fractional (e.g. percentages).
    pub fn fit(alive: &[f64], options: &FitOptions) -> Result<FittedSbg, ModelError> {
        if alive.len() < 2 {
            return Err(ModelError::EmptyInput);
        }
        for (index, n) in alive.iter().enumerate() {
            if !(n.is_finite() && *n >= 0.0) {
                return Err(ModelError::InvalidInput {
                    index,
                    reason: "counts must be finite and non-negative",
                });
            }
            if index > 0 && *n > alive[index - 1] {
                return Err(ModelError::InvalidInput {
                    index,
                    reason: "counts alive must not increase",
                });
            }
        }
        if alive[0] <= 0.0 {
            return Err(ModelError::EmptyInput);
        }
        let value = |theta: &[f64]| {
            SbgParams {
                alpha: theta[0],
                beta: theta[1],
            }
            .log_likelihood(alive)
        };
        let ll = LogLikelihood {
            names: &["alpha", "beta"],
            total_weight: alive[0],
            value: &value,
            gradient: None,
        };
        let estimate = optimize::maximize_likelihood(&ll, &[1.0; 2], options)?;
        let pair = |v: &[f64]| SbgParams {
            alpha: v[0],
            beta: v[1],
        };
        Ok(FittedSbg {
            params: pair(&estimate.theta),
            log_likelihood: estimate.log_likelihood,
            standard_errors: estimate.standard_errors.map(|se| pair(&se)),
            iterations: estimate.iterations,
        })
    }
}

impl FittedSbg {
    /// See [`SbgParams::survival`].
    pub fn survival(&self, t: u32) -> f64 {
        self.params.survival(t)
    }

    /// See [`SbgParams::survival_curve`].
    pub fn survival_curve(&self, periods: u32) -> Vec<f64> {
        self.params.survival_curve(periods)
    }

    /// See [`SbgParams::retention_rate`].
    pub fn retention_rate(&self, t: u32) -> f64 {
        self.params.retention_rate(t)
    }

    /// See [`SbgParams::derl`].
    pub fn derl(&self, discount_rate: f64, renewals: u32) -> f64 {
        self.params.derl(discount_rate, renewals)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-12;

    #[test]
    fn probabilities_are_consistent() {
        let p = SbgParams::new(0.668, 3.806).unwrap();
        let curve = p.survival_curve(20);
        for t in 1..=20u32 {
            let s = p.survival(t);
            assert!((curve[t as usize] - s).abs() < TOLERANCE);
            // S(t−1) − S(t) = P(T = t).
            let churn = curve[t as usize - 1] - curve[t as usize];
            assert!((churn - p.churn_probability(t)).abs() < TOLERANCE);
            assert!(p.retention_rate(t + 1) > p.retention_rate(t));
        }
    }

    #[test]
    fn derl_is_the_discounted_sum() {
        let p = SbgParams::new(0.668, 3.806).unwrap();
        let d: f64 = 0.1;
        for renewals in [0u32, 1, 7] {
            let n = renewals + 1;
            let base = p.survival(n - 1);
            let direct: f64 = (n..n + 2000)
                .map(|t| p.survival(t) / base / (1.0 + d).powi((t - n) as i32))
                .sum();
            assert!((p.derl(d, renewals) - direct).abs() < 1e-9, "{renewals}");
        }
        let direct: f64 = (0..2000)
            .map(|t| p.survival(t) / 1.1f64.powi(t as i32))
            .sum();
        assert!((p.discounted_expected_lifetime(d) - direct).abs() < 1e-9);
        // Undiscounted: mean residual lifetime (β+n−1)/(α−1) when α > 1.
        let q = SbgParams::new(3.0, 5.0).unwrap();
        assert!((q.derl(0.0, 2) - 7.0 / 2.0).abs() < TOLERANCE);
        assert_eq!(p.derl(0.0, 2), f64::INFINITY);
        assert!(p.derl(-0.5, 2).is_nan());
    }
}
