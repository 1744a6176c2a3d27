//! MBG/NBD, Pareto/NBD, holdout validation and CLV on the CDNOW sample
//! (calibration ends 1997-09-30, weeks).

use super::common;

use std::time::Instant;

use clientela_models::{
    compare_holdout, compress, customer_lifetime_value, BgNbdParams, ClvOptions, CustomerSummary,
    FitOptions, FittedBgNbd, FittedMbgNbd, FittedParetoNbd, MbgNbd, MbgNbdParams, ParetoNbd,
    ParetoNbdParams, PurchaseModel,
};
use common::{cdnow_holdout_purchases, cdnow_summary, check, HOLDOUT_WEEKS};

/// Half a unit in the last printed place of 3-decimal reference values.
const PARAM_3DP_TOLERANCE: f64 = 0.0015;
/// Reference log-likelihoods are printed to one decimal.
const LL_TOLERANCE: f64 = 0.05;
/// BTYD prints holdout means to 7 significant digits.
const BTYD_ACTUAL_TOLERANCE: f64 = 1e-6;
/// Conditional expectations quoted to 3 decimals.
const CONDITIONAL_3DP_TOLERANCE: f64 = 0.0015;

#[test]
fn mbgnbd_fit_matches_lifetimes() {
    let rows = compress(&cdnow_summary());
    let start = Instant::now();
    let fit = MbgNbd::fit(&rows, &FitOptions::default()).unwrap();
    eprintln!(
        "MBG/NBD fit: {:?} LL {} in {:?} ({} iterations), se {:?}",
        fit.params,
        fit.log_likelihood,
        start.elapsed(),
        fit.iterations,
        fit.standard_errors
    );
    let p = fit.params;
    for (name, got, expected) in [
        ("r", p.r, 0.525),
        ("alpha", p.alpha, 6.183),
        ("a", p.a, 0.891),
        ("b", p.b, 1.614),
    ] {
        check(name, got, expected, PARAM_3DP_TOLERANCE);
    }
    check("log-likelihood", fit.log_likelihood, -9582.1, LL_TOLERANCE);
    let se = fit.standard_errors.expect("standard errors");
    for v in [se.r, se.alpha, se.a, se.b] {
        assert!(v.is_finite() && v > 0.0);
    }
}

#[test]
fn pareto_nbd_fit_matches_published() {
    let rows = compress(&cdnow_summary());
    let start = Instant::now();
    let fit = ParetoNbd::fit(&rows, &FitOptions::default()).unwrap();
    eprintln!(
        "Pareto/NBD fit: {:?} LL {} in {:?} ({} iterations), se {:?}",
        fit.params,
        fit.log_likelihood,
        start.elapsed(),
        fit.iterations,
        fit.standard_errors
    );
    let p = fit.params;
    for (name, got, expected) in [
        ("r", p.r, 0.553),
        ("alpha", p.alpha, 10.578),
        ("s", p.s, 0.606),
        ("beta", p.beta, 11.669),
    ] {
        check(name, got, expected, PARAM_3DP_TOLERANCE);
    }
    check("log-likelihood", fit.log_likelihood, -9595.0, LL_TOLERANCE);
}

fn calibration_and_holdout() -> Vec<(CustomerSummary, f64)> {
    cdnow_summary()
        .into_iter()
        .zip(cdnow_holdout_purchases())
        .collect()
}

#[test]
fn holdout_matches_btyd_walkthrough() {
    let customers = calibration_and_holdout();
    assert_eq!(customers.len(), 2357);
    // BTYD 2.4 walkthrough, pnbd.PlotFreqVsConditionalExpectedFrequency on
    // CDNOW with T.star = 39 and censor = 7: bin sizes, actual mean holdout
    // purchases and the Pareto/NBD conditional expectations, the latter with
    // BTYD's estimates r = 0.5534, α = 10.5802, s = 0.6061, β = 11.6562.
    let table = [
        // (calibration frequency, customers, actual mean, expected mean)
        (0, 1411.0, 0.236_711_6, 0.138),
        (1, 439.0, 0.697_038_7, 0.600),
        (2, 214.0, 1.392_523, 1.196),
        (3, 100.0, 1.560_000, 1.714),
        (4, 62.0, 2.532_258, 2.399),
        (5, 38.0, 2.947_368, 2.907),
        (6, 29.0, 3.862_069, 3.819),
        (7, 64.0, 6.359_375, 6.403),
    ];
    let model = FittedParetoNbd::from_params(
        ParetoNbdParams::new(0.5534, 10.5802, 0.6061, 11.6562).unwrap(),
    );
    let report = compare_holdout(&model, &customers, HOLDOUT_WEEKS).unwrap();
    for ((frequency, size, actual, expected), group) in table.iter().zip(&report.groups) {
        assert_eq!(group.frequency, *frequency);
        assert_eq!(group.customers, *size, "group {frequency}");
        let name = format!("group {frequency}");
        check(&name, group.actual_mean(), *actual, BTYD_ACTUAL_TOLERANCE);
        check(
            &name,
            group.predicted_mean(),
            *expected,
            CONDITIONAL_3DP_TOLERANCE,
        );
    }
    eprintln!(
        "holdout: actual {} predicted {} MAE {}",
        report.total.actual, report.total.predicted, report.mean_absolute_error
    );
    // Totals: Σ bins · means, to the precision of the printed means.
    check("actual total", report.total.actual, 1882.0, 0.0);
    assert!(report.mean_absolute_error > 0.0 && report.mean_absolute_error.is_finite());
}

#[test]
fn holdout_totals_match_mpmath() {
    // Expected 39-week holdout purchases summed over the 2,357 customers,
    // with the published / lifetimes parameters, by mpmath 1.3 (25 digits)

    // purchases, as FHL (2005) report for the CDNOW sample.
    const MPMATH_RELATIVE: f64 = 1e-9;
    let customers = calibration_and_holdout();
    let bg = FittedBgNbd::from_params(BgNbdParams::new(0.243, 4.414, 0.793, 2.426).unwrap());
    let mbg = FittedMbgNbd::from_params(MbgNbdParams::new(0.525, 6.183, 0.891, 1.614).unwrap());
    let pnbd =
        FittedParetoNbd::from_params(ParetoNbdParams::new(0.553, 10.578, 0.606, 11.669).unwrap());
    let table: [(&str, &dyn PurchaseModel, f64); 3] = [
        ("BG/NBD", &bg, 1_653.948_427_644_05),
        ("MBG/NBD", &mbg, 1_577.135_360_119_32),
        ("Pareto/NBD", &pnbd, 1_665.697_889_806_47),
    ];
    for (name, model, expected) in table {
        let report = compare_holdout(model, &customers, HOLDOUT_WEEKS).unwrap();
        let predicted: f64 = report.groups.iter().map(|g| g.predicted).sum();
        check(
            name,
            report.total.predicted,
            expected,
            MPMATH_RELATIVE * expected,
        );
        check(name, predicted, expected, MPMATH_RELATIVE * expected);
        assert!(report.total.predicted < report.total.actual);
    }
}

#[test]
fn clv_in_weeks_on_cdnow() {
    // The CDNOW models run in weeks: 30/7 weeks a month. Undiscounted, the
    // 9-month CLV at spend 1 is E[Y(270/7)], the holdout expectation.
    let model =
        FittedParetoNbd::from_params(ParetoNbdParams::new(0.553, 10.578, 0.606, 11.669).unwrap());
    let c = CustomerSummary::new(2.0, 30.43, 38.86);
    let options = ClvOptions {
        horizon_months: 9,
        monthly_discount_rate: 0.0,
        margin: 1.0,
        time_units_per_month: 30.0 / 7.0,
    };
    let clv = customer_lifetime_value(&model, &c, 1.0, &options);
    check("CLV", clv, model.expected_purchases(270.0 / 7.0, &c), 1e-12);
    let discounted = customer_lifetime_value(
        &model,
        &c,
        1.0,
        &ClvOptions {
            monthly_discount_rate: 0.01,
            ..options
        },
    );
    assert!(discounted < clv && discounted > clv / 1.01f64.powi(9));
}
