//! Special functions used by the models.

/// Relative size of a series term below which [`hyp2f1`] stops.
pub const HYP2F1_TOLERANCE: f64 = 1e-15;
/// Most terms [`hyp2f1`] sums before giving up on further precision.
pub const HYP2F1_MAX_TERMS: usize = 200_000;

/// Natural logarithm of the gamma function, ln |Γ(x)|.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ln(e^a + e^b) without overflow or underflow.
pub fn log_sum_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// Gauss hypergeometric function ₂F₁(a, b; c; z) by its power series,
/// Σ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ, for 0 ≤ z < 1.
///
/// The series converges for |z| < 1; it is slow when z is close to 1, so the
/// models first apply Euler's transformation to make the series' terms decay
/// fast. Returns NaN for z outside [0, 1) or c a non-positive integer.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if !(0.0..1.0).contains(&z) || (c <= 0.0 && c == c.floor()) {
        return f64::NAN;
    }
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..HYP2F1_MAX_TERMS {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term == 0.0 || term.abs() <= HYP2F1_TOLERANCE * sum.abs() {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-12;

    #[test]
    fn hyp2f1_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z
        for z in [0.1, 0.5, 0.9] {
            let expected = -(1.0f64 - z).ln() / z;
            assert!((hyp2f1(1.0, 1.0, 2.0, z) - expected).abs() < 1e-10);
        }
        // 2F1(a, b; b; z) = (1 - z)^-a
        let expected = 0.7f64.powf(-1.5);
        assert!((hyp2f1(1.5, 2.0, 2.0, 0.3) - expected).abs() < TOLERANCE);
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 0.0), 1.0);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < TOLERANCE);
        assert_eq!(log_sum_exp(-1e300, f64::NEG_INFINITY), -1e300);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < TOLERANCE);
    }
}
