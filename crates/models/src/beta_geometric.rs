//! The computations BG/NBD and MBG/NBD share. Both mix a Poisson purchase
//! process (rate λ ~ Gamma(r, α)) with a coin of dropout probability
//! p ~ Beta(a, b) tossed after purchases; they differ only in whether the
//! coin is also tossed right at the first purchase:
//! - BG/NBD (Fader, Hardie, Lee 2005): after each repeat purchase only;
//! - MBG/NBD (Batislam, Denizel, Filiztekin 2007): also at the first, so a
//!   customer with no repeat purchase may already have dropped out.
//!
//! With `k` = 0 (BG) or 1 (MBG) the number of tosses survived by an alive
//! customer with x repeat purchases is x + k, which is all that changes in
//! the formulas below.

use crate::error::ModelError;
use crate::optimize::{self, Estimate, FitOptions, LogLikelihood};
use crate::special::{digamma, interpolate_across, ln_gamma, log_sum_exp};
use crate::summary::{check_rows, CustomerSummary};

/// Distance from a = 1 within which [`expected_purchases_alive`]
/// interpolates across the removable singularity of its 1/(a − 1) form.
const A_ONE_GAP: f64 = 1e-4;
/// |a + b − 1| below which [`expected_purchases_alive`] extrapolates from
/// a + b − 1 = gap and 2·gap: at exactly 0 the ₂F₁ has a pole cancelled by
/// the prefactor, anywhere else the formula is fine as written.
const C_ZERO_NUDGE: f64 = 1e-10;

/// Which beta-geometric/NBD model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    /// BG/NBD: dropout only after repeat purchases.
    Bg,
    /// MBG/NBD: dropout also right after the first purchase.
    Mbg,
}

impl Variant {
    /// Dropout tosses at and before the first purchase: 0 or 1.
    fn k(self) -> f64 {
        match self {
            Variant::Bg => 0.0,
            Variant::Mbg => 1.0,
        }
    }
}

/// ln of the odds of having dropped out, ln[a/(b+x+k−1) ((α+T)/(α+t_x))^(r+x)]
/// (−∞ when x + k = 0: a BG/NBD customer without repeat purchases cannot
/// have dropped out). P(alive) = 1/(1 + e^odds).
pub(crate) fn ln_dropout_odds(v: Variant, p: [f64; 4], c: &CustomerSummary) -> f64 {
    let [r, alpha, a, b] = p;
    let x = c.frequency;
    let tosses = x + v.k();
    if tosses > 0.0 {
        a.ln() - (b + tosses - 1.0).ln() + (r + x) * ((alpha + c.t).ln() - (alpha + c.recency).ln())
    } else {
        f64::NEG_INFINITY
    }
}

/// P(alive | x, t_x, T) = 1 / (1 + odds); never NaN (odds = ∞ gives 0).
pub(crate) fn p_alive(v: Variant, p: [f64; 4], c: &CustomerSummary) -> f64 {
    1.0 / (1.0 + ln_dropout_odds(v, p, c).exp())
}

/// ln L of one customer, with δ = [x + k > 0] (FHL 2005 eq. 6 for k = 0;
/// Batislam et al. 2007 for k = 1):
/// ln Γ(r+x) − ln Γ(r) + r ln α + ln B(a, b+x+k) − ln B(a, b)
/// + ln[(α+T)^−(r+x) + δ a/(b+x+k−1) (α+t_x)^−(r+x)].
pub(crate) fn log_likelihood_one(v: Variant, p: [f64; 4], c: &CustomerSummary) -> f64 {
    let [r, alpha, a, b] = p;
    let x = c.frequency;
    let tosses = x + v.k();
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_gamma(a + b) + ln_gamma(b + tosses) - ln_gamma(b) - ln_gamma(a + b + tosses);
    let a3 = -(r + x) * (alpha + c.t).ln();
    let a4 = if tosses > 0.0 {
        a.ln() - (b + tosses - 1.0).ln() - (r + x) * (alpha + c.recency).ln()
    } else {
        f64::NEG_INFINITY
    };
    a1 + a2 + log_sum_exp(a3, a4)
}

/// Terms of the log-likelihood and its gradient that depend on x only,
/// cached across consecutive rows with the same x (compressed rows are
/// sorted by x, so the gamma and digamma functions run once per distinct x).
struct PerFrequency {
    x: f64,
    /// ln Γ(r+x) + ln Γ(b+x+k) − ln Γ(a+b+x+k).
    ln_gammas: f64,
    /// ln(b+x+k−1), or NaN when x + k = 0.
    ln_b: f64,
    psi_rx: f64,
    psi_bx: f64,
    psi_abx: f64,
}

/// The maximum-likelihood estimate of (r, α, a, b) of `v` on `rows`,
/// over the log-parameters with the analytic gradient of
/// [`log_likelihood`], from `start` (with BFGS's inverse Hessian `h0`
/// when given): the fit shared by BG/NBD and MBG/NBD.
pub(crate) fn estimate(
    v: Variant,
    names: &'static [&'static str],
    rows: &[(CustomerSummary, f64)],
    start: &[f64],
    h0: Option<&[Vec<f64>]>,
    options: &FitOptions,
) -> Result<Estimate, ModelError> {
    let total_weight = check_rows(rows)?;
    let params = |theta: &[f64]| -> [f64; 4] { [theta[0], theta[1], theta[2], theta[3]] };
    let value = |theta: &[f64]| log_likelihood(v, params(theta), rows, None);
    let gradient = |theta: &[f64], g: &mut [f64]| log_likelihood(v, params(theta), rows, Some(g));
    let ll = LogLikelihood {
        names,
        total_weight,
        value: &value,
        gradient: Some(&gradient),
    };
    optimize::maximize_likelihood_from(&ll, start, h0, options)
}

/// Weighted log-likelihood Σ w ln L of `rows`; when `gradient` is given it
/// receives ∂/∂(r, α, a, b), analytic:
/// - ∂r: ψ(r+x) − ψ(r) + ln α − w₃ ln(α+T) − w₄ ln(α+t_x)
/// - ∂α: r/α − (r+x) (w₃/(α+T) + w₄/(α+t_x))
/// - ∂a: ψ(a+b) − ψ(a+b+x+k) + w₄/a
/// - ∂b: ψ(a+b) + ψ(b+x+k) − ψ(b) − ψ(a+b+x+k) − w₄/(b+x+k−1)
///
/// where w₃ + w₄ = 1 are the shares of the two terms of the last bracket.
pub(crate) fn log_likelihood(
    v: Variant,
    p: [f64; 4],
    rows: &[(CustomerSummary, f64)],
    gradient: Option<&mut [f64]>,
) -> f64 {
    let [r, alpha, a, b] = p;
    let want_gradient = gradient.is_some();
    let ln_alpha = alpha.ln();
    let base = -ln_gamma(r) + r * ln_alpha + ln_gamma(a + b) - ln_gamma(b);
    let sums = crate::parallel::chunked_sum(
        rows,
        |chunk| partial_sums(v, p, chunk, want_gradient),
        |a, b| Sums {
            total: a.total + b.total,
            weight: a.weight + b.weight,
            gradient: std::array::from_fn(|i| a.gradient[i] + b.gradient[i]),
        },
    );
    if let Some(out) = gradient {
        let psi_ab = digamma(a + b);
        out[0] = sums.gradient[0] + sums.weight * (-digamma(r) + ln_alpha);
        out[1] = sums.gradient[1] + sums.weight * r / alpha;
        out[2] = sums.gradient[2] + sums.weight * psi_ab;
        out[3] = sums.gradient[3] + sums.weight * (psi_ab - digamma(b));
    }
    sums.total + sums.weight * base
}

/// Row sums of the log-likelihood: Σ w·(row terms), Σ w, and the row parts
/// of the gradient.
#[derive(Debug, Clone, Copy, Default)]
struct Sums {
    total: f64,
    weight: f64,
    gradient: [f64; 4],
}

/// The per-row part of [`log_likelihood`] over one chunk.
///
/// The bracket ln(e^{A₃} + e^{A₄}) is A₃ + ln(1 + e^{A₄−A₃}) (or the same
/// from A₄ when it is the larger), and the shares w₃, w₄ of its two terms
/// follow from the same exponential: one `exp` and one `ln_1p` per row
/// besides the two logarithms of α + T and α + t_x.
fn partial_sums(
    v: Variant,
    p: [f64; 4],
    rows: &[(CustomerSummary, f64)],
    want_gradient: bool,
) -> Sums {
    let [r, alpha, a, b] = p;
    let k = v.k();
    let ln_a = a.ln();
    let mut cache: Option<PerFrequency> = None;
    let mut s = Sums::default();
    for (c, w) in rows {
        let x = c.frequency;
        let fresh = match &cache {
            Some(cached) => cached.x != x,
            None => true,
        };
        if fresh {
            let tosses = x + k;
            let psi = |y: f64| if want_gradient { digamma(y) } else { 0.0 };
            cache = Some(PerFrequency {
                x,
                ln_gammas: ln_gamma(r + x) + ln_gamma(b + tosses) - ln_gamma(a + b + tosses),
                ln_b: if tosses > 0.0 {
                    (b + tosses - 1.0).ln()
                } else {
                    f64::NAN
                },
                psi_rx: psi(r + x),
                psi_bx: psi(b + tosses),
                psi_abx: psi(a + b + tosses),
            });
        }
        let Some(f) = &cache else { unreachable!() };
        let l3 = (alpha + c.t).ln();
        let a3 = -(r + x) * l3;
        let has_dropout_term = x + k > 0.0;
        let (l4, lse, w3, w4) = if has_dropout_term {
            let l4 = (alpha + c.recency).ln();
            let a4 = ln_a - f.ln_b - (r + x) * l4;
            let (hi, d) = if a3 >= a4 {
                (a3, a4 - a3)
            } else {
                (a4, a3 - a4)
            };
            let e = d.exp(); // in (0, 1]
            let share_lo = e / (1.0 + e);
            let (w3, w4) = if a3 >= a4 {
                (1.0 - share_lo, share_lo)
            } else {
                (share_lo, 1.0 - share_lo)
            };
            (l4, hi + e.ln_1p(), w3, w4)
        } else {
            (0.0, a3, 1.0, 0.0)
        };
        s.total += w * (f.ln_gammas + lse);
        s.weight += w;
        if want_gradient {
            let g = &mut s.gradient;
            g[0] += w * (f.psi_rx - w3 * l3 - w4 * l4);
            g[1] += w * (-(r + x) * (w3 / (alpha + c.t) + w4 / (alpha + c.recency)));
            let dropout_b = if has_dropout_term {
                w4 / (b + x + k - 1.0)
            } else {
                0.0
            };
            g[2] += w * (-f.psi_abx + w4 / a);
            g[3] += w * (f.psi_bx - f.psi_abx - dropout_b);
        }
    }
    s
}

/// E[(1 − (1 + p t/A)^(−R)) / p] for p ~ Beta(a, b): the expected number of
/// purchases in the next t of a customer who is alive, buys at a rate
/// λ ~ Gamma(R, A) and drops out with probability p after each purchase
/// (for an alive customer λ and p have exactly these posteriors, with
/// R = r + x, A = α + T and b replaced by b + x + k).
///
/// Closed form (FHL 2005 eq. 10 without its P(alive) factor):
/// (a+b−1)/(a−1) · [1 − (A/(A+t))^R ₂F₁(R, b; a+b−1; z)], z = t/(A+t),
/// written with Euler's transformation as
/// (a+b−1)/(a−1) · [1 − (1−z)^(a−1) ₂F₁(a+b−1−R, a−1; a+b−1; z)],
/// whose series neither overflows for large R nor crawls as z → 1. The
/// form is 0/0 at a = 1 and has a cancelled pole at a + b = 1; both are
/// removable, and handled by interpolation across them.
pub(crate) fn expected_purchases_alive(a: f64, b: f64, big_r: f64, big_a: f64, t: f64) -> f64 {
    if t.is_nan() || t <= 0.0 {
        return 0.0;
    }
    interpolate_across(a, 1.0, A_ONE_GAP, |a| {
        let c = a + b - 1.0;
        if c.abs() < C_ZERO_NUDGE {
            // Linear extrapolation from c = gap and 2·gap (larger b, so the
            // Beta parameters stay valid).
            let at = |ci: f64| expected_alive_formula(a, ci + 1.0 - a, big_r, big_a, t);
            let (f1, f2) = (at(C_ZERO_NUDGE), at(2.0 * C_ZERO_NUDGE));
            return f1 + (c - C_ZERO_NUDGE) / C_ZERO_NUDGE * (f2 - f1);
        }
        expected_alive_formula(a, b, big_r, big_a, t)
    })
    .max(0.0)
}

fn expected_alive_formula(a: f64, b: f64, big_r: f64, big_a: f64, t: f64) -> f64 {
    let c = a + b - 1.0;
    let z = t / (big_a + t);
    let ln_one_minus_z = -(t / big_a).ln_1p();
    let f = crate::special::hyp2f1(c - big_r, a - 1.0, c, z);
    let bracket = 1.0 - ((a - 1.0) * ln_one_minus_z).exp() * f;
    c / (a - 1.0) * bracket
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Analytic and central-difference gradients agree to this relative
    /// precision (the differences' own error is about 1e-9).
    const GRADIENT_RELATIVE: f64 = 1e-6;

    fn rows() -> Vec<(CustomerSummary, f64)> {
        vec![
            (CustomerSummary::new(0.0, 0.0, 38.86), 1411.0),
            (CustomerSummary::new(1.0, 1.71, 38.86), 3.0),
            (CustomerSummary::new(2.0, 30.43, 38.86), 1.0),
            (CustomerSummary::new(2.0, 10.0, 30.0), 2.0),
            (CustomerSummary::new(7.0, 35.0, 38.0), 5.0),
            (CustomerSummary::new(500.0, 52.0, 52.0), 1.0),
        ]
    }

    #[test]
    fn analytic_gradient_matches_numeric() {
        for v in [Variant::Bg, Variant::Mbg] {
            for p in [
                [0.243, 4.414, 0.793, 2.426],
                [2.0, 0.5, 1.0, 0.3],
                [0.05, 50.0, 3.0, 10.0],
            ] {
                let rows = rows();
                let mut analytic = [0.0; 4];
                let value = log_likelihood(v, p, &rows, Some(&mut analytic));
                let plain = log_likelihood(v, p, &rows, None);
                let direct: f64 = rows
                    .iter()
                    .map(|(c, w)| w * log_likelihood_one(v, p, c))
                    .sum();
                assert!((value - plain).abs() < 1e-9 * plain.abs());
                assert!(
                    (value - direct).abs() < 1e-9 * direct.abs(),
                    "{value} {direct}"
                );
                for i in 0..4 {
                    let h = 1e-6 * p[i];
                    let (mut up, mut down) = (p, p);
                    up[i] += h;
                    down[i] -= h;
                    let numeric = (log_likelihood(v, up, &rows, None)
                        - log_likelihood(v, down, &rows, None))
                        / (2.0 * h);
                    assert!(
                        (analytic[i] - numeric).abs() <= GRADIENT_RELATIVE * numeric.abs().max(1.0),
                        "{v:?} {p:?} d{i}: analytic {} numeric {numeric}",
                        analytic[i]
                    );
                }
            }
        }
    }

    #[test]
    fn expectation_is_smooth_across_singularities() {
        // At a = 1 and at a + b = 1 the value equals the mean of its
        // neighbours (the function is smooth there) and is finite.
        let (r, big_a, t) = (0.5, 5.0, 20.0);
        let at_one = expected_purchases_alive(1.0, 2.0, r, big_a, t);
        let around = 0.5
            * (expected_purchases_alive(1.0 + 1e-3, 2.0, r, big_a, t)
                + expected_purchases_alive(1.0 - 1e-3, 2.0, r, big_a, t));
        assert!((at_one - around).abs() < 1e-6 * at_one, "{at_one} {around}");
        let at_zero_c = expected_purchases_alive(0.4, 0.6, r, big_a, t);
        let around = 0.5
            * (expected_purchases_alive(0.4, 0.6 + 1e-3, r, big_a, t)
                + expected_purchases_alive(0.4, 0.6 - 1e-3, r, big_a, t));
        assert!(
            (at_zero_c - around).abs() < 1e-6 * at_zero_c,
            "{at_zero_c} {around}"
        );
        // a = 1 exactly: E[1/p] − E[(1+pt/A)^(-R)/p] by quadrature-free
        // closed form for b = 1 (p uniform): ∫₀¹ (1 − (1+pt/A)^(−R))/p dp.
        let simpson = {
            let n = 20_000;
            let f = |p: f64| {
                if p == 0.0 {
                    r * t / big_a
                } else {
                    -(-r * (p * t / big_a).ln_1p()).exp_m1() / p
                }
            };
            let h = 1.0 / n as f64;
            (0..=n)
                .map(|i| {
                    let wgt = if i == 0 || i == n {
                        1.0
                    } else if i % 2 == 1 {
                        4.0
                    } else {
                        2.0
                    };
                    wgt * f(i as f64 * h)
                })
                .sum::<f64>()
                * h
                / 3.0
        };
        let got = expected_purchases_alive(1.0, 1.0, r, big_a, t);
        assert!((got - simpson).abs() < 1e-9, "{got} {simpson}");
    }
}
