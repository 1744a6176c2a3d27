//! Gamma-Gamma spend model: Fader, Hardie and Lee (2005), "RFM and CLV:
//! using iso-value curves for customer base analysis"; Fader and Hardie
//! (2013), "The Gamma-Gamma model of monetary value" (note 025).
//!
//! A customer's transaction values are Gamma(p, ν) with ν ~ Gamma(q, γ)
//! across customers, independent of the purchase process.

use crate::error::ModelError;
use crate::optimize::{self, FitOptions, LogLikelihood};
use crate::special::ln_gamma;

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
    /// log-likelihood in natural parameters; `None` when not positive definite.
    pub standard_errors: Option<GammaGammaParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl GammaGamma {
    /// Fits p, q, γ by maximum likelihood over log-parameters on weighted
    /// repeat buyers (x > 0, m̄ > 0).
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
        let value = |theta: &[f64]| GammaGammaParams::from_slice(theta).log_likelihood(rows);
        let ll = LogLikelihood {
            names: &["p", "q", "gamma"],
            total_weight: total,
            value: &value,
            gradient: None,
        };
        let estimate = optimize::maximize_likelihood(&ll, &[1.0; 3], options)?;
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
    fn rejects_bad_rows() {
        let rows = [(SpendSummary::new(0.0, 10.0), 1.0)];
        assert!(GammaGamma::fit(&rows, &FitOptions::default()).is_err());
        assert_eq!(
            GammaGamma::fit(&[], &FitOptions::default()),
            Err(ModelError::EmptyInput)
        );
    }
}
