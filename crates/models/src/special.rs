//! Special functions used by the models: log-gamma, digamma, log-beta,
//! stable log-sum-exp forms and the Gauss hypergeometric function ₂F₁.

/// Relative size of a series term below which [`hyp2f1`] stops.
pub const HYP2F1_TOLERANCE: f64 = 1e-15;
/// Most terms [`hyp2f1`] sums before giving up on further precision.
pub const HYP2F1_MAX_TERMS: usize = 200_000;
/// Above this z, [`hyp2f1`] switches from the power series in z to the
/// connection formula in 1 − z (Abramowitz and Stegun 15.3.6), whose series
/// then converge at least as fast as 0.1ⁿ.
const HYP2F1_SERIES_MAX_Z: f64 = 0.9;
/// When c − a − b lies within this gap of an integer, the two terms of
/// A&S 15.3.6 have poles that cancel. [`hyp2f1`] then evaluates at
/// c − a − b = m ± gap and m ± 2·gap and interpolates with the cubic through
/// those four points: the function is analytic in c, the interpolation error
/// is about gap⁴ · ln⁴(1−z) (below 1e-12 for 1 − z ≥ 1e-8), and each point
/// loses about −log₁₀(gap) = 4 digits to the cancellation.
const HYP2F1_INTEGER_GAP: f64 = 1e-4;
/// Below this argument [`digamma`] shifts x up by the recurrence
/// ψ(x) = ψ(x + 1) − 1/x before using the asymptotic series.
const DIGAMMA_ASYMPTOTIC_MIN: f64 = 10.0;

/// Natural logarithm of the gamma function, ln |Γ(x)|.
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// ln |Γ(x)| and the sign of Γ(x) (+1 or −1); ln |Γ| = +∞ at the poles
/// x = 0, −1, −2, ….
fn ln_gamma_signed(x: f64) -> (f64, f64) {
    let (value, sign) = libm::lgamma_r(x);
    (value, if sign < 0 { -1.0 } else { 1.0 })
}

/// ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for a, b > 0.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Digamma function ψ(x) = d ln Γ(x) / dx for x > 0 (NaN otherwise).
///
/// Shifts x above 10 with ψ(x) = ψ(x+1) − 1/x, then
/// uses the asymptotic expansion ln x − 1/(2x) − Σ B₂ₖ/(2k x²ᵏ), whose
/// truncation error there is below 1e-16.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x <= 0.0 {
        return f64::NAN;
    }
    if x.is_infinite() {
        return f64::INFINITY;
    }
    let mut x = x;
    let mut shift = 0.0;
    while x < DIGAMMA_ASYMPTOTIC_MIN {
        shift -= 1.0 / x;
        x += 1.0;
    }
    let inv2 = 1.0 / (x * x);
    // Bernoulli terms B₂/2, B₄/4, …, B₁₂/12 in Horner form.
    let series = inv2
        * (1.0 / 12.0
            - inv2
                * (1.0 / 120.0
                    - inv2
                        * (1.0 / 252.0
                            - inv2
                                * (1.0 / 240.0 - inv2 * (1.0 / 132.0 - inv2 * 691.0 / 32760.0)))));
    shift + x.ln() - 0.5 / x - series
}

/// ln(e^a + e^b) without overflow or underflow.
pub fn log_sum_exp(a: f64, b: f64) -> f64 {
    let m = a.max(b);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + ((a - m).exp() + (b - m).exp()).ln()
}

/// ln(e^a − e^b) for b ≤ a, accurate when b is close to a (via ln(−expm1));
/// −∞ when b ≥ a, so that rounding can never make it NaN.
pub fn log_diff_exp(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() || b >= a {
        return f64::NEG_INFINITY;
    }
    let d = b - a;
    // ln(1 − e^d): −expm1 is exact near d = 0, ln_1p(−e^d) for very negative d.
    let tail = if d > -std::f64::consts::LN_2 {
        (-d.exp_m1()).ln()
    } else {
        (-d.exp()).ln_1p()
    };
    a + tail
}

/// Gauss hypergeometric function ₂F₁(a, b; c; z) for real z < 1.
///
/// - 0 ≤ z ≤ 0.9: the power series Σ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ.
/// - 0.9 < z < 1: the connection formula in 1 − z (Abramowitz and Stegun
///   15.3.6), with the removable singularity at integer c − a − b handled
///   by interpolation across it.
/// - z < 0: Pfaff's transformation ₂F₁(a, b; c; z) =
///   (1−z)^(−a) ₂F₁(a, c−b; c; z/(z−1)), which maps z to [0, 1).
///
/// Returns NaN for z ≥ 1, a NaN argument, or c a non-positive integer.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z.is_nan() || z >= 1.0 || a.is_nan() || b.is_nan() || is_non_positive_integer(c) {
        return f64::NAN;
    }
    if z < 0.0 {
        let w = z / (z - 1.0);
        return (1.0 - z).powf(-a) * hyp2f1_unit(a, c - b, c, w);
    }
    hyp2f1_unit(a, b, c, z)
}

fn is_non_positive_integer(x: f64) -> bool {
    x <= 0.0 && x == x.floor()
}

/// f(x) for x within `gap` of a removable singularity x0 of a formula
/// (analytic there, but 0/0 or ∞ − ∞ as written): the cubic through
/// f(x0 ± gap), f(x0 ± 2·gap) evaluated at x. Elsewhere f(x) itself.
///
/// The interpolation error is about gap⁴·f⁗/24, and each node loses about
/// −log₁₀(gap) digits to the cancellation in f near x0.
pub(crate) fn interpolate_across(x: f64, x0: f64, gap: f64, f: impl Fn(f64) -> f64) -> f64 {
    if (x - x0).abs() >= gap {
        return f(x);
    }
    let nodes = [-2.0, -1.0, 1.0, 2.0];
    let t = (x - x0) / gap;
    let mut value = 0.0;
    for (i, &ki) in nodes.iter().enumerate() {
        let weight: f64 = nodes
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, &kj)| (t - kj) / (ki - kj))
            .product();
        value += weight * f(x0 + ki * gap);
    }
    value
}

/// ₂F₁ for 0 ≤ z < 1.
fn hyp2f1_unit(a: f64, b: f64, c: f64, z: f64) -> f64 {
    if z <= HYP2F1_SERIES_MAX_Z {
        return hyp2f1_series(a, b, c, z);
    }
    let m = c - a - b;
    let nearest = m.round();
    if (m - nearest).abs() < HYP2F1_INTEGER_GAP {
        // Move c so that c − a − b straddles the integer; ₂F₁ is analytic
        // in c there.
        let c0 = c - (m - nearest);
        return interpolate_across(c, c0, HYP2F1_INTEGER_GAP, |ci| hyp2f1_near_one(a, b, ci, z));
    }
    hyp2f1_near_one(a, b, c, z)
}

/// A&S 15.3.6 for c − a − b = m not an integer:
/// ₂F₁(a,b;c;z) = Γ(c)Γ(m)/(Γ(c−a)Γ(c−b)) ₂F₁(a,b;1−m;1−z)
///              + (1−z)^m Γ(c)Γ(−m)/(Γ(a)Γ(b)) ₂F₁(c−a,c−b;1+m;1−z).
/// The gamma ratios are taken in logs with signs so that large parameters
/// (x = 500 purchases) neither overflow nor lose the sign; 1/Γ at a pole
/// is 0, which drops the term as it should.
fn hyp2f1_near_one(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let w = 1.0 - z;
    let m = c - a - b;
    let first = gamma_quotient(c, m, c - a, c - b);
    let second = gamma_quotient(c, -m, a, b);
    let mut value = 0.0;
    if first != 0.0 {
        value += first * hyp2f1_series(a, b, 1.0 - m, w);
    }
    if second != 0.0 {
        value += second * w.powf(m) * hyp2f1_series(c - a, c - b, 1.0 + m, w);
    }
    value
}

/// Γ(p)Γ(q) / (Γ(u)Γ(v)) with its sign; 0 when u or v is a pole (1/Γ = 0).
/// Γ(p) is paired with whichever of u, v is closer to it, so that for
/// large, close arguments (Γ(501.8)/Γ(500.8)) the ratio is taken by
/// [`ln_gamma_ratio`] without the absolute error of ln Γ(500) ≈ 2,600.
fn gamma_quotient(p: f64, q: f64, u: f64, v: f64) -> f64 {
    let (near, far) = if (p - u).abs() <= (p - v).abs() {
        (u, v)
    } else {
        (v, u)
    };
    let (l1, s1) = ln_gamma_ratio(p, near);
    let (l2, s2) = ln_gamma_ratio(q, far);
    if l1 == f64::NEG_INFINITY || l2 == f64::NEG_INFINITY {
        return 0.0;
    }
    s1 * s2 * (l1 + l2).exp()
}

/// Smallest argument from which [`ln_gamma_ratio`] uses the Stirling
/// difference; the series' first omitted term there is below 1e-17.
const STIRLING_MIN: f64 = 20.0;

/// ln |Γ(x)/Γ(y)| and its sign; −∞ when y is a pole of Γ.
///
/// For x, y ≥ [`STIRLING_MIN`] it subtracts Stirling's series term by term,
/// (x−½) ln(1 + (x−y)/y) + (x−y)(ln y − 1) + S(x) − S(y), whose rounding
/// error scales with |x − y| instead of with ln Γ(x) itself.
pub(crate) fn ln_gamma_ratio(x: f64, y: f64) -> (f64, f64) {
    if x >= STIRLING_MIN && y >= STIRLING_MIN {
        let tail = |u: f64| {
            let inv2 = 1.0 / (u * u);
            (1.0 / 12.0
                - inv2
                    * (1.0 / 360.0 - inv2 * (1.0 / 1260.0 - inv2 * (1.0 / 1680.0 - inv2 / 1188.0))))
                / u
        };
        let d = x - y;
        let value = (x - 0.5) * (d / y).ln_1p() + d * (y.ln() - 1.0) + tail(x) - tail(y);
        return (value, 1.0);
    }
    let (lx, sx) = ln_gamma_signed(x);
    let (ly, sy) = ln_gamma_signed(y);
    if ly.is_infinite() {
        return (f64::NEG_INFINITY, 1.0);
    }
    (lx - ly, sx * sy)
}

/// The power series of ₂F₁ for 0 ≤ z < 1. It stops once a term is below
/// [`HYP2F1_TOLERANCE`] of the sum and the terms are shrinking, so that a
/// transiently small term in the growing phase (large a, b) does not end it.
fn hyp2f1_series(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..HYP2F1_MAX_TERMS {
        let n = n as f64;
        let ratio = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        term *= ratio;
        sum += term;
        if term == 0.0 || (term.abs() <= HYP2F1_TOLERANCE * sum.abs() && ratio.abs() < 1.0) {
            break;
        }
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-12;
    /// Relative agreement with mpmath 1.3 (30 digits) for ₂F₁. Near z = 1
    /// with parameters in the hundreds the two terms of A&S 15.3.6 cancel
    /// (by a factor of about 7,500 for 2F1(1, 500.6; 501.8; 0.99), which
    /// matches to 1.3e-11), so ten digits is what f64 can promise there.
    const MPMATH_RELATIVE: f64 = 1e-10;

    fn relative_error(got: f64, expected: f64) -> f64 {
        (got - expected).abs() / expected.abs().max(f64::MIN_POSITIVE)
    }

    #[test]
    fn hyp2f1_closed_forms() {
        // 2F1(1, 1; 2; z) = -ln(1 - z) / z, including z near 1 (integer
        // c − a − b = 0, the interpolated case) and z < 0 (Pfaff).
        for z in [0.1, 0.5, 0.9, 0.95, 0.999, 0.999_999, -0.5, -3.0, -1e6] {
            let expected = -(1.0f64 - z).ln() / z;
            let got = hyp2f1(1.0, 1.0, 2.0, z);
            assert!(
                relative_error(got, expected) < 1e-11,
                "z={z}: {got} vs {expected}"
            );
        }
        // 2F1(a, b; b; z) = (1 - z)^-a
        for z in [0.3f64, 0.95, -2.0] {
            let expected = (1.0 - z).powf(-1.5);
            let got = hyp2f1(1.5, 2.0, 2.0, z);
            assert!(
                relative_error(got, expected) < 1e-11,
                "z={z}: {got} vs {expected}"
            );
        }
        // 2F1(1/2, 1/2; 3/2; z²) = arcsin(z) / z
        for z in [0.5f64, 0.97, 0.9999] {
            let expected = z.asin() / z;
            let got = hyp2f1(0.5, 0.5, 1.5, z * z);
            assert!(
                relative_error(got, expected) < 1e-11,
                "z={z}: {got} vs {expected}"
            );
        }
        assert_eq!(hyp2f1(1.0, 1.0, 2.0, 0.0), 1.0);
        assert!(hyp2f1(1.0, 1.0, 2.0, 1.0).is_nan());
        assert!(hyp2f1(1.0, 1.0, -2.0, 0.5).is_nan());
    }

    #[test]
    fn hyp2f1_matches_mpmath() {
        // (a, b, c, z, mpmath.hyp2f1(a, b, c, z)) with mp.dps = 30.
        let table = [
            (0.3, -0.2, 1.7, 0.95, 0.955_447_158_295_539_6),
            (2.5, 1.5, 3.7, 0.97, 14.504_770_344_855_34),
            (500.24, 502.4, 1001.2, 0.5, 1.188_349_994_828_245_3e69),
            (-0.107, -0.207, 500.9, 0.999, 1.000_044_205_391_034_1),
            (1.0, 500.6, 501.8, 0.99, 82.885_592_984_441_49),
            (1.0, 1.606, 501.159, 0.999, 1.003_218_084_329_718_5),
            (0.45, 8.0, 9.2, -40.0, 0.200_994_907_994_261_73),
            (-10.6, -0.8, -0.6, 0.9998, -5.040_053_128_431_122),
            (1.0, 4.806, 5.474, 1.0 / 1.1, 6.365_230_152_502_748),
            (0.7, 1.3, 2.0, 0.995, 4.770_518_483_315_974),
            (3.0, 2.0, 4.0, 0.93, 33.183_751_288_975_15),
            (0.25, 3.5, 2.75, 0.9999, 1_337.878_157_614_004_7),
        ];
        for (a, b, c, z, expected) in table {
            let got = hyp2f1(a, b, c, z);
            assert!(
                relative_error(got, expected) < MPMATH_RELATIVE,
                "2F1({a}, {b}; {c}; {z}) = {got}, mpmath {expected}"
            );
        }
    }

    #[test]
    fn hyp2f1_continuous_across_series_switch() {
        for (a, b, c) in [(0.3, 1.2, 2.9), (1.0, 40.0, 41.6), (-0.4, 2.2, 1.1)] {
            let below = hyp2f1(a, b, c, HYP2F1_SERIES_MAX_Z);
            let above = hyp2f1(a, b, c, HYP2F1_SERIES_MAX_Z + 1e-12);
            assert!(
                relative_error(above, below) < 1e-9,
                "{a} {b} {c}: {below} {above}"
            );
        }
    }

    #[test]
    fn interpolation_across_a_removable_singularity() {
        // (e^x − 1)/x at x = 0 is 1, but 0/0 as written.
        let f = |x: f64| x.exp_m1() / x;
        for x in [0.0f64, 3e-5, -9e-5] {
            let expected = if x == 0.0 { 1.0 } else { x.exp_m1() / x };
            assert!((interpolate_across(x, 0.0, 1e-4, f) - expected).abs() < TOLERANCE);
        }
        assert_eq!(interpolate_across(0.5, 0.0, 1e-4, f), f(0.5));
    }

    #[test]
    fn digamma_values() {
        const EULER_GAMMA: f64 = 0.577_215_664_901_532_9;
        assert!((digamma(1.0) + EULER_GAMMA).abs() < TOLERANCE);
        let half = -EULER_GAMMA - 2.0 * std::f64::consts::LN_2;
        assert!((digamma(0.5) - half).abs() < TOLERANCE);
        // ψ(x) ≈ -1/x - γ for tiny x, and the derivative of ln Γ elsewhere.
        assert!((digamma(1e-8) - (-1e8 - EULER_GAMMA)).abs() < 1e-6);
        for x in [0.3, 2.7, 9.99, 10.0, 123.4] {
            let h = 1e-5 * x;
            let numeric = (ln_gamma(x + h) - ln_gamma(x - h)) / (2.0 * h);
            assert!((digamma(x) - numeric).abs() < 1e-7, "x={x}");
        }
        assert!(digamma(0.0).is_nan());
    }

    #[test]
    fn ln_gamma_ratio_agrees_with_ln_gamma() {
        // Γ(501.8)/Γ(500.8) = 500.8 exactly by the recurrence.
        let (v, sign) = ln_gamma_ratio(501.8, 500.8);
        assert!((v - 500.8f64.ln()).abs() < 1e-14 && sign == 1.0);
        for (x, y) in [(25.0, 21.5), (150.0, 20.0), (2.5, 0.5), (-0.5, 1.5)] {
            let (v, sign) = ln_gamma_ratio(x, y);
            let expected = libm::tgamma(x) / libm::tgamma(y);
            assert!(
                (sign * v.exp() - expected).abs() < 1e-10 * expected.abs(),
                "{x} {y}"
            );
        }
        assert_eq!(ln_gamma_ratio(1.0, -2.0).0, f64::NEG_INFINITY);
    }

    #[test]
    fn log_sum_exp_is_stable() {
        assert!((log_sum_exp(1000.0, 1000.0) - (1000.0 + 2f64.ln())).abs() < TOLERANCE);
        assert_eq!(log_sum_exp(-1e300, f64::NEG_INFINITY), -1e300);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < TOLERANCE);
        assert!((ln_beta(2.0, 3.0) - (1.0f64 / 12.0).ln()).abs() < TOLERANCE);
    }

    #[test]
    fn log_diff_exp_is_stable() {
        let expected = (3f64.exp() - 2f64.exp()).ln();
        assert!((log_diff_exp(3.0, 2.0) - expected).abs() < TOLERANCE);
        // e^a − e^(a − 1e-12) = e^a · 1e-12 (to first order).
        // ln(1 − e^(−1e-12)) = ln(1e-12) − 5e-13 + O(1e-25).
        let tiny = log_diff_exp(0.0, -1e-12);
        assert!((tiny - (1e-12f64.ln() - 5e-13)).abs() < TOLERANCE);
        assert_eq!(log_diff_exp(1.0, 1.0), f64::NEG_INFINITY);
        assert_eq!(log_diff_exp(1.0, 2.0), f64::NEG_INFINITY);
        assert_eq!(log_diff_exp(1.0, f64::NEG_INFINITY), 1.0);
    }
}
