//! A small BFGS minimiser with central-difference gradients and a
//! central-difference Hessian, enough for models with a handful of
//! parameters.

use crate::error::ModelError;

/// Relative step of the central-difference gradient.
const GRADIENT_STEP: f64 = 1e-6;
/// Relative step of the central-difference Hessian.
const HESSIAN_STEP: f64 = 1e-4;
/// Armijo sufficient-decrease constant of the backtracking line search.
const ARMIJO: f64 = 1e-4;
/// Most halvings of the step in one line search.
const MAX_HALVINGS: usize = 60;

/// Settings shared by every model's maximum-likelihood fit.
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
    pub l2_penalty: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            max_iterations: 1000,
            gradient_tolerance: 1e-6,
            l2_penalty: 0.0,
        }
    }
}

/// Where the minimiser stopped.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Minimum {
    pub x: Vec<f64>,
    pub value: f64,
    pub iterations: usize,
}

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

/// Minimises `f` from `x0` by BFGS with a backtracking line search.
pub(crate) fn minimize(
    f: &dyn Fn(&[f64]) -> f64,
    x0: &[f64],
    options: &FitOptions,
) -> Result<Minimum, ModelError> {
    let n = x0.len();
    let identity = |n: usize| -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
            .collect()
    };
    let mut x = x0.to_vec();
    let mut fx = f(&x);
    let mut g = gradient(f, &x);
    let mut h = identity(n);
    let mut just_reset = true;
    for iteration in 0..options.max_iterations {
        let gnorm = norm_inf(&g);
        if !fx.is_finite() || !gnorm.is_finite() {
            return Err(ModelError::NoConvergence {
                iterations: iteration,
                gradient_norm: gnorm,
            });
        }
        if gnorm <= options.gradient_tolerance {
            return Ok(Minimum {
                x,
                value: fx,
                iterations: iteration,
            });
        }
        let mut p: Vec<f64> = (0..n).map(|i| -dot(&h[i], &g)).collect();
        let mut slope = dot(&p, &g);
        if slope >= 0.0 {
            h = identity(n);
            p = g.iter().map(|v| -v).collect();
            slope = dot(&p, &g);
        }
        // Keep the first trial step modest in log space.
        let pmax = norm_inf(&p);
        let mut step = if pmax > 1.0 { 1.0 / pmax } else { 1.0 };
        let mut accepted = None;
        for _ in 0..MAX_HALVINGS {
            let trial: Vec<f64> = x.iter().zip(&p).map(|(xi, pi)| xi + step * pi).collect();
            let ft = f(&trial);
            if ft.is_finite() && ft <= fx + ARMIJO * step * slope {
                accepted = Some((trial, ft));
                break;
            }
            step *= 0.5;
        }
        let Some((x_new, f_new)) = accepted else {
            if just_reset {
                return Err(ModelError::NoConvergence {
                    iterations: iteration,
                    gradient_norm: gnorm,
                });
            }
            h = identity(n);
            just_reset = true;
            continue;
        };
        just_reset = false;
        let g_new = gradient(f, &x_new);
        let s: Vec<f64> = x_new.iter().zip(&x).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
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
        x = x_new;
        fx = f_new;
        g = g_new;
    }
    Err(ModelError::NoConvergence {
        iterations: options.max_iterations,
        gradient_norm: norm_inf(&g),
    })
}

/// Central-difference Hessian of `f` at `x`.
pub(crate) fn hessian(f: &dyn Fn(&[f64]) -> f64, x: &[f64]) -> Vec<Vec<f64>> {
    let n = x.len();
    let steps: Vec<f64> = x.iter().map(|v| HESSIAN_STEP * v.abs().max(1e-3)).collect();
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

/// Inverse of a symmetric positive-definite matrix by Gauss–Jordan
/// elimination; `None` when it is singular or not positive definite.
pub(crate) fn invert_spd(m: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = m.len();
    let mut a: Vec<Vec<f64>> = m.to_vec();
    let mut inv: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-5;

    #[test]
    fn minimizes_rosenbrock() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimize(&f, &[-1.2, 1.0], &FitOptions::default()).unwrap();
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
        assert!(matches!(
            minimize(&f, &[0.0], &options),
            Err(ModelError::NoConvergence { .. })
        ));
    }
}
