//! Times `customer_lifetime_value` per customer for each purchase model,
//! as the engine calls it: one customer at a time, models fitted in days,
//! a 12-month horizon. Run with
//! `cargo run --release -p clientela-models --example clv_timing`.

use std::hint::black_box;
use std::time::Instant;

use clientela_models::{
    customer_lifetime_value, BgNbdParams, ClvOptions, CustomerSummary, FittedBgNbd, FittedMbgNbd,
    FittedParetoNbd, MbgNbdParams, ParetoNbdParams, PurchaseModel,
};

const CUSTOMERS: usize = 1_000_000;
/// CDNOW's weekly parameters in days: α and β scale by 7.
const DAYS_PER_WEEK: f64 = 7.0;

/// Customers with ages up to 3 years, recency up to age, and 0…40 repeat
/// purchases, from a 64-bit LCG (no RNG crate needed).
fn customers() -> Vec<CustomerSummary> {
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..CUSTOMERS)
        .map(|_| {
            let t = (uniform() * 1095.0).ceil();
            let x = (uniform() * uniform() * 40.0).floor();
            let recency = if x == 0.0 {
                0.0
            } else {
                (uniform() * t).ceil()
            };
            CustomerSummary::new(x, recency, t)
        })
        .collect()
}

fn time(name: &str, model: &dyn PurchaseModel, customers: &[CustomerSummary]) {
    let options = ClvOptions::default();
    let start = Instant::now();
    let mut total = 0.0;
    for c in customers {
        total += customer_lifetime_value(model, black_box(c), 35.0, &options);
    }
    let elapsed = start.elapsed();
    println!(
        "{name:<11} {:>7.0} ns/customer, {:>6.2} s per 1M (mean CLV {:.2})",
        elapsed.as_nanos() as f64 / customers.len() as f64,
        elapsed.as_secs_f64() * 1e6 / customers.len() as f64,
        total / customers.len() as f64
    );
}

fn main() {
    let customers = customers();
    let w = DAYS_PER_WEEK;
    let bg = FittedBgNbd::from_params(BgNbdParams::new(0.243, 4.414 * w, 0.793, 2.426).unwrap());
    let mbg = FittedMbgNbd::from_params(MbgNbdParams::new(0.525, 6.183 * w, 0.891, 1.614).unwrap());
    let pnbd = FittedParetoNbd::from_params(
        ParetoNbdParams::new(0.553, 10.578 * w, 0.606, 11.669 * w).unwrap(),
    );
    time("BG/NBD", &bg, &customers);
    time("MBG/NBD", &mbg, &customers);
    time("Pareto/NBD", &pnbd, &customers);
}
