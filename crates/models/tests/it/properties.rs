//! Properties every purchase model must have, checked with plain loops
//! over a seeded RNG: probabilities in [0, 1], expectations finite,
//! non-negative and non-decreasing in t, for random parameters and extreme
//! customers; fits that stay finite at scale; parameter recovery.

use clientela_models::{
    compress, BgBbParams, BgBbSummary, BgNbd, BgNbdParams, CustomerSummary, FitOptions,
    FittedBgNbd, FittedMbgNbd, FittedParetoNbd, MbgNbd, MbgNbdParams, ParetoNbd, ParetoNbdParams,
    PurchaseModel, SbgParams,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Gamma};

const SEED: u64 = 20_050_101;
/// Random parameter sets per model.
const PARAMETER_DRAWS: usize = 60;
/// Random customers per parameter set (on top of the fixed extremes).
const CUSTOMER_DRAWS: usize = 40;
/// Horizons at which expectations are evaluated, in order.
const HORIZONS: [f64; 9] = [0.0, 1e-6, 1e-3, 1.0, 10.0, 39.0, 78.0, 520.0, 5200.0];
/// Slack for "non-decreasing": the ₂F₁ evaluation switches method at
/// z = 0.9 and agrees across the switch to about 1e-10 relative.
const MONOTONE_RELATIVE_SLACK: f64 = 1e-9;

/// A parameter drawn log-uniformly from [e^-3, e^3] ≈ [0.05, 20].
fn log_uniform(rng: &mut ChaCha8Rng) -> f64 {
    rng.gen_range(-3.0..3.0f64).exp()
}

fn models(rng: &mut ChaCha8Rng) -> Vec<(String, Box<dyn PurchaseModel>)> {
    let mut out: Vec<(String, Box<dyn PurchaseModel>)> = Vec::new();
    // Fixed sets first, including the published ones and a ≈ 1, a + b ≈ 1
    // and s ≈ 1 (removable singularities of the closed forms).
    let fixed = [
        (0.243, 4.414, 0.793, 2.426),
        (2.0, 1.0, 1.0, 0.5),
        (0.5, 2.0, 1.000_001, 3.0),
        (0.05, 50.0, 3.0, 10.0),
        (10.0, 0.1, 0.2, 0.8),
        (10.0, 0.1, 0.2, 0.2),
    ];
    let mut sets: Vec<[f64; 4]> = fixed.iter().map(|&(a, b, c, d)| [a, b, c, d]).collect();
    sets.extend((0..PARAMETER_DRAWS).map(|_| {
        [
            log_uniform(rng),
            log_uniform(rng),
            log_uniform(rng),
            log_uniform(rng),
        ]
    }));
    for p in sets {
        let [r, alpha, a, b] = p;
        let bg = FittedBgNbd::from_params(BgNbdParams::new(r, alpha, a, b).unwrap());
        let mbg = FittedMbgNbd::from_params(MbgNbdParams::new(r, alpha, a, b).unwrap());
        // Pareto/NBD reads the last two as (s, β): s = a ≈ 1 is covered too.
        let pnbd = FittedParetoNbd::from_params(ParetoNbdParams::new(r, alpha, a, b).unwrap());
        out.push((format!("BG/NBD {p:?}"), Box::new(bg)));
        out.push((format!("MBG/NBD {p:?}"), Box::new(mbg)));
        out.push((format!("Pareto/NBD {p:?}"), Box::new(pnbd)));
    }
    out
}

fn extreme_customers() -> Vec<CustomerSummary> {
    vec![
        CustomerSummary::new(0.0, 0.0, 0.0),
        CustomerSummary::new(0.0, 0.0, 1e-6),
        CustomerSummary::new(0.0, 0.0, 500.0),
        CustomerSummary::new(2.0, 30.43, 38.86),
        CustomerSummary::new(500.0, 1e-6, 1e-6),
        CustomerSummary::new(500.0, 52.0, 52.0),
        CustomerSummary::new(500.0, 0.0, 52.0),
        CustomerSummary::new(500.0, 1.0, 1000.0),
        CustomerSummary::new(1.0, 1e-6, 1e-6),
        CustomerSummary::new(1.0, 0.0, 1e-6),
        CustomerSummary::new(50.0, 0.0, 100.0),
    ]
}

fn random_customer(rng: &mut ChaCha8Rng) -> CustomerSummary {
    let t = rng.gen_range(-14.0..7.0f64).exp(); // 1e-6 … 1100
    let x = match rng.gen_range(0..4) {
        0 => 0.0,
        1 => 500.0,
        _ => f64::from(rng.gen_range(1..60u32)),
    };
    let recency = match (x == 0.0, rng.gen_range(0..3)) {
        (true, _) => 0.0,
        (false, 0) => t,
        (false, 1) => 0.0,
        _ => rng.gen_range(0.0..=t),
    };
    CustomerSummary::new(x, recency, t)
}

#[test]
fn predictions_are_probabilities_and_increasing_expectations() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for (name, model) in models(&mut rng) {
        let mut customers = extreme_customers();
        customers.extend((0..CUSTOMER_DRAWS).map(|_| random_customer(&mut rng)));
        for c in &customers {
            let alive = model.p_alive(c);
            assert!(
                (0.0..=1.0).contains(&alive),
                "{name} {c:?}: P(alive) {alive}"
            );
            let mut previous: f64 = 0.0;
            for t in HORIZONS {
                let e = model.expected_purchases(t, c);
                assert!(e.is_finite() && e >= 0.0, "{name} {c:?} t={t}: {e}");
                assert!(
                    e >= previous * (1.0 - MONOTONE_RELATIVE_SLACK),
                    "{name} {c:?} t={t}: {e} < {previous}"
                );
                previous = e;
            }
        }
        let mut previous: f64 = 0.0;
        for t in HORIZONS {
            let e = model.expected_purchases_new(t);
            assert!(e.is_finite() && e >= 0.0, "{name} t={t}: {e}");
            assert!(
                e >= previous * (1.0 - MONOTONE_RELATIVE_SLACK),
                "{name} t={t}: {e} < {previous}"
            );
            previous = e;
        }
    }
}

#[test]
fn log_likelihoods_are_finite_for_extreme_customers() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for _ in 0..PARAMETER_DRAWS {
        let p = [
            log_uniform(&mut rng),
            log_uniform(&mut rng),
            log_uniform(&mut rng),
            log_uniform(&mut rng),
        ];
        let bg = BgNbdParams::new(p[0], p[1], p[2], p[3]).unwrap();
        let mbg = MbgNbdParams::new(p[0], p[1], p[2], p[3]).unwrap();
        let pnbd = ParetoNbdParams::new(p[0], p[1], p[2], p[3]).unwrap();
        for c in extreme_customers() {
            for (name, ll) in [
                ("BG/NBD", bg.log_likelihood_one(&c)),
                ("MBG/NBD", mbg.log_likelihood_one(&c)),
                ("Pareto/NBD", pnbd.log_likelihood_one(&c)),
            ] {
                // A density in t_x, so it may exceed 1 (ln L > 0) for tiny T.
                assert!(ll.is_finite(), "{name} {p:?} {c:?}: {ll}");
            }
        }
    }
}

/// Simulates the BG/NBD story: rate λ ~ Gamma(r, α), dropout p ~ Beta(a, b)
/// tossed after each repeat purchase, observed over (0, T] with
/// T ~ Uniform(`age`).
fn simulate_bgnbd(
    n: usize,
    (r, alpha, a, b): (f64, f64, f64, f64),
    age: std::ops::Range<f64>,
    rng: &mut ChaCha8Rng,
) -> Vec<CustomerSummary> {
    let rate = Gamma::new(r, 1.0 / alpha).unwrap();
    let dropout = Beta::new(a, b).unwrap();
    (0..n)
        .map(|_| {
            let t_end = rng.gen_range(age.clone());
            let lambda: f64 = rate.sample(rng);
            let p: f64 = dropout.sample(rng);
            let (mut t, mut x, mut t_x) = (0.0, 0.0, 0.0);
            loop {
                // Exponential waiting time by inversion; λ can underflow to
                // 0 for small r, which makes t infinite or NaN: no purchase.
                t += -(1.0 - rng.gen::<f64>()).ln() / lambda;
                if t.is_nan() || t > t_end {
                    break;
                }
                x += 1.0;
                t_x = t;
                if rng.gen::<f64>() < p {
                    break;
                }
            }
            CustomerSummary::new(x, t_x, t_end)
        })
        .collect()
}

#[test]
fn bgnbd_recovers_parameters_from_100k_customers() {
    // Within 4 standard errors (a two-sided 6e-5 test per parameter), and
    // within 10% relative, of the truth.
    const Z_TOLERANCE: f64 = 4.0;
    const RELATIVE_TOLERANCE: f64 = 0.10;
    let truth = (0.62, 2.4, 0.45, 8.0);
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let customers = simulate_bgnbd(100_000, truth, 52.0..156.0, &mut rng);
    let rows = compress(&customers);
    let start = std::time::Instant::now();
    let fit = BgNbd::fit(&rows, &FitOptions::default()).unwrap();
    let (p, se) = (fit.params, fit.standard_errors.expect("standard errors"));
    eprintln!(
        "recovery: {p:?} ± {se:?} in {:?} ({} iterations)",
        start.elapsed(),
        fit.iterations
    );
    for (name, got, expected, error) in [
        ("r", p.r, truth.0, se.r),
        ("alpha", p.alpha, truth.1, se.alpha),
        ("a", p.a, truth.2, se.a),
        ("b", p.b, truth.3, se.b),
    ] {
        assert!(
            (got - expected).abs() <= Z_TOLERANCE * error,
            "{name}: {got} ± {error}, truth {expected}"
        );
        assert!(
            (got - expected).abs() <= RELATIVE_TOLERANCE * expected,
            "{name}: {got}, truth {expected}"
        );
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a few integer operations per
/// draw, so that 3M simulated customers stay cheap in a debug build, where
/// ChaCha and rand_distr's Gamma/Beta samplers cost microseconds each.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[test]
fn three_million_customers_fit_to_finite_parameters() {
    // CDNOW-like parameters in weeks; ages in whole weeks 1…52 and purchase
    // times recorded to the week, plus the extreme customers, so that the
    // compressed rows stay few enough for a debug-build test. Each
    // customer's (λ, p) is drawn from a pool of 65,536 exact Gamma/Beta
    // draws and their purchases are simulated with SplitMix64.
    const CUSTOMERS: usize = 3_000_000;
    const POOL: usize = 1 << 16;
    let (r, alpha, a, b) = (0.243, 4.414, 0.793, 2.426);
    let simulated = std::time::Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let rate = Gamma::new(r, 1.0 / alpha).unwrap();
    let dropout = Beta::new(a, b).unwrap();
    let pool: Vec<(f64, f64)> = (0..POOL)
        .map(|_| (rate.sample(&mut rng), dropout.sample(&mut rng)))
        .collect();
    let mut fast = SplitMix64(SEED);
    let mut customers: Vec<CustomerSummary> = (0..CUSTOMERS)
        .map(|_| {
            let t_end = 1.0 + (fast.next_u64() % 52) as f64;
            let (lambda, p) = pool[(fast.next_u64() % POOL as u64) as usize];
            let (mut t, mut x, mut t_x) = (0.0, 0.0, 0.0);
            loop {
                t += -(1.0 - fast.uniform()).ln() / lambda;
                if t.is_nan() || t > t_end {
                    break;
                }
                x += 1.0;
                t_x = t.ceil().min(t_end);
                if fast.uniform() < p {
                    break;
                }
            }
            CustomerSummary::new(x, t_x, t_end)
        })
        .collect();
    customers.extend(extreme_customers().into_iter().filter(|c| c.t > 0.0));
    let rows = compress(&customers);
    eprintln!(
        "3M customers simulated and compressed in {:?}: {} unique rows",
        simulated.elapsed(),
        rows.len()
    );
    let total: f64 = rows.iter().map(|(_, w)| w).sum();
    assert_eq!(total as usize, customers.len());
    let options = FitOptions::default();
    let start = std::time::Instant::now();
    let bg = BgNbd::fit(&rows, &options).unwrap();
    let bg_time = start.elapsed();
    let mbg = MbgNbd::fit(&rows, &options).unwrap();
    let mbg_time = start.elapsed() - bg_time;
    let pnbd = ParetoNbd::fit(&rows, &options).unwrap();
    let pnbd_time = start.elapsed() - bg_time - mbg_time;
    eprintln!("BG/NBD {:?} in {bg_time:?}", bg.params);
    eprintln!("MBG/NBD {:?} in {mbg_time:?}", mbg.params);
    eprintln!("Pareto/NBD {:?} in {pnbd_time:?}", pnbd.params);
    let all = [
        (
            "BG/NBD",
            [bg.params.r, bg.params.alpha, bg.params.a, bg.params.b],
            bg.log_likelihood,
        ),
        (
            "MBG/NBD",
            [mbg.params.r, mbg.params.alpha, mbg.params.a, mbg.params.b],
            mbg.log_likelihood,
        ),
        (
            "Pareto/NBD",
            [
                pnbd.params.r,
                pnbd.params.alpha,
                pnbd.params.s,
                pnbd.params.beta,
            ],
            pnbd.log_likelihood,
        ),
    ];
    for (name, params, ll) in all {
        assert!(
            params.iter().all(|v| v.is_finite() && *v > 0.0) && ll.is_finite(),
            "{name}: {params:?} LL {ll}"
        );
    }
    // Recording purchase times to the week biases the estimates, but the
    // fit must still be a maximum: at least as likely as the true values.
    let truth = BgNbdParams::new(r, alpha, a, b).unwrap();
    assert!(bg.log_likelihood >= truth.log_likelihood(&rows));
}

#[test]
fn bgbb_and_sbg_predictions_are_well_behaved() {
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    for _ in 0..PARAMETER_DRAWS {
        let p = BgBbParams::new(
            log_uniform(&mut rng),
            log_uniform(&mut rng),
            log_uniform(&mut rng),
            log_uniform(&mut rng),
        )
        .unwrap();
        let n = rng.gen_range(1..=400u32);
        let x = rng.gen_range(0..=n);
        let t_x = if x == 0 { 0 } else { rng.gen_range(x..=n) };
        for c in [
            BgBbSummary::new(x, t_x, n),
            BgBbSummary::new(0, 0, n),
            BgBbSummary::new(n, n, n),
            BgBbSummary::new(1, 1, n),
        ] {
            let alive = p.p_alive(&c);
            assert!((0.0..=1.0).contains(&alive), "{p:?} {c:?}: {alive}");
            assert!(p.log_likelihood_one(&c).is_finite(), "{p:?} {c:?}");
            let mut previous = 0.0;
            // Crosses the switch from direct to telescoped sums at 1000.
            for n_star in [0, 1, 5, 52, 1000, 1001, 5000] {
                let e = p.expected_transactions(n_star, &c);
                assert!(e.is_finite() && e >= previous * (1.0 - MONOTONE_RELATIVE_SLACK));
                assert!(e <= f64::from(n_star) + 1e-9, "{p:?} {c:?} {n_star}: {e}");
                previous = e;
            }
        }
        let s = SbgParams::new(p.alpha, p.beta).unwrap();
        let curve = s.survival_curve(200);
        assert!(curve.windows(2).all(|w| w[1] <= w[0] && w[1] >= 0.0));
        for d in [0.01, 0.1, 1.0] {
            let derl = s.derl(d, rng.gen_range(0..50));
            // At most Σ (1+d)^−k = (1+d)/d, the DERL of a customer who never
            // cancels.
            assert!(derl.is_finite() && derl > 0.0 && derl <= (1.0 + d) / d + 1e-9);
        }
    }
}
