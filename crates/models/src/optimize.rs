//! Maximum-likelihood fitting shared by every model: a small BFGS minimiser
//! over log-parameters (analytic or central-difference gradients), optional
//! L2 penalties, diagnostics on failure, and standard errors from the
//! Hessian of the log-likelihood.

use crate::error::ModelError;

/// Relative step of the central-difference gradient.
const GRADIENT_STEP: f64 = 1e-6;
/// Relative step (of each parameter) of the central-difference Hessian.
const HESSIAN_STEP: f64 = 1e-4;
/// Relative step of the Hessian taken as differences of analytic gradients:
/// one order of differencing fewer than [`HESSIAN_STEP`], so a smaller step.
const HESSIAN_GRADIENT_STEP: f64 = 1e-6;
/// Armijo sufficient-decrease constant of the backtracking line search.
const ARMIJO: f64 = 1e-4;
/// Relative decrease of the objective below which an iteration made no
/// real progress.
const STALLED_DECREASE: f64 = 1e-13;
/// Largest gradient (infinity norm of the per-customer objective in
/// log-parameters) at which a stalled minimisation counts as converged: the
/// parameters are then within about 1e-4 relative of the optimum.
const STALLED_GRADIENT: f64 = 1e-4;
/// Most halvings of the step in one line search.
const MAX_HALVINGS: usize = 60;

/// Settings shared by every model's maximum-likelihood fit.
///
/// Construct it with `..FitOptions::default()` so that fields added later
/// keep their defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// Most BFGS iterations before [`ModelError::NoConvergence`].
    pub max_iterations: usize,
    /// Convergence when the infinity norm of the gradient of the mean
    /// (per-customer) negative log-likelihood, in log-parameter space, is
    /// at most this.
    pub gradient_tolerance: f64,
    /// L2 penalty λ: the objective adds λ·Σθ² over the natural parameters θ
    /// to the mean negative log-likelihood (as lifetimes' `penalizer_coef`).
    /// It shrinks large parameters but cannot stop one from collapsing to 0.
    pub l2_penalty: f64,
    /// L2 penalty μ on the log-parameters: the objective adds μ·Σ(ln θ)²,
    /// which pulls every parameter towards 1 on a relative scale and keeps
    /// it away from both 0 and infinity. Use a small value (1e-4 … 1e-2) to
    /// stabilise fits on sparse or degenerate data; 0 (the default) gives
    /// the plain maximum-likelihood estimate.
    pub log_l2_penalty: f64,
    /// Whether to compute standard errors (a numerical Hessian: eight more
    /// passes over the rows for a four-parameter model). `false` leaves
    /// them `None`, for callers that use only the parameters.
    pub standard_errors: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            max_iterations: 1000,
            gradient_tolerance: 1e-6,
            l2_penalty: 0.0,
            log_l2_penalty: 0.0,
            standard_errors: true,
        }
    }
}

/// Where the minimiser stopped successfully.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
    pub gradient_norm: f64,
    /// BFGS's approximation of the inverse Hessian at `x`.
    pub inverse_hessian: Vec<Vec<f64>>,
}

/// Why and where the minimiser gave up.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    /// True when the objective or its gradient was not finite.
    pub non_finite: bool,
    pub x: Vec<f64>,
    pub iterations: usize,
    pub gradient_norm: f64,
}

/// Central-difference gradient of `f` at `x`.
pub(crate) fn gradient(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let mut xs = x.to_vec();
    (0..x.len())
        .map(|i| {
            let h = GRADIENT_STEP * x[i].abs().max(1.0);
            xs[i] = x[i] + h;
            let up = f(&xs);
            xs[i] = x[i] - h;
            let down = f(&xs);
            xs[i] = x[i];
            (up - down) / (2.0 * h)
        })
        .collect()
}

fn norm_inf(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, g| m.max(g.abs()))
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn identity(n: usize) -> Vec<Vec<f64>> {
    (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect()
}

/// Minimises `f` from `x0` by BFGS with central-difference gradients.
pub(crate) fn minimize(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    h0: Option<&[Vec<f64>]>,
    options: &FitOptions,
) -> Result<Minimum, Failure> {
    let fg = |x: &[f64], g: &mut [f64]| {
        g.copy_from_slice(&gradient(f, x));
        f(x)
    };
    minimize_with_gradient(&fg, x0, h0, options)
}

/// Minimises `fg` (value, writing the gradient into its second argument)
/// from `x0` by BFGS with a backtracking line search.
pub(crate) fn minimize_with_gradient(
    fg: &dyn Fn(&[f64], &mut [f64]) -> f64,
    x0: &[f64],
    h0: Option<&[Vec<f64>]>,
    options: &FitOptions,
) -> Result<Minimum, Failure> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut g = vec![0.0; n];
    let mut fx = fg(&x, &mut g);
    let mut h = match h0 {
        Some(h0) if h0.len() == n && h0.iter().all(|row| row.len() == n) => h0.to_vec(),
        _ => identity(n),
    };
    let mut just_reset = true;
    let mut trial_g = vec![0.0; n];
    let fail = |non_finite: bool, x: &[f64], iterations: usize, g: &[f64]| Failure {
        non_finite,
        x: x.to_vec(),
        iterations,
        gradient_norm: norm_inf(g),
    };
    for iteration in 0..options.max_iterations {
        let gnorm = norm_inf(&g);
        if !fx.is_finite() || !gnorm.is_finite() {
            return Err(fail(true, &x, iteration, &g));
        }
        if gnorm <= options.gradient_tolerance {
            return Ok(Minimum {
                x,
                value: fx,
                iterations: iteration,
                gradient_norm: gnorm,
                inverse_hessian: h,
            });
        }
        let mut p: Vec<f64> = (0..n).map(|i| -dot(&h[i], &g)).collect();
        let mut slope = dot(&p, &g);
        if slope >= 0.0 {
            h = identity(n);
            p = g.iter().map(|v| -v).collect();
            slope = dot(&p, &g);
        }
        // Keep the first trial step modest in log space: one unit is a
        // factor e in a parameter.
        let pmax = norm_inf(&p);
        let mut step = if pmax > 1.0 { 1.0 / pmax } else { 1.0 };
        let mut accepted = None;
        for _ in 0..MAX_HALVINGS {
            let trial: Vec<f64> = x.iter().zip(&p).map(|(xi, pi)| xi + step * pi).collect();
            let ft = fg(&trial, &mut trial_g);
            // A non-finite value or gradient means the step went too far.
            if ft.is_finite()
                && ft <= fx + ARMIJO * step * slope
                && trial_g.iter().all(|v| v.is_finite())
            {
                accepted = Some((trial, ft));
                break;
            }
            step *= 0.5;
        }
        let Some((x_new, f_new)) = accepted else {
            if just_reset {
                return Err(fail(false, &x, iteration, &g));
            }
            h = identity(n);
            just_reset = true;
            continue;
        };
        just_reset = false;
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = trial_g.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&s, &s).sqrt() * dot(&y, &y).sqrt() {
            // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
            let rho = 1.0 / sy;
            let hy: Vec<f64> = (0..n).map(|i| dot(&h[i], &y)).collect();
            let yhy = dot(&y, &hy);
            for i in 0..n {
                for j in 0..n {
                    h[i][j] += -rho * (hy[i] * s[j] + s[i] * hy[j])
                        + (rho * rho * yhy + rho) * s[i] * s[j];
                }
            }
        }
        let decrease = fx - f_new;
        x = x_new;
        fx = f_new;
        g.copy_from_slice(&trial_g);
        // On a long, flat ridge (Gamma-Gamma's p and q on a large data set)
        // BFGS can creep for hundreds of iterations whose gains are rounding
        // noise: stop there when the gradient is already small.
        let gnorm = norm_inf(&g);
        if decrease.abs() <= STALLED_DECREASE * (1.0 + fx.abs()) && gnorm <= STALLED_GRADIENT {
            return Ok(Minimum {
                x,
                value: fx,
                iterations: iteration + 1,
                gradient_norm: gnorm,
                inverse_hessian: h,
            });
        }
    }
    Err(fail(false, &x, options.max_iterations, &g))
}

/// Central-difference Hessian of `f` at `x`, with steps relative to each
/// coordinate (parameters are positive and may be tiny).
pub(crate) fn hessian(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let steps: Vec<f64> = x
        .iter()
        .map(|v| HESSIAN_STEP * v.abs().max(1e-300))
        .collect();
    let mut out = vec![vec![0.0; n]; n];
    let mut xs = x.to_vec();
    let mut eval = |di: (usize, f64), dj: (usize, f64)| {
        xs.copy_from_slice(x);
        xs[di.0] += di.1;
        xs[dj.0] += dj.1;
        f(&xs)
    };
    for i in 0..n {
        for j in i..n {
            let (hi, hj) = (steps[i], steps[j]);
            let v = (eval((i, hi), (j, hj)) - eval((i, hi), (j, -hj)) - eval((i, -hi), (j, hj))
                + eval((i, -hi), (j, -hj)))
                / (4.0 * hi * hj);
            out[i][j] = v;
            out[j][i] = v;
        }
    }
    out
}

/// Hessian as central differences of an analytic gradient, symmetrised.
fn hessian_from_gradient(grad: &dyn Fn(&[f64], &mut [f64]) -> f64, x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let mut out = vec![vec![0.0; n]; n];
    let mut xs = x.to_vec();
    let (mut up, mut down) = (vec![0.0; n], vec![0.0; n]);
    for j in 0..n {
        let h = HESSIAN_GRADIENT_STEP * x[j].abs().max(1e-300);
        xs[j] = x[j] + h;
        grad(&xs, &mut up);
        xs[j] = x[j] - h;
        grad(&xs, &mut down);
        xs[j] = x[j];
        for i in 0..n {
            out[i][j] = (up[i] - down[i]) / (2.0 * h);
        }
    }
    for i in 1..n {
        let (upper, lower) = out.split_at_mut(i);
        for (j, row) in upper.iter_mut().enumerate() {
            let v = 0.5 * (lower[0][j] + row[i]);
            lower[0][j] = v;
            row[i] = v;
        }
    }
    out
}

/// Inverse of a symmetric positive-definite matrix by Gauss–Jordan
/// elimination; `None` when it is singular or not positive definite.
pub(crate) fn invert_spd(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut a: Vec<Vec<f64>> = m.to_vec();
    let mut inv = identity(n);
    for col in 0..n {
        let pivot = a[col][col];
        if !(pivot.is_finite() && pivot > 0.0) {
            return None;
        }
        for j in 0..n {
            a[col][j] /= pivot;
            inv[col][j] /= pivot;
        }
        for row in 0..n {
            if row != col {
                let factor = a[row][col];
                for j in 0..n {
                    a[row][j] -= factor * a[col][j];
                    inv[row][j] -= factor * inv[col][j];
                }
            }
        }
    }
    Some(inv)
}

/// Total log-likelihood at θ, writing ∂LL/∂θ into the second argument.
pub(crate) type GradientFn<'a> = &'a dyn Fn(&[f64], &mut [f64]) -> f64;

/// A weighted log-likelihood over positive natural parameters θ.
pub(crate) struct LogLikelihood<'a> {
    /// Parameter names as in the paper, in the order of θ.
    pub names: &'static [&'static str],
    /// Sum of the row weights: the objective is the mean per customer, so
    /// the gradient tolerance does not depend on the size of the data.
    pub total_weight: f64,
    /// Total log-likelihood at θ.
    pub value: &'a dyn Fn(&[f64]) -> f64,
    /// Total log-likelihood at θ, writing ∂LL/∂θ into the second argument;
    /// `None` for central differences.
    pub gradient: Option<GradientFn<'a>>,
}

/// A maximum-likelihood estimate.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Estimate {
    pub theta: Vec<f64>,
    pub log_likelihood: f64,
    /// Square roots of the diagonal of the inverse of −∂²LL/∂θ², `None`
    /// when that matrix is not positive definite or was not asked for.
    pub standard_errors: Option<Vec<f64>>,
    pub iterations: usize,
    /// BFGS's inverse Hessian of the mean penalised objective in
    /// log-parameters, where it stopped: a warm start for a fit on more rows.
    pub inverse_hessian: Vec<Vec<f64>>,
}

/// Maximises `ll` over θ = exp(u) from `start` (natural parameters), with
/// the penalties of `options`; see [`FitOptions`].
pub(crate) fn maximize_likelihood(
    ll: &LogLikelihood,
    start: &[f64],
    options: &FitOptions,
) -> Result<Estimate, ModelError> {
    maximize_likelihood_from(ll, start, None, options)
}

/// Rows (distinct histories) above which [`estimate_warm`] first fits an
/// evenly spread sample of them.
pub(crate) const WARM_START_ROWS: usize = 100_000;

/// Rows in that sample.
const WARM_START_SAMPLE: usize = 20_000;

/// Every k-th of `rows` (its weight times k), about [`WARM_START_SAMPLE`]
/// of them, when there are more than [`WARM_START_ROWS`].
fn warm_start_sample<T: Clone>(rows: &[(T, f64)]) -> Option<Vec<(T, f64)>> {
    if rows.len() <= WARM_START_ROWS {
        return None;
    }
    let k = rows.len() / WARM_START_SAMPLE;
    Some(
        rows.iter()
            .step_by(k)
            .map(|(row, w)| (row.clone(), w * k as f64))
            .collect(),
    )
}

/// Runs `estimate(rows, start, inverse_hessian, options)` from `start`; on many
/// rows, from the optimum of a sample of them and BFGS's inverse Hessian
/// there instead. The objective is a mean per customer, so the sample's
/// optimum and curvature are close to the full data's, and the full fit,
/// which alone decides the result (same convergence test), takes a few
/// iterations instead of a couple of dozen. Falls back to `start` should
/// the warm start fail.
pub(crate) fn estimate_warm<T: Clone>(
    rows: &[(T, f64)],
    start: &[f64],
    options: &FitOptions,
    estimate: impl Fn(
        &[(T, f64)],
        &[f64],
        Option<&[Vec<f64>]>,
        &FitOptions,
    ) -> Result<Estimate, ModelError>,
) -> Result<Estimate, ModelError> {
    // The sample's fit is only a start: no standard errors for it.
    let sample_options = FitOptions {
        standard_errors: false,
        ..*options
    };
    let warm = warm_start_sample(rows)
        .and_then(|sample| estimate(&sample, start, None, &sample_options).ok())
        .and_then(|w| estimate(rows, &w.theta, Some(&w.inverse_hessian), options).ok());
    match warm {
        Some(e) => Ok(e),
        None => estimate(rows, start, None, options),
    }
}

/// Like [`maximize_likelihood`], BFGS starting with the inverse Hessian
/// `h0` (of the mean penalised objective in log-parameters) when given.
pub(crate) fn maximize_likelihood_from(
    ll: &LogLikelihood,
    start: &[f64],
    h0: Option<&[Vec<f64>]>,
    options: &FitOptions,
) -> Result<Estimate, ModelError> {
    let n = start.len();
    let w = ll.total_weight;
    let (lambda, mu) = (options.l2_penalty, options.log_l2_penalty);
    let penalty = |u: &[f64]| -> f64 {
        u.iter()
            .map(|ui| lambda * (2.0 * ui).exp() + mu * ui * ui)
            .sum()
    };
    let exp_all = |u: &[f64]| -> Vec<f64> { u.iter().map(|v| v.exp()).collect() };
    let u0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    let result = match ll.gradient {
        Some(grad) => {
            let fg = |u: &[f64], g: &mut [f64]| -> f64 {
                let theta = exp_all(u);
                let value = grad(&theta, g);
                for i in 0..n {
                    // d/du of −LL/W + λθ² + μu², with dθ/du = θ.
                    g[i] = theta[i] * (-g[i] / w + 2.0 * lambda * theta[i]) + 2.0 * mu * u[i];
                }
                -value / w + penalty(u)
            };
            minimize_with_gradient(&fg, &u0, h0, options)
        }
        None => {
            let f = |u: &[f64]| -(ll.value)(&exp_all(u)) / w + penalty(u);
            minimize(&f, &u0, h0, options)
        }
    };
    let diagnostics = |u: &[f64]| -> (f64, Vec<(&'static str, f64)>) {
        let theta = exp_all(u);
        let value = (ll.value)(&theta);
        (value, ll.names.iter().copied().zip(theta).collect())
    };
    let minimum = result.map_err(|failure| {
        let (log_likelihood, parameters) = diagnostics(&failure.x);
        if failure.non_finite {
            ModelError::NonFinite {
                iterations: failure.iterations,
                gradient_norm: failure.gradient_norm,
                log_likelihood,
                parameters,
            }
        } else {
            ModelError::NoConvergence {
                iterations: failure.iterations,
                gradient_norm: failure.gradient_norm,
                log_likelihood,
                parameters,
            }
        }
    })?;
    let theta = exp_all(&minimum.x);
    let log_likelihood = (ll.value)(&theta);
    if !log_likelihood.is_finite() || theta.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
        // A parameter ran off to 0 or infinity in floating point.
        let (log_likelihood, parameters) = diagnostics(&minimum.x);
        return Err(ModelError::NonFinite {
            iterations: minimum.iterations,
            gradient_norm: minimum.gradient_norm,
            log_likelihood,
            parameters,
        });
    }
    if !options.standard_errors {
        return Ok(Estimate {
            theta,
            log_likelihood,
            standard_errors: None,
            iterations: minimum.iterations,
            inverse_hessian: minimum.inverse_hessian,
        });
    }
    let information = match ll.gradient {
        Some(grad) => {
            let neg_grad = |theta: &[f64], g: &mut [f64]| {
                let v = grad(theta, g);
                g.iter_mut().for_each(|gi| *gi = -*gi);
                -v
            };
            hessian_from_gradient(&neg_grad, &theta)
        }
        None => hessian(&|p: &[f64]| -(ll.value)(p), &theta),
    };
    let standard_errors = invert_spd(&information)
        .map(|inv| (0..n).map(|i| inv[i][i].sqrt()).collect::<Vec<f64>>())
        .filter(|se| se.iter().all(|v| v.is_finite() && *v > 0.0));
    Ok(Estimate {
        theta,
        log_likelihood,
        standard_errors,
        iterations: minimum.iterations,
        inverse_hessian: minimum.inverse_hessian,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-5;

    #[test]
    fn minimizes_rosenbrock() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimize(&f, &[-1.2, 1.0], None, &FitOptions::default()).unwrap();
        assert!((m.x[0] - 1.0).abs() < TOLERANCE && (m.x[1] - 1.0).abs() < TOLERANCE);
    }

    #[test]
    fn hessian_and_inverse_of_quadratic() {
        let f = |x: &[f64]| 2.0 * x[0] * x[0] + x[0] * x[1] + x[1] * x[1];
        let h = hessian(&f, &[0.3, -0.2]);
        let inv = invert_spd(&h).unwrap();
        // [[4, 1], [1, 2]]⁻¹ = [[2, -1], [-1, 4]] / 7
        assert!((inv[0][0] - 2.0 / 7.0).abs() < TOLERANCE);
        assert!((inv[0][1] + 1.0 / 7.0).abs() < TOLERANCE);
        assert!((inv[1][1] - 4.0 / 7.0).abs() < TOLERANCE);
        assert!(invert_spd(&[vec![-1.0]]).is_none());
    }

    #[test]
    fn reports_no_convergence() {
        let f = |x: &[f64]| x[0];
        let options = FitOptions {
            max_iterations: 5,
            ..FitOptions::default()
        };
        let failure = minimize(&f, &[0.0], None, &options).unwrap_err();
        assert!(!failure.non_finite);
        assert_eq!(failure.iterations, 5);
        assert!((failure.gradient_norm - 1.0).abs() < TOLERANCE);
    }

    /// Poisson log-likelihood of counts with mean θ: the MLE is the sample
    /// mean and its standard error √(θ/n).
    fn poisson(counts: &[f64]) -> impl Fn(&[f64]) -> f64 + '_ {
        move |theta: &[f64]| counts.iter().map(|k| k * theta[0].ln() - theta[0]).sum()
    }

    #[test]
    fn likelihood_estimate_and_standard_error() {
        let counts = [2.0, 3.0, 0.0, 5.0, 4.0];
        let value = poisson(&counts);
        let gradient = |theta: &[f64], g: &mut [f64]| {
            g[0] = counts.iter().map(|k| k / theta[0] - 1.0).sum();
            value(theta)
        };
        for analytic in [false, true] {
            let ll = LogLikelihood {
                names: &["theta"],
                total_weight: counts.len() as f64,
                value: &value,
                gradient: if analytic { Some(&gradient) } else { None },
            };
            let est = maximize_likelihood(&ll, &[1.0], &FitOptions::default()).unwrap();
            assert!((est.theta[0] - 2.8).abs() < TOLERANCE, "{est:?}");
            let se = est.standard_errors.unwrap()[0];
            assert!((se - (2.8f64 / 5.0).sqrt()).abs() < TOLERANCE, "{se}");
            let without = FitOptions {
                standard_errors: false,
                ..FitOptions::default()
            };
            let bare = maximize_likelihood(&ll, &[1.0], &without).unwrap();
            assert_eq!(bare.theta, est.theta);
            assert_eq!(bare.standard_errors, None);
        }
    }

    #[test]
    fn log_penalty_pulls_towards_one() {
        let counts = [20.0, 30.0, 25.0];
        let value = poisson(&counts);
        let ll = LogLikelihood {
            names: &["theta"],
            total_weight: 3.0,
            value: &value,
            gradient: None,
        };
        let plain = maximize_likelihood(&ll, &[1.0], &FitOptions::default()).unwrap();
        let options = FitOptions {
            log_l2_penalty: 1.0,
            ..FitOptions::default()
        };
        let shrunk = maximize_likelihood(&ll, &[1.0], &options).unwrap();
        // Stationarity of −(25 ln θ − θ) + (ln θ)² in u = ln θ:
        // −25 + θ + 2u = 0.
        let u = shrunk.theta[0].ln();
        assert!((-25.0 + shrunk.theta[0] + 2.0 * u).abs() < 1e-4);
        assert!(shrunk.theta[0] < plain.theta[0] && shrunk.theta[0] > 1.0);
    }

    #[test]
    fn failures_carry_diagnostics() {
        // No maximum: the likelihood grows without bound as θ → ∞.
        let value = |theta: &[f64]| theta[0].ln();
        let ll = LogLikelihood {
            names: &["theta"],
            total_weight: 1.0,
            value: &value,
            gradient: None,
        };
        let options = FitOptions {
            max_iterations: 3,
            ..FitOptions::default()
        };
        match maximize_likelihood(&ll, &[1.0], &options) {
            Err(ModelError::NoConvergence {
                iterations,
                log_likelihood,
                parameters,
                ..
            }) => {
                assert_eq!(iterations, 3);
                assert_eq!(parameters[0].0, "theta");
                assert!((log_likelihood - parameters[0].1.ln()).abs() < 1e-12);
            }
            other => panic!("{other:?}"),
        }
        // A likelihood that is NaN everywhere is reported, never returned.
        let nan = |_: &[f64]| f64::NAN;
        let ll = LogLikelihood {
            names: &["theta"],
            total_weight: 1.0,
            value: &nan,
            gradient: None,
        };
        assert!(matches!(
            maximize_likelihood(&ll, &[1.0], &FitOptions::default()),
            Err(ModelError::NonFinite { iterations: 0, .. })
        ));
    }
}
