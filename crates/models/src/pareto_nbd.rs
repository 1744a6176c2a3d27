//! Pareto/NBD purchase model: Schmittlein, Morrison and Colombo (1987),
//! "Counting your customers: who are they and what will they do next?",
//! Management Science 33(1); likelihood as in Fader, Hardie and Lee (2005),
//! "A note on deriving the Pareto/NBD model and related expressions".
//!
//! While alive a customer buys as a Poisson process with rate
//! λ ~ Gamma(r, α); their lifetime is exponential with rate μ ~ Gamma(s, β).

use crate::error::ModelError;
use crate::optimize::{self, FitOptions, LogLikelihood};
use crate::special::{hyp2f1, ln_gamma, log_diff_exp, log_sum_exp};
use crate::summary::{check_rows, CustomerSummary};

/// Pareto/NBD parameters (r, α) of the purchase rate and (s, β) of the
/// dropout rate, all positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParetoNbdParams {
    /// Shape r of the Gamma purchase-rate distribution.
    pub r: f64,
    /// Scale α of the Gamma purchase-rate distribution (time units).
    pub alpha: f64,
    /// Shape s of the Gamma dropout-rate distribution.
    pub s: f64,
    /// Scale β of the Gamma dropout-rate distribution (time units).
    pub beta: f64,
}

/// Names of the parameters, in the order of the fit.
const NAMES: &[&str] = &["r", "alpha", "s", "beta"];

/// The pieces of one customer's likelihood, in logs:
/// L = Γ(r+x) α^r β^s / Γ(r) · [e^alive + e^dropped].
struct Parts {
    /// ln Γ(r+x) − ln Γ(r) + r ln α + s ln β.
    prefix: f64,
    /// ln[(α+T)^−(r+x) (β+T)^−s]: alive at T.
    alive: f64,
    /// ln[s ∫_{t_x}^T (α+τ)^−(r+x) (β+τ)^−(s+1) dτ]: died in (t_x, T].
    dropped: f64,
}

impl ParetoNbdParams {
    /// Parameters checked to be finite and positive.
    pub fn new(r: f64, alpha: f64, s: f64, beta: f64) -> Result<Self, ModelError> {
        for (name, value) in [("r", r), ("alpha", alpha), ("s", s), ("beta", beta)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ModelError::InvalidParameter { name, value });
            }
        }
        Ok(Self { r, alpha, s, beta })
    }

    fn from_slice(v: &[f64]) -> Self {
        Self {
            r: v[0],
            alpha: v[1],
            s: v[2],
            beta: v[3],
        }
    }

    /// ln I(τ), I(τ) = ∫_τ^∞ (α+u)^−(r+x) (β+u)^−(s+1) du.
    ///
    /// FHL (2005) write the likelihood with A₀ = (r+s+x)(I(t_x) − I(T)) and
    /// I(τ) = ₂F₁(r+s+x, s+1; r+s+x+1; (α−β)/(α+τ)) / ((r+s+x)(α+τ)^(r+s+x))
    /// for α ≥ β (the roles of the two swap for α < β, so that the argument
    /// lies in [0, 1)). Euler's transformation turns these into ₂F₁(1, ·; ·)
    /// series with positive, shrinking terms and no overflow for large x:
    /// - α ≥ β: (α+τ)^−(r+x) (β+τ)^−s ₂F₁(1, r+x; r+s+x+1; z) / (r+s+x);
    /// - α < β: (α+τ)^(1−r−x) (β+τ)^−(s+1) ₂F₁(1, s+1; r+s+x+1; z) / (r+s+x).
    fn ln_tail_integral(&self, x: f64, tau: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        let rsx = r + s + x;
        if alpha >= beta {
            let z = (alpha - beta) / (alpha + tau);
            -(r + x) * (alpha + tau).ln() - s * (beta + tau).ln()
                + hyp2f1(1.0, r + x, rsx + 1.0, z).ln()
                - rsx.ln()
        } else {
            let z = (beta - alpha) / (beta + tau);
            (1.0 - r - x) * (alpha + tau).ln() - (s + 1.0) * (beta + tau).ln()
                + hyp2f1(1.0, s + 1.0, rsx + 1.0, z).ln()
                - rsx.ln()
        }
    }

    fn parts(&self, c: &CustomerSummary) -> Parts {
        let x = c.frequency;
        self.parts_with(c, self.ln_prefix(x), self.ln_tail_integral(x, c.recency))
    }

    /// ln Γ(r+x) − ln Γ(r) + r ln α + s ln β.
    fn ln_prefix(&self, x: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln()
    }

    /// The parts given the prefix and ln I(t_x), which depend on (x, t_x)
    /// only and are shared by consecutive compressed rows.
    fn parts_with(&self, c: &CustomerSummary, prefix: f64, ln_tail_at_recency: f64) -> Parts {
        let Self { r, alpha, s, beta } = *self;
        let x = c.frequency;
        let alive = -(r + x) * (alpha + c.t).ln() - s * (beta + c.t).ln();
        // I(t_x) − I(T) ≥ 0; log_diff_exp gives −∞ when t_x = T (or when
        // rounding puts I(T) above I(t_x)), never NaN.
        let dropped = s.ln() + log_diff_exp(ln_tail_at_recency, self.ln_tail_integral(x, c.t));
        Parts {
            prefix,
            alive,
            dropped,
        }
    }

    /// ln L(r, α, s, β | x, t_x, T) of one customer (FHL 2005 note, with
    /// A₀ taken in the stable form described at `ln_tail_integral`).
    pub fn log_likelihood_one(&self, c: &CustomerSummary) -> f64 {
        let p = self.parts(c);
        p.prefix + log_sum_exp(p.alive, p.dropped)
    }

    /// Weighted log-likelihood of compressed rows. Rows sorted by (x, t_x)
    /// (as [`crate::compress`] returns them) share the terms that depend on
    /// those two only, which halves the ₂F₁ evaluations.
    pub fn log_likelihood(&self, rows: &[(CustomerSummary, f64)]) -> f64 {
        let mut shared: Option<(f64, f64, f64, f64)> = None; // x, t_x, prefix, ln I(t_x)
        let mut total = 0.0;
        for (c, w) in rows {
            let (prefix, ln_tail) = match shared {
                Some((x, t_x, prefix, ln_tail)) if x == c.frequency && t_x == c.recency => {
                    (prefix, ln_tail)
                }
                _ => {
                    let prefix = self.ln_prefix(c.frequency);
                    let ln_tail = self.ln_tail_integral(c.frequency, c.recency);
                    shared = Some((c.frequency, c.recency, prefix, ln_tail));
                    (prefix, ln_tail)
                }
            };
            let p = self.parts_with(c, prefix, ln_tail);
            total += w * (p.prefix + log_sum_exp(p.alive, p.dropped));
        }
        total
    }

    /// P(alive | x, t_x, T): the share of the likelihood from "alive at T",
    /// 1 / (1 + s/(r+s+x) (α+T)^(r+x) (β+T)^s A₀) (FHL 2005 note).
    pub fn p_alive(&self, c: &CustomerSummary) -> f64 {
        let p = self.parts(c);
        (p.alive - log_sum_exp(p.alive, p.dropped)).exp()
    }

    /// E[Y(t) | x, t_x, T] = P(alive) · (r+x)(β+T) / ((α+T)(s−1)) ·
    /// [1 − ((β+T)/(β+T+t))^(s−1)] (Schmittlein et al. 1987), with
    /// the removable singularity at s = 1 (where the bracket over s − 1 is
    /// ln(1 + t/(β+T))) handled by `expm1`.
    pub fn expected_purchases(&self, t: f64, c: &CustomerSummary) -> f64 {
        self.expected_purchases_if_alive(t, c) * self.p_alive(c)
    }

    /// E[Y(t) | alive at T, x, t_x, T]:
    /// [`ParetoNbdParams::expected_purchases`] without its P(alive) factor.
    pub fn expected_purchases_if_alive(&self, t: f64, c: &CustomerSummary) -> f64 {
        if t.is_nan() || t <= 0.0 {
            return 0.0;
        }
        let Self { r, alpha, s, beta } = *self;
        let x = c.frequency;
        (r + x) * (beta + c.t) / (alpha + c.t) * lifetime_fraction(s - 1.0, t / (beta + c.t))
    }

    /// E[X(t)] = rβ / (α(s−1)) · [1 − (β/(β+t))^(s−1)], expected purchases in
    /// (0, t] of a customer who has just made their first purchase
    /// (Schmittlein et al. 1987).
    pub fn expected_purchases_new(&self, t: f64) -> f64 {
        if t.is_nan() || t <= 0.0 {
            return 0.0;
        }
        let Self { r, alpha, s, beta } = *self;
        r * beta / alpha * lifetime_fraction(s - 1.0, t / beta)
    }
}

/// [1 − (1+u)^(−e)] / e, and ln(1+u) at e = 0, without cancellation:
/// −expm1(−e·ln1p(u)) / e.
fn lifetime_fraction(e: f64, u: f64) -> f64 {
    let l = u.ln_1p();
    if e == 0.0 {
        l
    } else {
        -(-e * l).exp_m1() / e
    }
}

/// Unfitted Pareto/NBD model: call [`ParetoNbd::fit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ParetoNbd;

/// Pareto/NBD fitted by maximum likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedParetoNbd {
    /// Maximum-likelihood parameters.
    pub params: ParetoNbdParams,
    /// Log-likelihood of the data at `params` (without penalties).
    pub log_likelihood: f64,
    /// Standard errors from the inverse Hessian of the negative
    /// log-likelihood in natural parameters; `None` when that Hessian is not
    /// positive definite or when [`FitOptions::standard_errors`] is false.
    pub standard_errors: Option<ParetoNbdParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl ParetoNbd {
    /// Fits r, α, s, β by maximum likelihood on compressed rows, over the
    /// log-parameters with central-difference gradients, from all
    /// parameters = 1 (on more than 100,000 rows, from the fit of a sample
    /// of them).
    pub fn fit(
        rows: &[(CustomerSummary, f64)],
        options: &FitOptions,
    ) -> Result<FittedParetoNbd, ModelError> {
        // Bad rows are reported by their index here, not in a sample.
        check_rows(rows)?;
        let estimate =
            optimize::estimate_warm(rows, &[1.0; 4], options, |rows, start, h0, options| {
                let total_weight = check_rows(rows)?;
                let value = |theta: &[f64]| ParetoNbdParams::from_slice(theta).log_likelihood(rows);
                let ll = LogLikelihood {
                    names: NAMES,
                    total_weight,
                    value: &value,
                    gradient: None,
                };
                optimize::maximize_likelihood_from(&ll, start, h0, options)
            })?;
        Ok(FittedParetoNbd {
            params: ParetoNbdParams::from_slice(&estimate.theta),
            log_likelihood: estimate.log_likelihood,
            standard_errors: estimate
                .standard_errors
                .map(|se| ParetoNbdParams::from_slice(&se)),
            iterations: estimate.iterations,
        })
    }
}

fitted_purchase_model!(FittedParetoNbd, ParetoNbdParams);

#[cfg(test)]
mod tests {
    use super::*;

    /// Agreement with the FHL (2005) formulas by mpmath 1.3 at 30 digits
    /// (whose likelihood also agrees with direct quadrature of the integral).
    const MPMATH_TOLERANCE: f64 = 1e-10;

    fn published() -> ParetoNbdParams {
        ParetoNbdParams::new(0.553, 10.578, 0.606, 11.669).unwrap()
    }

    #[test]
    fn customers_match_mpmath() {
        let p = published();
        // (x, t_x, T, ln L, P(alive), E[Y(39)]) by mpmath.
        let table = [
            (
                2.0,
                30.43,
                38.86,
                -9.554_283_245_150_41,
                0.869_167_559_153_011,
                1.455_123_193_257_6,
            ),
            (
                0.0,
                0.0,
                38.86,
                -0.521_046_294_080_89,
                0.295_286_604_616_894,
                0.107_081_468_215_309,
            ),
            (
                7.0,
                35.0,
                38.0,
                -21.691_734_150_854_2,
                0.952_839_625_687_501,
                4.790_554_249_261_74,
            ),
            (
                1.0,
                1.71,
                38.86,
                -4.450_194_333_881_01,
                0.168_002_326_724_345,
                0.171_092_980_553_783,
            ),
        ];
        for (x, t_x, t, ll, alive, e39) in table {
            let c = CustomerSummary::new(x, t_x, t);
            let got = p.log_likelihood_one(&c);
            assert!(
                (got - ll).abs() < MPMATH_TOLERANCE,
                "{c:?}: ln L {got} vs {ll}"
            );
            let got = p.p_alive(&c);
            assert!(
                (got - alive).abs() < MPMATH_TOLERANCE,
                "{c:?}: {got} vs {alive}"
            );
            let got = p.expected_purchases(39.0, &c);
            assert!(
                (got - e39).abs() < MPMATH_TOLERANCE,
                "{c:?}: {got} vs {e39}"
            );
        }
        let got = p.expected_purchases_new(78.0);
        assert!(
            (got - 1.909_398_129_313_69).abs() < MPMATH_TOLERANCE,
            "{got}"
        );
    }

    #[test]
    fn shared_terms_do_not_change_the_likelihood() {
        let p = published();
        let rows = [
            (CustomerSummary::new(1.0, 5.0, 20.0), 2.0),
            (CustomerSummary::new(1.0, 5.0, 30.0), 1.0),
            (CustomerSummary::new(2.0, 5.0, 30.0), 3.0),
            (CustomerSummary::new(2.0, 5.0, 30.0), 1.0),
            (CustomerSummary::new(0.0, 0.0, 30.0), 4.0),
        ];
        let direct: f64 = rows.iter().map(|(c, w)| w * p.log_likelihood_one(c)).sum();
        assert_eq!(p.log_likelihood(&rows), direct);
    }

    #[test]
    fn both_branches_of_the_integral_agree_at_alpha_equal_beta() {
        // At α = β the integral is (α+τ)^−(r+s+x)/(r+s+x); just either side
        // of it the two hypergeometric forms must agree with that.
        let c = CustomerSummary::new(3.0, 10.0, 30.0);
        let at = |alpha: f64, beta: f64| {
            ParetoNbdParams::new(0.5, alpha, 0.7, beta)
                .unwrap()
                .log_likelihood_one(&c)
        };
        let equal = at(10.0, 10.0);
        assert!((at(10.0 + 1e-9, 10.0) - equal).abs() < 1e-8);
        assert!((at(10.0, 10.0 + 1e-9) - equal).abs() < 1e-8);
    }

    #[test]
    fn s_equal_one_is_the_limit() {
        let at = |s: f64| {
            ParetoNbdParams::new(0.5, 10.0, s, 12.0)
                .unwrap()
                .expected_purchases_new(52.0)
        };
        let limit = 0.5 * 12.0 / 10.0 * (1.0f64 + 52.0 / 12.0).ln();
        assert!((at(1.0) - limit).abs() < 1e-14);
        assert!((at(1.0 + 1e-7) - limit).abs() < 1e-6);
    }
}
