//! BG/NBD purchase model: Fader, Hardie and Lee (2005), "Counting your
//! customers the easy way: an alternative to the Pareto/NBD model",
//! Marketing Science 24(2).
//!
//! While alive a customer buys as a Poisson process with rate λ ~ Gamma(r, α);
//! after each purchase they drop out with probability p ~ Beta(a, b).

use crate::beta_geometric::{self as kernel, Variant};
use crate::error::ModelError;
use crate::optimize::{self, FitOptions};
use crate::special::ln_beta;
use crate::summary::{check_rows, CustomerSummary};

/// Most terms [`BgNbdParams::probability_of_n_purchases`] sums for one
/// negative-binomial tail (only reached when t is 10⁵ times α or more).
const NBD_TAIL_MAX_TERMS: usize = 10_000_000;
/// Relative size of a negative-binomial term below which a tail sum stops.
const NBD_TAIL_TOLERANCE: f64 = 1e-17;

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

/// Names of the parameters as in the paper, in the order of the fit.
const NAMES: &[&str] = &["r", "alpha", "a", "b"];

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
        kernel::log_likelihood_one(Variant::Bg, self.to_array(), c)
    }

    /// Weighted log-likelihood of compressed rows.
    pub fn log_likelihood(&self, rows: &[(CustomerSummary, f64)]) -> f64 {
        kernel::log_likelihood(Variant::Bg, self.to_array(), rows, None)
    }

    /// Weighted log-likelihood of compressed rows and its analytic gradient
    /// with respect to (r, α, a, b) (digamma functions of the gamma terms,
    /// softmax weights of the two-term sum). The fit uses it instead of
    /// finite differences: one pass over the rows per gradient instead of
    /// eight.
    pub fn log_likelihood_with_gradient(&self, rows: &[(CustomerSummary, f64)]) -> (f64, [f64; 4]) {
        let mut g = [0.0; 4];
        let value = kernel::log_likelihood(Variant::Bg, self.to_array(), rows, Some(&mut g));
        (value, g)
    }

    /// P(alive | x, t_x, T) = 1 / (1 + δ_{x>0} a/(b+x−1) ((α+T)/(α+t_x))^(r+x)),
    /// eq. 13 of the paper.
    pub fn p_alive(&self, c: &CustomerSummary) -> f64 {
        kernel::p_alive(Variant::Bg, self.to_array(), c)
    }

    /// E[Y(t) | x, t_x, T], expected purchases in the next `t` periods for a
    /// customer with that history, eq. 10 of the paper:
    /// P(alive) · (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x)
    /// ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))].
    ///
    /// Evaluated with Euler's transformation of the ₂F₁ (no overflow for
    /// large x, fast as t/(α+T+t) → 1), and across the removable
    /// singularity at a = 1 by interpolation, so it is finite for every
    /// valid customer and parameter set.
    pub fn expected_purchases(&self, t: f64, c: &CustomerSummary) -> f64 {
        self.expected_purchases_if_alive(t, c) * self.p_alive(c)
    }

    /// E[Y(t) | alive at T, x, t_x, T], expected purchases in the next `t`
    /// of this customer if still alive: [`BgNbdParams::expected_purchases`]
    /// without its P(alive) factor.
    pub fn expected_purchases_if_alive(&self, t: f64, c: &CustomerSummary) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let x = c.frequency;
        kernel::expected_purchases_alive(a, b + x, r + x, alpha + c.t, t)
    }

    /// E[X(t)], expected purchases in (0, t] of a customer who has just made
    /// their first purchase, eq. 7 of the paper:
    /// (a+b−1)/(a−1) · [1 − (α/(α+t))^r ₂F₁(r, b; a+b−1; t/(α+t))].
    /// It equals [`BgNbdParams::expected_purchases`] with x = t_x = T = 0.
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        self.expected_purchases(t, &CustomerSummary::new(0.0, 0.0, 0.0))
    }

    /// P(X(t) = n): probability that a customer who has just made their
    /// first purchase makes exactly n repeat purchases in (0, t], eq. 8 of
    /// the paper:
    /// B(a, b+n)/B(a, b) · NB(n) + δ_{n>0} B(a+1, b+n−1)/B(a, b) · P(N ≥ n),
    /// where NB is the negative-binomial distribution of purchases with
    /// rate λ ~ Gamma(r, α) over t, NB(j) = Γ(r+j)/(Γ(r) j!) q^r (1−q)^j,
    /// q = α/(α+t). The tail P(N ≥ n) is summed directly (not as 1 − CDF)
    /// wherever it is small, so far tails keep their relative precision.
    pub fn probability_of_n_purchases(&self, t: f64, n: u32) -> f64 {
        let Self { r, alpha, a, b } = *self;
        let n_f = f64::from(n);
        if t.is_nan() || t <= 0.0 {
            return if n == 0 { 1.0 } else { 0.0 };
        }
        let ln_beta_ab = ln_beta(a, b);
        let nbd = NegativeBinomial::new(r, alpha, t);
        let stays = (ln_beta(a, b + n_f) - ln_beta_ab + nbd.ln_pmf(n_f)).exp();
        if n == 0 {
            return stays;
        }
        let drops = (ln_beta(a + 1.0, b + n_f - 1.0) - ln_beta_ab).exp() * nbd.upper_tail(n);
        (stays + drops).clamp(0.0, 1.0)
    }
}

/// Purchases in (0, t] of a Poisson process with rate λ ~ Gamma(r, α).
struct NegativeBinomial {
    r: f64,
    /// q = α/(α+t), and ln q, ln(1−q) computed without cancellation.
    q: f64,
    ln_q: f64,
    ln_one_minus_q: f64,
}

impl NegativeBinomial {
    fn new(r: f64, alpha: f64, t: f64) -> Self {
        Self {
            r,
            q: alpha / (alpha + t),
            ln_q: -(t / alpha).ln_1p(),
            ln_one_minus_q: -(alpha / t).ln_1p(),
        }
    }

    fn ln_pmf(&self, j: f64) -> f64 {
        crate::special::ln_gamma(self.r + j)
            - crate::special::ln_gamma(self.r)
            - crate::special::ln_gamma(j + 1.0)
            + self.r * self.ln_q
            + j * self.ln_one_minus_q
    }

    /// P(N ≥ n) for n ≥ 1.
    fn upper_tail(&self, n: u32) -> f64 {
        let r = self.r;
        let one_minus_q = self.ln_one_minus_q.exp();
        // Terms grow while j ≤ (r(1−q) − 1)/q (ratio p_{j+1}/p_j ≥ 1).
        let last_growing = (r * one_minus_q - 1.0) / self.q;
        let n_f = f64::from(n);
        if n_f - 1.0 <= last_growing {
            // All of j < n lie on the rising side: the CDF up to n − 1 is
            // at most about one half, so 1 − CDF is well conditioned. Sum it
            // downwards from its largest term.
            let top = n_f - 1.0;
            let mut term = self.ln_pmf(top).exp();
            let mut cdf = term;
            let mut j = top;
            while j >= 1.0 {
                term *= j / ((r + j - 1.0) * one_minus_q);
                cdf += term;
                if term <= NBD_TAIL_TOLERANCE * cdf || term < f64::MIN_POSITIVE {
                    break;
                }
                j -= 1.0;
            }
            return (1.0 - cdf).max(0.0);
        }
        // Falling side: sum the tail upwards from its largest term.
        let mut term = self.ln_pmf(n_f).exp();
        let mut tail = term;
        let mut j = n_f;
        for _ in 0..NBD_TAIL_MAX_TERMS {
            term *= (r + j) * one_minus_q / (j + 1.0);
            tail += term;
            // Below the smallest normal number a product can round back to
            // itself (0.5 × 5e-324 = 5e-324) and never reach the tolerance.
            if term <= NBD_TAIL_TOLERANCE * tail || term < f64::MIN_POSITIVE {
                break;
            }
            j += 1.0;
        }
        tail.min(1.0)
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
    /// positive definite or when [`FitOptions::standard_errors`] is false.
    pub standard_errors: Option<BgNbdParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl BgNbd {
    /// Fits r, α, a, b by maximum likelihood on compressed rows
    /// (see [`crate::compress`]), optimising over the log-parameters with
    /// analytic gradients, from r = α = a = b = 1 (on more than 100,000
    /// rows, from the fit of a sample of them: see
    /// `optimize::estimate_warm`).
    ///
    /// Errors: [`ModelError::EmptyInput`] / [`ModelError::InvalidInput`]
    /// for bad rows, [`ModelError::NoConvergence`] or
    /// [`ModelError::NonFinite`] (with diagnostics) when the optimiser fails.
    pub fn fit(
        rows: &[(CustomerSummary, f64)],
        options: &FitOptions,
    ) -> Result<FittedBgNbd, ModelError> {
        // Bad rows are reported by their index here, not in a sample.
        check_rows(rows)?;
        let estimate =
            optimize::estimate_warm(rows, &[1.0; 4], options, |rows, start, h0, options| {
                kernel::estimate(Variant::Bg, NAMES, rows, start, h0, options)
            })?;
        Ok(FittedBgNbd {
            params: BgNbdParams::from_slice(&estimate.theta),
            log_likelihood: estimate.log_likelihood,
            standard_errors: estimate
                .standard_errors
                .map(|se| BgNbdParams::from_slice(&se)),
            iterations: estimate.iterations,
        })
    }
}

fitted_purchase_model!(FittedBgNbd, BgNbdParams);

impl FittedBgNbd {
    /// See [`BgNbdParams::probability_of_n_purchases`].
    pub fn probability_of_n_purchases(&self, t: f64, n: u32) -> f64 {
        self.params.probability_of_n_purchases(t, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::special::hyp2f1;

    const TOLERANCE: f64 = 1e-9;
    /// Agreement with eq. 8 evaluated by mpmath 1.3 at 30 digits.
    const MPMATH_TOLERANCE: f64 = 1e-12;

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
    fn probability_of_n_matches_mpmath() {
        let p = published();
        // (t, n, eq. 8 by mpmath with the published parameters)
        let table = [
            (78.0, 0, 0.491_027_725_058_527),
            (78.0, 1, 0.210_494_262_150_159),
            (78.0, 5, 0.023_940_236_634_437_7),
            (39.0, 2, 0.085_429_759_539_060_8),
            (520.0, 30, 0.001_394_699_207_467_85),
        ];
        for (t, n, expected) in table {
            let got = p.probability_of_n_purchases(t, n);
            assert!(
                (got - expected).abs() < MPMATH_TOLERANCE,
                "P(X({t}) = {n}) = {got}, mpmath {expected}"
            );
        }
        assert_eq!(p.probability_of_n_purchases(0.0, 0), 1.0);
        assert_eq!(p.probability_of_n_purchases(0.0, 3), 0.0);
    }

    #[test]
    fn rejects_bad_params() {
        assert!(BgNbdParams::new(0.0, 1.0, 1.0, 1.0).is_err());
        assert!(BgNbdParams::new(1.0, f64::NAN, 1.0, 1.0).is_err());
    }
}
