//! Data loaders and checks shared by the integration tests.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use clientela_models::{BgBbSummary, CustomerSummary};

/// Last day of the CDNOW calibration period (FHL 2005).
pub const CALIBRATION_END: u32 = 19970930;
/// Length of the CDNOW holdout period 1997-10-01 … 1998-06-30, in weeks.
pub const HOLDOUT_WEEKS: f64 = 39.0;

pub fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/cdnow")
}

/// The 2,357 calibration summaries (weeks), in sample-ID order.
pub fn cdnow_summary() -> Vec<CustomerSummary> {
    let text = std::fs::read_to_string(data_dir().join("cdnow_customers_summary.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<f64> = l.split(',').map(|v| v.trim().parse().unwrap()).collect();
            CustomerSummary::new(f[1], f[2], f[3])
        })
        .collect()
}

/// Holdout purchases per customer in sample-ID order: distinct purchase
/// days after the calibration end (several transactions on one day count
/// as one, as in the calibration summary).
pub fn cdnow_holdout_purchases() -> Vec<f64> {
    let text = std::fs::read_to_string(data_dir().join("CDNOW_sample.txt")).unwrap();
    let mut days: BTreeMap<usize, BTreeSet<u32>> = BTreeMap::new();
    let mut customers = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id: usize = f[1].parse().unwrap();
        let date: u32 = f[2].parse().unwrap();
        customers = customers.max(id);
        if date > CALIBRATION_END {
            days.entry(id).or_default().insert(date);
        }
    }
    (1..=customers)
        .map(|id| days.get(&id).map_or(0.0, |d| d.len() as f64))
        .collect()
}

/// The BG/BB donation data: (summary, number of donors).
pub fn donations() -> Vec<(BgBbSummary, f64)> {
    let text = std::fs::read_to_string(data_dir().join("donations.csv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<u32> = l.split(',').map(|v| v.trim().parse().unwrap()).collect();
            (BgBbSummary::new(f[0], f[1], f[2]), f64::from(f[3]))
        })
        .collect()
}

/// Asserts |got − expected| ≤ tolerance, naming the quantity.
pub fn check(name: &str, got: f64, expected: f64, tolerance: f64) {
    assert!(
        (got - expected).abs() <= tolerance,
        "{name}: got {got}, expected {expected} ± {tolerance}"
    );
}
