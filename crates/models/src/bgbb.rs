//! BG/BB model for discrete transaction opportunities: Fader, Hardie and
//! Shang (2010), "Customer-base analysis in a discrete-time noncontractual
//! setting", Marketing Science 29(6).
//!
//! At each opportunity (a yearly donation drive, a weekly event) an alive
//! customer transacts with probability p ~ Beta(α, β); at the start of
//! each opportunity after the first they drop out with probability
//! θ ~ Beta(γ, δ).

use crate::error::ModelError;
use crate::optimize::{self, FitOptions, LogLikelihood};
use crate::special::{interpolate_across, ln_beta, ln_gamma_ratio, log_sum_exp};

/// Horizons up to this many opportunities are summed term by term in
/// [`BgBbParams::expected_transactions`]; longer ones use the telescoped
/// closed form of FHS (2010).
const DIRECT_SUM_MAX: u32 = 1000;
/// Distance from γ = 1 within which the closed form (which divides by
/// γ − 1) is interpolated across that removable singularity.
const GAMMA_ONE_GAP: f64 = 1e-4;

/// One customer's history over n opportunities: x transactions, the last
/// at opportunity t_x (0 when x = 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BgBbSummary {
    /// Number of transactions x (repeat transactions, after the first).
    pub frequency: u32,
    /// Opportunity of the last transaction t_x, 0 when x = 0.
    pub recency: u32,
    /// Number of opportunities n in the calibration period.
    pub n_periods: u32,
}

impl BgBbSummary {
    /// Summary from (x, t_x, n) without checks; see [`BgBbSummary::validate`].
    pub fn new(frequency: u32, recency: u32, n_periods: u32) -> Self {
        Self {
            frequency,
            recency,
            n_periods,
        }
    }

    /// Checks x ≤ t_x ≤ n, and t_x = 0 exactly when x = 0.
    pub fn validate(&self) -> Result<(), &'static str> {
        let Self {
            frequency: x,
            recency: t_x,
            n_periods: n,
        } = *self;
        if t_x > n {
            return Err("recency must not exceed the number of periods");
        }
        if x > t_x || (x == 0) != (t_x == 0) {
            return Err("frequency must lie in [1, recency] (or both be 0)");
        }
        Ok(())
    }
}

/// BG/BB parameters: (α, β) of the transaction probability and (γ, δ) of
/// the dropout probability, all positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgBbParams {
    /// First shape α of the Beta transaction-probability distribution.
    pub alpha: f64,
    /// Second shape β of the Beta transaction-probability distribution.
    pub beta: f64,
    /// First shape γ of the Beta dropout-probability distribution.
    pub gamma: f64,
    /// Second shape δ of the Beta dropout-probability distribution.
    pub delta: f64,
}

impl BgBbParams {
    /// Parameters checked to be finite and positive.
    pub fn new(alpha: f64, beta: f64, gamma: f64, delta: f64) -> Result<Self, ModelError> {
        for (name, value) in [
            ("alpha", alpha),
            ("beta", beta),
            ("gamma", gamma),
            ("delta", delta),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(ModelError::InvalidParameter { name, value });
            }
        }
        Ok(Self {
            alpha,
            beta,
            gamma,
            delta,
        })
    }

    fn from_slice(v: &[f64]) -> Self {
        Self {
            alpha: v[0],
            beta: v[1],
            gamma: v[2],
            delta: v[3],
        }
    }

    /// ln L(α, β, γ, δ | x, t_x, n) (FHS 2010):
    /// B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
    /// + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ).
    ///
    /// The sum's terms shrink, each the previous times
    /// (β+t_x−x+i)/(α+β+t_x+i) · (δ+t_x+i)/(γ+δ+t_x+i+1), so it is taken
    /// relative to its first term: two log-betas per customer, not 2n.
    pub fn log_likelihood_one(&self, c: &BgBbSummary) -> f64 {
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, t_x, n) = (
            f64::from(c.frequency),
            f64::from(c.recency),
            f64::from(c.n_periods),
        );
        let norm = ln_beta(alpha, beta) + ln_beta(gamma, delta);
        let alive = ln_beta(alpha + x, beta + n - x) + ln_beta(gamma, delta + n) - norm;
        let terms = c.n_periods - c.recency;
        if terms == 0 {
            return alive;
        }
        let first = ln_beta(alpha + x, beta + t_x - x) + ln_beta(gamma + 1.0, delta + t_x) - norm;
        let (mut term, mut sum) = (1.0, 1.0);
        for i in 0..terms - 1 {
            let i = f64::from(i);
            term *= (beta + t_x - x + i) / (alpha + beta + t_x + i) * (delta + t_x + i)
                / (gamma + delta + t_x + i + 1.0);
            sum += term;
        }
        log_sum_exp(alive, first + sum.ln())
    }

    /// Weighted log-likelihood of rows.
    pub fn log_likelihood(&self, rows: &[(BgBbSummary, f64)]) -> f64 {
        rows.iter()
            .map(|(c, w)| w * self.log_likelihood_one(c))
            .sum()
    }

    /// P(alive at opportunity n + 1 | x, t_x, n) (FHS 2010):
    /// B(α+x, β+n−x)/B(α,β) · B(γ, δ+n+1)/B(γ,δ) / L.
    pub fn p_alive(&self, c: &BgBbSummary) -> f64 {
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (x, n) = (f64::from(c.frequency), f64::from(c.n_periods));
        let ln_alive = ln_beta(alpha + x, beta + n - x) - ln_beta(alpha, beta)
            + ln_beta(gamma, delta + n + 1.0)
            - ln_beta(gamma, delta);
        (ln_alive - self.log_likelihood_one(c)).exp().min(1.0)
    }

    /// E[X(n, n+n*) | x, t_x, n], expected transactions in the next
    /// `n_star` opportunities (FHS 2010):
    /// B(α+x+1, β+n−x)/B(α,β) / L · Σ_{m=n+1}^{n+n*} B(γ, δ+m)/B(γ,δ)
    /// (the paper's δ/(γ−1) Γ… form is this sum telescoped).
    pub fn expected_transactions(&self, n_star: u32, c: &BgBbSummary) -> f64 {
        if n_star == 0 {
            return 0.0;
        }
        let Self { alpha, beta, .. } = *self;
        let (x, n) = (f64::from(c.frequency), f64::from(c.n_periods));
        let ln_rate = ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta);
        (ln_rate - self.log_likelihood_one(c)).exp() * self.survival_sum(c.n_periods, n_star)
    }

    /// E[X(n)], expected transactions in the first n opportunities of a
    /// new customer (FHS 2010): α/(α+β) · Σ_{m=1}^{n} B(γ, δ+m)/B(γ,δ).
    pub fn expected_transactions_new(&self, n: u32) -> f64 {
        self.alpha / (self.alpha + self.beta) * self.survival_sum(0, n)
    }

    /// Σ_{m=n+1}^{n+n*} S(m), S(m) = B(γ, δ+m)/B(γ,δ) the probability of
    /// being alive at opportunity m.
    fn survival_sum(&self, n: u32, n_star: u32) -> f64 {
        let Self { gamma, delta, .. } = *self;
        if n_star <= DIRECT_SUM_MAX {
            let first = f64::from(n) + 1.0;
            let mut s = (ln_beta(gamma, delta + first) - ln_beta(gamma, delta)).exp();
            let mut sum = s;
            for k in 1..n_star {
                let m = first + f64::from(k - 1);
                s *= (delta + m) / (gamma + delta + m);
                sum += s;
            }
            return sum;
        }
        interpolate_across(gamma, 1.0, GAMMA_ONE_GAP, |g| {
            telescoped_survival_sum(g, delta, f64::from(n), f64::from(n_star))
        })
    }
}

/// Σ_{m=n+1}^{n+n*} B(γ, δ+m)/B(γ,δ) = Γ(γ+δ)/Γ(δ) · (f(n) − f(n+n*))/(γ−1)
/// with f(m) = Γ(δ+m+1)/Γ(γ+δ+m); each ln f pairs Gamma functions whose
/// arguments differ by 1 − γ, which keeps its rounding error small.
fn telescoped_survival_sum(gamma: f64, delta: f64, n: f64, n_star: f64) -> f64 {
    let ln_f = |m: f64| ln_gamma_ratio(delta + m + 1.0, gamma + delta + m).0;
    let (lo, hi) = (ln_f(n), ln_f(n + n_star));
    let prefix = ln_gamma_ratio(gamma + delta, delta).0;
    // f(n) − f(n+n*) = f(n) · (−expm1(ln f(n+n*) − ln f(n))).
    (prefix + lo).exp() * -(hi - lo).exp_m1() / (gamma - 1.0)
}

/// Unfitted BG/BB model: call [`BgBb::fit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct BgBb;

/// BG/BB fitted by maximum likelihood.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedBgBb {
    /// Maximum-likelihood parameters.
    pub params: BgBbParams,
    /// Log-likelihood of the data at `params` (without penalties).
    pub log_likelihood: f64,
    /// Standard errors from the inverse Hessian of the negative
    /// log-likelihood; `None` when it is not positive definite or when
    /// [`FitOptions::standard_errors`] is false.
    pub standard_errors: Option<BgBbParams>,
    /// BFGS iterations used.
    pub iterations: usize,
}

impl BgBb {
    /// Fits α, β, γ, δ by maximum likelihood on weighted rows
    /// (summary, number of customers), over the log-parameters from all
    /// parameters = 1.
    pub fn fit(
        rows: &[(BgBbSummary, f64)],
        options: &FitOptions,
    ) -> Result<FittedBgBb, ModelError> {
        let mut total_weight = 0.0;
        for (index, (c, w)) in rows.iter().enumerate() {
            c.validate()
                .map_err(|reason| ModelError::InvalidInput { index, reason })?;
            if !(w.is_finite() && *w >= 0.0) {
                return Err(ModelError::InvalidInput {
                    index,
                    reason: "weight must be finite and non-negative",
                });
            }
            total_weight += w;
        }
        if total_weight <= 0.0 {
            return Err(ModelError::EmptyInput);
        }
        let value = |theta: &[f64]| BgBbParams::from_slice(theta).log_likelihood(rows);
        let ll = LogLikelihood {
            names: &["alpha", "beta", "gamma", "delta"],
            total_weight,
            value: &value,
            gradient: None,
        };
        let estimate = optimize::maximize_likelihood(&ll, &[1.0; 4], options)?;
        Ok(FittedBgBb {
            params: BgBbParams::from_slice(&estimate.theta),
            log_likelihood: estimate.log_likelihood,
            standard_errors: estimate
                .standard_errors
                .map(|se| BgBbParams::from_slice(&se)),
            iterations: estimate.iterations,
        })
    }
}

impl FittedBgBb {
    /// A fitted model from known parameters, without likelihood or
    /// standard errors.
    pub fn from_params(params: BgBbParams) -> Self {
        Self {
            params,
            log_likelihood: f64::NAN,
            standard_errors: None,
            iterations: 0,
        }
    }

    /// See [`BgBbParams::p_alive`].
    pub fn p_alive(&self, c: &BgBbSummary) -> f64 {
        self.params.p_alive(c)
    }

    /// See [`BgBbParams::expected_transactions`].
    pub fn expected_transactions(&self, n_star: u32, c: &BgBbSummary) -> f64 {
        self.params.expected_transactions(n_star, c)
    }

    /// See [`BgBbParams::expected_transactions_new`].
    pub fn expected_transactions_new(&self, n: u32) -> f64 {
        self.params.expected_transactions_new(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Agreement with the FHS (2010) formulas evaluated by mpmath 1.3.
    const MPMATH_TOLERANCE: f64 = 1e-12;

    fn published() -> BgBbParams {
        BgBbParams::new(1.204, 0.750, 0.657, 2.783).unwrap()
    }

    #[test]
    fn predictions_match_mpmath() {
        let p = published();
        // (x, t_x, n, P(alive), E[X(n, n+5)], E[X(n, n+10)]) by mpmath.
        let table = [
            (
                0,
                0,
                6,
                0.108_016_584_168_674,
                0.072_802_877_475_043,
                0.130_103_791_412_849,
            ),
            (
                3,
                4,
                6,
                0.439_462_857_055_756,
                1.034_228_498_421_1,
                1.848_238_057_320_32,
            ),
            (
                6,
                6,
                6,
                0.930_402_542_372_881,
                3.752_115_607_599_81,
                6.705_290_825_015_01,
            ),
            (
                2,
                6,
                6,
                0.930_402_542_372_881,
                1.668_764_354_074_1,
                2.982_197_640_664_41,
            ),
            (
                4,
                5,
                6,
                0.696_701_067_685_103,
                2.029_623_031_477_8,
                3.627_077_125_140_03,
            ),
        ];
        for (x, t_x, n, alive, e5, e10) in table {
            let c = BgBbSummary::new(x, t_x, n);
            assert!((p.p_alive(&c) - alive).abs() < MPMATH_TOLERANCE, "{c:?}");
            assert!(
                (p.expected_transactions(5, &c) - e5).abs() < MPMATH_TOLERANCE,
                "{c:?}"
            );
            assert!(
                (p.expected_transactions(10, &c) - e10).abs() < MPMATH_TOLERANCE,
                "{c:?}"
            );
        }
        let got = p.expected_transactions_new(10);
        assert!(
            (got - 3.178_854_326_492_29).abs() < MPMATH_TOLERANCE,
            "{got}"
        );
    }

    #[test]
    fn closed_form_sum_agrees_with_direct_sum() {
        for gamma in [0.657, 1.0, 1.00003, 2.5] {
            let p = BgBbParams::new(1.2, 0.75, gamma, 2.783).unwrap();
            let direct = p.survival_sum(6, DIRECT_SUM_MAX);
            let closed = interpolate_across(gamma, 1.0, GAMMA_ONE_GAP, |g| {
                telescoped_survival_sum(g, 2.783, 6.0, f64::from(DIRECT_SUM_MAX))
            });
            assert!(
                (direct - closed).abs() < 1e-9 * direct,
                "γ={gamma}: {direct} {closed}"
            );
        }
    }

    #[test]
    fn validates_rows() {
        assert!(BgBbSummary::new(0, 0, 6).validate().is_ok());
        assert!(BgBbSummary::new(2, 6, 6).validate().is_ok());
        assert!(BgBbSummary::new(3, 2, 6).validate().is_err());
        assert!(BgBbSummary::new(1, 7, 6).validate().is_err());
        assert!(BgBbSummary::new(0, 3, 6).validate().is_err());
        let rows = [(BgBbSummary::new(1, 0, 6), 1.0)];
        assert!(matches!(
            BgBb::fit(&rows, &FitOptions::default()),
            Err(ModelError::InvalidInput { index: 0, .. })
        ));
    }
}
