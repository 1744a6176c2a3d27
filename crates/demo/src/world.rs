//! What every generator shares: the run's context with its random streams,
//! the person being generated, their history so far and run-wide counts.

use crate::config::DemoConfig;
use crate::window::Window;
use rand::Rng;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution, Gamma};

/// Independent random streams of one person, so that adding draws to one
/// generator never shifts another's.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stream {
    /// The latent purchase traits λ, p, ν (also read by referral choice).
    Traits = 0,
    /// Register data, lead and referral.
    Profile = 1,
    /// Orders, refunds, loyalty.
    Orders = 2,
    /// Subscriptions and usage.
    Subscriptions = 3,
    /// Support, contacts and surveys.
    Interactions = 4,
}

/// Streams per person; stream numbers are `person * STREAMS + stream`.
const STREAMS: u64 = 8;

/// The latent BG/NBD and Gamma-Gamma traits of one customer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Traits {
    /// Purchase rate per week while alive.
    pub lambda: f64,
    /// Dropout probability after each repeat purchase.
    pub p: f64,
    /// Rate of the order-value distribution (mean value p_shape / ν).
    pub nu: f64,
}

/// Read-only context of one generation run.
pub(crate) struct Ctx<'a> {
    pub cfg: &'a DemoConfig,
    pub win: &'a Window,
    base: ChaCha8Rng,
    lambda: Gamma<f64>,
    dropout: Beta<f64>,
    nu: Gamma<f64>,
}

impl<'a> Ctx<'a> {
    /// The context of `cfg`, which must be valid.
    pub fn new(cfg: &'a DemoConfig, win: &'a Window) -> Self {
        let p = &cfg.purchase;
        Ctx {
            cfg,
            win,
            base: ChaCha8Rng::seed_from_u64(cfg.seed),
            lambda: Gamma::new(p.r, 1.0 / p.alpha).expect("validated r, alpha"),
            dropout: Beta::new(p.a, p.b).expect("validated a, b"),
            nu: Gamma::new(p.q, 1.0 / p.gamma).expect("validated q, gamma"),
        }
    }

    /// The random stream `stream` of person `person` (customers first, then
    /// prospects): a function of the seed and these two numbers only.
    pub fn rng(&self, person: usize, stream: Stream) -> ChaCha8Rng {
        let mut rng = self.base.clone();
        rng.set_stream(person as u64 * STREAMS + stream as u64);
        rng
    }

    /// A stream not tied to any person (spend), numbered from the top.
    pub fn global_rng(&self, n: u64) -> ChaCha8Rng {
        let mut rng = self.base.clone();
        rng.set_stream(u64::MAX - n);
        rng
    }

    /// Customer `i`'s purchase traits.
    pub fn traits(&self, i: usize) -> Traits {
        let mut rng = self.rng(i, Stream::Traits);
        Traits {
            lambda: self.lambda.sample(&mut rng),
            p: self.dropout.sample(&mut rng),
            nu: self.nu.sample(&mut rng),
        }
    }
}

/// The person being generated.
#[derive(Debug, Default)]
pub(crate) struct Person {
    /// Index among all people: customers `0..n`, then prospects.
    pub index: usize,
    /// `C0000001` or `L0000001`.
    pub id: String,
    /// Stem of the person's event ids: `12` for `C0000012`, `L7` for `L0000007`.
    pub ev: String,
    /// Email address.
    pub email: String,
    /// Sign-up (customers) or lead (prospects) time.
    pub signup: i64,
    /// Index into [`crate::ACQUISITION_CHANNELS`].
    pub channel: usize,
    /// Marketing consent.
    pub consent: bool,
    /// Interests, a bit mask over [`crate::customers::TAGS`].
    pub tags: u8,
    /// Subscription plan interest: 0 none, 1 basic, 2 pro.
    pub plan_interest: u8,
}

/// One order of the person, before refunds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Order {
    pub time: i64,
    pub cents: i64,
    /// Time of the refund, if the order was refunded within the window.
    pub refund: Option<i64>,
}

/// What a customer has done so far, reused from one customer to the next.
#[derive(Debug, Default)]
pub(crate) struct History {
    /// Orders in time order.
    pub orders: Vec<Order>,
    /// Opening times of complaint tickets.
    pub complaints: Vec<i64>,
    /// Subscribed spans `(from, to, ends_in_cancellation)`.
    pub spans: Vec<(i64, i64, bool)>,
    /// Scratch for loyalty events `(time, points, is_refund)`.
    pub points: Vec<(i64, i64, bool)>,
}

impl History {
    pub fn clear(&mut self) {
        self.orders.clear();
        self.complaints.clear();
        self.spans.clear();
        self.points.clear();
    }

    /// Time of the last order, if any.
    pub fn last_order(&self) -> Option<i64> {
        self.orders.last().map(|o| o.time)
    }
}

/// Run-wide counts that drive marketing spend, per month of the window.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stats {
    /// New customers by month and acquisition channel.
    pub new_customers: Vec<[u64; 6]>,
    /// Outbound emails sent by month.
    pub emails: Vec<u64>,
    /// Loyalty points redeemed by month.
    pub redeemed: Vec<i64>,
}

impl Stats {
    pub fn new(months: usize) -> Self {
        Stats {
            new_customers: vec![[0; 6]; months],
            emails: vec![0; months],
            redeemed: vec![0; months],
        }
    }

    pub fn add(&mut self, other: &Stats) {
        for (a, b) in self.new_customers.iter_mut().zip(&other.new_customers) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.emails.iter_mut().zip(&other.emails) {
            *a += b;
        }
        for (a, b) in self.redeemed.iter_mut().zip(&other.redeemed) {
            *a += b;
        }
    }
}

/// Whether an event with probability `p` happens.
pub(crate) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    rng.gen::<f64>() < p
}

/// An exponential draw with the given mean.
pub(crate) fn exp(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

/// A uniform time offset in `[lo, hi)` µs.
pub(crate) fn between(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> i64 {
    if hi <= lo {
        lo
    } else {
        rng.gen_range(lo..hi)
    }
}

/// An index drawn with the given weights.
pub(crate) fn weighted(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

/// One of `items`, uniformly.
pub(crate) fn pick<'s, T>(rng: &mut ChaCha8Rng, items: &'s [T]) -> &'s T {
    &items[rng.gen_range(0..items.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_depend_only_on_seed_person_and_stream() {
        let cfg = DemoConfig::default();
        let win = Window::new(&cfg);
        let ctx = Ctx::new(&cfg, &win);
        let a: u64 = ctx.rng(7, Stream::Orders).gen();
        let _ = ctx.rng(6, Stream::Orders).gen::<u64>();
        assert_eq!(a, ctx.rng(7, Stream::Orders).gen::<u64>());
        assert_ne!(a, ctx.rng(7, Stream::Profile).gen::<u64>());
        assert_ne!(a, ctx.rng(8, Stream::Orders).gen::<u64>());
        let t = ctx.traits(3);
        assert!(t.lambda > 0.0 && (0.0..=1.0).contains(&t.p) && t.nu > 0.0);
    }

    #[test]
    fn weighted_draws_follow_the_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0usize; 3];
        for _ in 0..30_000 {
            counts[weighted(&mut rng, &[1.0, 2.0, 0.0])] += 1;
        }
        assert_eq!(counts[2], 0);
        assert!((counts[1] as f64 / counts[0] as f64 - 2.0).abs() < 0.1);
    }
}
