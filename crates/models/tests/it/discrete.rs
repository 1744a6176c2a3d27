//! Discrete-time models: BG/BB on the donation data and sBG on the
//! retention cohorts of Fader and Hardie (2007).

use super::common;

use clientela_models::{BgBb, BgBbParams, BgBbSummary, FitOptions, Sbg, SbgParams};
use common::{check, donations};

/// Half a unit in the last printed place of 3-decimal reference values.
const PARAM_3DP_TOLERANCE: f64 = 0.0015;
/// Agreement with independent mpmath (30-digit) evaluations.
const MPMATH_TOLERANCE: f64 = 1e-6;

#[test]
fn bgbb_fit_matches_fader_hardie_shang() {
    let rows = donations();
    assert_eq!(rows.len(), 22);
    assert_eq!(rows.iter().map(|(_, w)| w).sum::<f64>(), 11_104.0);
    let fit = BgBb::fit(&rows, &FitOptions::default()).unwrap();
    eprintln!(
        "BG/BB fit: {:?} LL {} ({} iterations), se {:?}",
        fit.params, fit.log_likelihood, fit.iterations, fit.standard_errors
    );
    let p = fit.params;
    for (name, got, expected) in [
        ("alpha", p.alpha, 1.204),
        ("beta", p.beta, 0.750),
        ("gamma", p.gamma, 0.657),
        ("delta", p.delta, 2.783),
    ] {
        check(name, got, expected, PARAM_3DP_TOLERANCE);
    }
    // LL of the published parameters by mpmath is -33,225.58; the MLE can
    // only be higher, and by little.
    let published = BgBbParams::new(1.204, 0.750, 0.657, 2.783).unwrap();
    check(
        "LL at published parameters",
        published.log_likelihood(&rows),
        -33_225.581_754_5,
        MPMATH_TOLERANCE,
    );
    assert!(fit.log_likelihood >= published.log_likelihood(&rows));
    check("log-likelihood", fit.log_likelihood, -33_225.58, 0.05);
    assert!(fit.standard_errors.is_some());
    // Donors who gave in all six years are very likely still active, and
    // expected to give more than one who gave only in the first year.
    let loyal = BgBbSummary::new(6, 6, 6);
    let lapsed = BgBbSummary::new(1, 1, 6);
    assert!(fit.p_alive(&loyal) > 0.9 && fit.p_alive(&lapsed) < 0.2);
    assert!(fit.expected_transactions(5, &loyal) > fit.expected_transactions(5, &lapsed));
}

/// Customers alive in years 0…12 of the two cohorts of Fader and Hardie
/// (2007), "How to project customer retention".
const REGULAR: [f64; 13] = [
    1000.0, 631.0, 468.0, 382.0, 326.0, 289.0, 262.0, 241.0, 223.0, 207.0, 194.0, 183.0, 173.0,
];
const HIGH_END: [f64; 13] = [
    1000.0, 869.0, 743.0, 653.0, 593.0, 551.0, 517.0, 491.0, 468.0, 445.0, 427.0, 409.0, 394.0,
];

#[test]
fn sbg_fits_match_fader_hardie_2007() {
    // Fitted on years 0…7 (the paper's calibration). α = 0.668, β = 3.806
    // belong to the *high-end* cohort (as in the paper and in jdmaturen's
    // shifted_beta_geometric_py test); the regular cohort gives α = 0.704,
    // β = 1.182. Log-likelihoods by an independent mpmath fit.
    let table = [
        ("regular", &REGULAR, 0.704, 1.182, -1_680.265_188_46),
        ("high end", &HIGH_END, 0.668, 3.806, -1_611.158_147_39),
    ];
    for (name, cohort, alpha, beta, ll) in table {
        let fit = Sbg::fit(&cohort[..8], &FitOptions::default()).unwrap();
        eprintln!("sBG {name}: {:?} LL {}", fit.params, fit.log_likelihood);
        check(
            &format!("{name} alpha"),
            fit.params.alpha,
            alpha,
            PARAM_3DP_TOLERANCE,
        );
        check(
            &format!("{name} beta"),
            fit.params.beta,
            beta,
            PARAM_3DP_TOLERANCE,
        );
        check(
            &format!("{name} LL"),
            fit.log_likelihood,
            ll,
            MPMATH_TOLERANCE,
        );
        // Projection of years 8…12 from 8 years of data: within 5% of the
        // cohort's actual size (worst: high end, year 12, 4.1% low).
        const PROJECTION_RELATIVE: f64 = 0.05;
        let curve = fit.survival_curve(12);
        for year in 8..=12 {
            let projected = 1000.0 * curve[year];
            let actual = cohort[year];
            assert!(
                (projected - actual).abs() <= PROJECTION_RELATIVE * actual,
                "{name} year {year}: {projected} vs {actual}"
            );
        }
    }
}

#[test]
fn sbg_derl_matches_reference() {
    // DERL at d = 10% for a high-end customer with 7 renewals, with the
    // mpmath-fitted parameters: 7.52962805557 (jdmaturen's
    // shifted_beta_geometric_py README prints 7.530).
    let p = SbgParams::new(0.668_088_351_106, 3.806_094_964_06).unwrap();
    check(
        "DERL(0.1, 7)",
        p.derl(0.1, 7),
        7.529_628_055_570_7,
        MPMATH_TOLERANCE,
    );
    let fit = Sbg::fit(&HIGH_END[..8], &FitOptions::default()).unwrap();
    check("DERL of the fit", fit.derl(0.1, 7), 7.530, 0.0005);
}
