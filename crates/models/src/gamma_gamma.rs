//! Gamma-Gamma spend model: Fader, Hardie and Lee (2005), "RFM and CLV:
//! using iso-value curves for customer base analysis"; Fader and Hardie
//! (2013), "The Gamma-Gamma model of monetary value" (note 025).
//!
//! A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ)
//! across customers, independent of the purchase process.

use crate::error::ModelError;
use crate::optimize::{self, FitOptions, LogLikelihood};
use crate::special::{digamma, ln_gamma};

/// One repeat buyer: x > 0 repeat transactions of mean value m > 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendSummary {
    /// Number of repeat transactions x (> 0).
    pub frequency: f64,
    /// Mean value m̄ of the repeat transactions (> 0).
    pub monetary: f64,
}

impl SpendSummary {
    /// Summary from (x, m̄) without checks.
    pub fn new(frequency: f64, monetary: f64) -> Self {
        Self {
            frequency,
            monetary,
        }
    }
}

/// Gamma-Gamma parameters p, q, γ, all positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaParams {
    /// Shape p of the per-transaction spend distribution.
    pub p: f64,
    /// Shape q of the Gamma mixing distribution of ν.
    pub q: f64,
    /// Scale γ of the Gamma mixing distribution of ν.
    pub gamma: f64,
}

impl GammaGammaParams {
    /// Parameters checked to be finite and positive.
    pub fn new(p: f64, q: f64, gamma: f64) -> Result<Self, ModelError> {
        for (name, value) in [("p", p), ("q", q), ("gamma", gamma)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ModelError::InvalidParameter { name, value });
            }
        }
        Ok(Self { p, q, gamma })
    }

    fn from_slice(v: &[f64]) -> Self {
        Self {
            p: v[0],
            q: v[1],
            gamma: v[2],
        }
    }

    /// ln f(m̄ | p, q, γ, x) = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ
    /// + (px−1) ln m̄ + px ln x − (px+q) ln(γ + m̄x), note 025 eq. 3.
    pub fn log_likelihood_one(&self, s: &SpendSummary) -> f64 {
        let Self { p, q, gamma } = *self;
        let (x, m) = (s.frequency, s.monetary);
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * gamma.ln()
            + (px - 1.0) * m.ln()
            + px * x.ln()
            - (px + q) * (gamma + m * x).ln()
    }

    /// Weighted log-likelihood.
    pub fn log_likelihood(&self, rows: &[(SpendSummary, f64)]) -> f64 {
        rows.iter()
            .map(|(s, w)| w * self.log_likelihood_one(s))
            .sum()
    }

    /// E[M | p, q, γ, m̄, x] = p(γ + m̄x) / (px + q − 1), the expected mean
    /// transaction value of a customer with x repeat transactions of mean m̄
    /// (note 025 eq. 5; for x = 0 it is the population mean pγ/(q−1)).
    /// Infinite when q ≤ 1 and x = 0.
    pub fn expected_average_spend(&self, x: f64, m: f64) -> f64 {
        let Self { p, q, gamma } = *self;
        let denominator = p * x + q - 1.0;
        if denominator <= 0.0 {
            return f64::INFINITY;
        }
        p * (gamma + m * x) / denominator
    }
}

/// Unfitted Gamma-Gamma model: call [`GammaGamma::fit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct GammaGamma;

/// Gamma-Gamma fitted by maximum likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedGammaGamma {
    /// Maximum-likelihood parameters.
    pub params: GammaGammaParams,
    /// Log-likelihood of the data at `params` (without the penalty).
    pub log_likelihood: f64,
    /// Standard errors from the inverse Hessian of the negative
    /// log-likelihood in natural parameters; `None` when not positive definite
    /// or when [`FitOptions::standard_errors`] is false.
    pub standard_errors: Option<GammaGammaParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl GammaGamma {
    /// Fits p, q, γ by maximum likelihood over log-parameters on weighted
    /// repeat buyers (x > 0, m̄ > 0); on more than 100,000 rows, starting
    /// from the fit of an evenly spread sample of them.
    pub fn fit(
        rows: &[(SpendSummary, f64)],
        options: &FitOptions,
    ) -> Result<FittedGammaGamma, ModelError> {
        let mut total = 0.0;
        for (index, (s, w)) in rows.iter().enumerate() {
            let ok = s.frequency.is_finite()
                && s.frequency > 0.0
                && s.monetary.is_finite()
                && s.monetary > 0.0;
            if !ok {
                return Err(ModelError::InvalidInput {
                    index,
                    reason: "frequency and monetary value must be finite and positive",
                });
            }
            if !(w.is_finite() && *w >= 0.0) {
                return Err(ModelError::InvalidInput {
                    index,
                    reason: "weight must be finite and non-negative",
                });
            }
            total += w;
        }
        if total <= 0.0 {
            return Err(ModelError::EmptyInput);
        }
        // Start where the population mean spend pγ/(q−1) equals the data's
        // mean (p = 1, q = 2, γ = mean m̄): the scale of γ follows the money
        // unit (cents or yen give γ in the thousands), and a start three
        // orders of magnitude off costs BFGS many iterations.
        let mean_m = rows.iter().map(|(s, w)| w * s.monetary).sum::<f64>() / total;
        let estimate = optimize::estimate_warm(
            rows,
            &[1.0, 2.0, mean_m],
            options,
            |rows, start, h0, options| {
                let prepared = Prepared::new(rows);
                let value = |theta: &[f64]| prepared.log_likelihood(theta, None);
                let gradient =
                    |theta: &[f64], g: &mut [f64]| prepared.log_likelihood(theta, Some(g));
                let ll = LogLikelihood {
                    names: &["p", "q", "gamma"],
                    total_weight: rows.iter().map(|(_, w)| w).sum(),
                    value: &value,
                    gradient: Some(&gradient),
                };
                optimize::maximize_likelihood_from(&ll, start, h0, options)
            },
        )?;
        Ok(FittedGammaGamma {
            params: GammaGammaParams::from_slice(&estimate.theta),
            log_likelihood: estimate.log_likelihood,
            standard_errors: estimate
                .standard_errors
                .map(|se| GammaGammaParams::from_slice(&se)),
            iterations: estimate.iterations,
        })
    }
}

/// Rows prepared once per fit, so that an evaluation costs one logarithm
/// per row: the terms of x alone are summed per distinct x, those of m̄
/// alone once and for all, and only (px+q) ln(γ + m̄x) is left per row.
struct Prepared {
    /// Distinct x with their total weight.
    groups: Vec<(f64, f64)>,
    /// Σw, Σw m̄, Σw ln m̄, Σw x ln m̄, Σw x ln x.
    weight: f64,
    w_m: f64,
    w_ln_m: f64,
    w_x_ln_m: f64,
    w_x_ln_x: f64,
    /// (x, m̄, w) of every row.
    rows: Vec<(f64, f64, f64)>,
}

/// Per-row sums of one evaluation: Σw ln(γ+m̄x) · (x, 1) and
/// Σw/(γ+m̄x) · (x, 1).
#[derive(Clone, Copy, Default)]
struct RowSums {
    x_ln: f64,
    ln: f64,
    x_inv: f64,
    inv: f64,
}

impl Prepared {
    fn new(rows: &[(SpendSummary, f64)]) -> Prepared {
        let mut by_x: Vec<(f64, f64)> = rows.iter().map(|(s, w)| (s.frequency, *w)).collect();
        by_x.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut groups: Vec<(f64, f64)> = Vec::new();
        for (x, w) in by_x {
            match groups.last_mut() {
                Some((gx, gw)) if *gx == x => *gw += w,
                _ => groups.push((x, w)),
            }
        }
        let mut p = Prepared {
            groups,
            weight: 0.0,
            w_m: 0.0,
            w_ln_m: 0.0,
            w_x_ln_m: 0.0,
            w_x_ln_x: 0.0,
            rows: Vec::with_capacity(rows.len()),
        };
        for (s, w) in rows {
            let (x, m) = (s.frequency, s.monetary);
            p.weight += w;
            p.w_m += w * m;
            p.w_ln_m += w * m.ln();
            p.w_x_ln_m += w * x * m.ln();
            p.w_x_ln_x += w * x * x.ln();
            p.rows.push((x, m, *w));
        }
        p
    }

    /// Σw ln f(m̄ | p, q, γ, x) (note 025 eq. 3); with `gradient`, also
    /// ∂/∂(p, q, γ):
    /// - ∂p: Σw x [ψ(px+q) − ψ(px) + ln m̄ + ln x − ln(γ+m̄x)]
    /// - ∂q: Σw [ψ(px+q) − ψ(q) + ln γ − ln(γ+m̄x)]
    /// - ∂γ: Σw [q/γ − (px+q)/(γ+m̄x)]
    fn log_likelihood(&self, theta: &[f64], gradient: Option<&mut [f64]>) -> f64 {
        let (p, q, gamma) = (theta[0], theta[1], theta[2]);
        let want_gradient = gradient.is_some();
        let rows = crate::parallel::chunked_sum(
            &self.rows,
            |chunk| {
                let mut s = RowSums::default();
                for &(x, m, w) in chunk {
                    let d = gamma + m * x;
                    let l = d.ln();
                    s.x_ln += w * x * l;
                    s.ln += w * l;
                    if want_gradient {
                        s.x_inv += w * x / d;
                        s.inv += w / d;
                    }
                }
                s
            },
            |a, b| RowSums {
                x_ln: a.x_ln + b.x_ln,
                ln: a.ln + b.ln,
                x_inv: a.x_inv + b.x_inv,
                inv: a.inv + b.inv,
            },
        );
        let mut per_x = 0.0;
        let (mut dp_x, mut dq_x) = (0.0, 0.0);
        for &(x, w) in &self.groups {
            let px = p * x;
            per_x += w * (ln_gamma(px + q) - ln_gamma(px));
            if want_gradient {
                let psi_pxq = digamma(px + q);
                dp_x += w * x * (psi_pxq - digamma(px));
                dq_x += w * psi_pxq;
            }
        }
        let ln_gamma_param = gamma.ln();
        let value = per_x - self.weight * ln_gamma(q)
            + self.weight * q * ln_gamma_param
            + p * self.w_x_ln_m
            - self.w_ln_m
            + p * self.w_x_ln_x
            - (p * rows.x_ln + q * rows.ln);
        if let Some(g) = gradient {
            g[0] = dp_x + self.w_x_ln_m + self.w_x_ln_x - rows.x_ln;
            g[1] = dq_x - self.weight * digamma(q) + self.weight * ln_gamma_param - rows.ln;
            g[2] = self.weight * q / gamma - (p * rows.x_inv + q * rows.inv);
        }
        value
    }
}

impl FittedGammaGamma {
    /// See [`GammaGammaParams::expected_average_spend`].
    pub fn expected_average_spend(&self, x: f64, m: f64) -> f64 {
        self.params.expected_average_spend(x, m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-12;

    #[test]
    fn expected_spend_is_weighted_mean() {
        let g = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
        let population = g.p * g.gamma / (g.q - 1.0);
        assert!((g.expected_average_spend(0.0, 100.0) - population).abs() < TOLERANCE);
        // Weight on the customer's own mean px/(px+q−1).
        let (x, m) = (3.0, 50.0);
        let w = g.p * x / (g.p * x + g.q - 1.0);
        let expected = (1.0 - w) * population + w * m;
        assert!((g.expected_average_spend(x, m) - expected).abs() < 1e-10);
    }

    #[test]
    fn prepared_likelihood_and_gradient_match_the_plain_sum() {
        let rows: Vec<(SpendSummary, f64)> = (1..200)
            .map(|i| {
                let x = f64::from(i % 7 + 1);
                (
                    SpendSummary::new(x, 5.0 + f64::from(i) * 0.37),
                    f64::from(i % 3 + 1),
                )
            })
            .collect();
        let prepared = Prepared::new(&rows);
        for theta in [[6.25, 3.74, 15.44], [0.5, 1.2, 300.0], [40.0, 0.3, 0.01]] {
            let plain = GammaGammaParams::from_slice(&theta).log_likelihood(&rows);
            let mut g = [0.0; 3];
            let fast = prepared.log_likelihood(&theta, Some(&mut g));
            assert!(
                (plain - fast).abs() <= 1e-9 * plain.abs(),
                "{theta:?}: {plain} vs {fast}"
            );
            for i in 0..3 {
                let h = 1e-6 * theta[i];
                let (mut up, mut down) = (theta, theta);
                up[i] += h;
                down[i] -= h;
                let numeric = (prepared.log_likelihood(&up, None)
                    - prepared.log_likelihood(&down, None))
                    / (2.0 * h);
                assert!(
                    (numeric - g[i]).abs() <= 1e-5 * numeric.abs().max(1.0),
                    "{theta:?} d{i}: {numeric} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn rejects_bad_rows() {
        let rows = [(SpendSummary::new(0.0, 10.0), 1.0)];
        assert!(GammaGamma::fit(&rows, &FitOptions::default()).is_err());
        assert_eq!(
            GammaGamma::fit(&[], &FitOptions::default()),
            Err(ModelError::EmptyInput)
        );
    }
}
