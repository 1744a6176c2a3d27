//! Orders, refunds and loyalty points.
//!
//! Purchases follow BG/NBD exactly (Fader, Hardie and Lee 2005): the first
//! order at or soon after sign-up, then exponential gaps with rate λ while
//! alive, and a dropout with probability p after each repeat purchase. Order
//! values follow Gamma-Gamma: Gamma(shape p, rate ν) per order.

use crate::customers::TAGS;
use crate::sink::{push_int, Sinks};
use crate::window::{DAY, MINUTE, WEEK};
use crate::world::{
    between, chance, exp, pick, weighted, Ctx, History, Order, Person, Stats, Traits,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma};

/// Share of orders refunded a few days later.
const REFUND_SHARE: f64 = 0.02;
/// Share of customers in the loyalty programme.
const LOYALTY_SHARE: f64 = 0.25;
/// Smallest order, in minor units.
const MIN_ORDER: i64 = 100;
/// Categories of items: the interests, plus two more.
const CATEGORIES: [&str; 8] = [
    "music", "sport", "tech", "fashion", "travel", "food", "home", "books",
];
const SKU_PREFIX: [&str; 8] = ["MU", "SP", "TE", "FA", "TR", "FO", "HO", "BO"];
const SALES_CHANNELS: [&str; 3] = ["web", "app", "store"];

/// Draws the customer's orders into `hist` and writes orders, refunds and
/// loyalty points.
pub(crate) fn orders(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    traits: &Traits,
    hist: &mut History,
    sinks: &mut Sinks,
    stats: &mut Stats,
) {
    purchases(ctx, rng, person, traits, &mut hist.orders);
    write(ctx, rng, person, &hist.orders, sinks);
    if chance(rng, LOYALTY_SHARE) {
        loyalty(ctx, rng, person, hist, sinks, stats);
    }
}

/// The BG/NBD purchase process with Gamma-Gamma values, and refunds.
fn purchases(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    traits: &Traits,
    orders: &mut Vec<Order>,
) {
    let end = ctx.win.end;
    let value = Gamma::new(ctx.cfg.purchase.p, 1.0 / traits.nu).expect("validated p, and nu > 0");
    let draw = |rng: &mut ChaCha8Rng, time: i64| {
        let cents = ((value.sample(rng) * 100.0).round() as i64).max(MIN_ORDER);
        let refund = chance(rng, REFUND_SHARE)
            .then(|| time + between(rng, 2 * DAY, 14 * DAY))
            .filter(|r| *r < end);
        Order {
            time,
            cents,
            refund,
        }
    };
    // The first order at sign-up, or within two weeks for some.
    let delay = if chance(rng, 0.7) {
        exp(rng, 20.0 * MINUTE as f64) as i64
    } else {
        between(rng, 0, 14 * DAY)
    };
    let mut t = (person.signup + delay).min(end - 1);
    orders.push(draw(rng, t));
    let mean_gap = WEEK as f64 / traits.lambda;
    loop {
        let gap = exp(rng, mean_gap);
        // NaN or infinite when λ underflowed to 0: no more purchases.
        if gap.is_nan() || gap >= (end - t) as f64 {
            break;
        }
        t += (gap as i64).max(1);
        if t >= end {
            break;
        }
        orders.push(draw(rng, t));
        if chance(rng, traits.p) {
            break;
        }
    }
}

/// Writes the orders with channel, coupon and items, and their refunds.
fn write(ctx: &Ctx, rng: &mut ChaCha8Rng, person: &Person, orders: &[Order], sinks: &mut Sinks) {
    let preferred = weighted(rng, &[55.0, 30.0, 15.0]);
    let mut items = Items::default();
    for (k, o) in orders.iter().enumerate() {
        let channel = if chance(rng, 0.7) {
            preferred
        } else {
            rng.gen_range(0..3)
        };
        let coupon = coupon(ctx, rng, k, o.time);
        items.draw(rng, person.tags, o.cents);
        let s = sinks
            .orders
            .id("o", &person.ev, k + 1)
            .str(&person.id)
            .time(o.time);
        s.int(o.cents)
            .str(ctx.cfg.currency)
            .int(items.quantity())
            .str(SALES_CHANNELS[channel]);
        match coupon {
            // The discount off the list price that leaves the amount paid.
            Some((code, pct)) => s
                .str(code)
                .int((o.cents * pct + (100 - pct) / 2) / (100 - pct)),
            None => s.null().null(),
        };
        s.with(|s| items.write_json(s)).end();
        if let Some(r) = o.refund {
            // The refund's id is its order's id with an `r`.
            let s = sinks.orders.with(|s| {
                s.push('o');
                s.push_str(&person.ev);
                s.push('-');
                push_int(s, k as u64 + 1);
                s.push('r');
            });
            let s = s.str(&person.id).time(r);
            s.int(-o.cents)
                .str(ctx.cfg.currency)
                .int(-items.quantity())
                .str(SALES_CHANNELS[channel]);
            s.null().null().null().end();
        }
    }
}

/// A coupon code and its percentage for the `k`-th order, sometimes.
fn coupon(ctx: &Ctx, rng: &mut ChaCha8Rng, k: usize, time: i64) -> Option<(&'static str, i64)> {
    if k == 0 && chance(rng, 0.3) {
        Some(("WELCOME10", 10))
    } else if ctx.win.calendar_month(time) == 11 && chance(rng, 0.25) {
        Some(("BLACKFRIDAY20", 20))
    } else if chance(rng, 0.04) {
        Some(("SAVE15", 15))
    } else {
        None
    }
}

/// Points: a welcome bonus, floor(amount) per order, the same taken back on a
/// refund, and redemptions for rewards when the balance allows.
fn loyalty(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    hist: &mut History,
    sinks: &mut Sinks,
    stats: &mut Stats,
) {
    let end = ctx.win.end;
    hist.points.clear();
    for o in &hist.orders {
        hist.points.push((o.time, o.cents / 100, false));
        if let Some(r) = o.refund {
            hist.points.push((r, -(o.cents / 100), true));
        }
    }
    hist.points.sort_unstable_by_key(|e| e.0);
    let mut n = 0;
    let mut write = |t: i64, points: i64, reason: &str, reward: Option<&str>| {
        n += 1;
        sinks
            .loyalty
            .id("y", &person.ev, n)
            .str(&person.id)
            .time(t)
            .int(points)
            .str(reason)
            .opt_str(reward)
            .end();
    };
    let first = hist.orders[0].time;
    write(first, 100, "welcome", None);
    let mut balance = 100;
    for &(t, points, is_refund) in &hist.points {
        if is_refund {
            let taken = (-points).min(balance);
            if taken > 0 {
                write(t, -taken, "refund", None);
                balance -= taken;
            }
            continue;
        }
        write(t, points, "purchase", None);
        balance += points;
        if balance >= 500 && chance(rng, 0.3) {
            let (cost, reward) = if balance >= 1000 && chance(rng, 0.4) {
                (1000, "voucher_10")
            } else {
                *pick(rng, &[(500, "voucher_5"), (500, "free_shipping")])
            };
            let at = t + between(rng, MINUTE, 3 * DAY);
            if at < end {
                write(at, -cost, "redemption", Some(reward));
                balance -= cost;
                stats.redeemed[ctx.win.month_of(at)] += cost;
            }
        }
    }
}

/// One to three order lines whose total is the order amount.
#[derive(Default)]
struct Items {
    lines: [(usize, u16, i64, i64); 3], // (category, sku number, qty, unit price in minor units)
    len: usize,
}

impl Items {
    fn draw(&mut self, rng: &mut ChaCha8Rng, tags: u8, cents: i64) {
        let wanted =
            [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3][rng.gen_range(0..20)];
        self.len = wanted.min((cents / MIN_ORDER) as usize).max(1);
        let mut left = cents;
        for k in 0..self.len {
            let category = if tags != 0 && chance(rng, 0.75) {
                let mut c = rng.gen_range(0..TAGS.len());
                while tags & (1 << c) == 0 {
                    c = (c + 1) % TAGS.len();
                }
                c
            } else {
                rng.gen_range(0..CATEGORIES.len())
            };
            let sku = rng.gen_range(1..300);
            let rest = (self.len - k - 1) as i64;
            let (qty, price) = if rest == 0 {
                (1, left)
            } else {
                // Leave at least the minimum for each remaining line.
                let share = (left as f64 * rng.gen_range(0.3..0.7)) as i64;
                let part = share.clamp(MIN_ORDER, left - rest * MIN_ORDER);
                if part % 2 == 0 && chance(rng, 0.25) {
                    (2, part / 2)
                } else {
                    (1, part)
                }
            };
            left -= qty * price;
            self.lines[k] = (category, sku, qty, price);
        }
        debug_assert_eq!(left, 0);
    }

    fn quantity(&self) -> i64 {
        self.lines[..self.len].iter().map(|l| l.2).sum()
    }

    /// The lines as JSON: `[{"sku":"TE007","category":"tech","qty":2,"price":12.50}]`.
    fn write_json(&self, s: &mut String) {
        s.push('[');
        for (k, &(c, sku, qty, price)) in self.lines[..self.len].iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push_str(r#"{"sku":""#);
            s.push_str(SKU_PREFIX[c]);
            s.push((b'0' + (sku / 100) as u8) as char);
            s.push((b'0' + (sku / 10 % 10) as u8) as char);
            s.push((b'0' + (sku % 10) as u8) as char);
            s.push_str(r#"","category":""#);
            s.push_str(CATEGORIES[c]);
            s.push_str(r#"","qty":"#);
            push_int(s, qty as u64);
            s.push_str(r#","price":"#);
            push_int(s, (price / 100) as u64);
            s.push('.');
            s.push((b'0' + (price % 100 / 10) as u8) as char);
            s.push((b'0' + (price % 10) as u8) as char);
            s.push('}');
        }
        s.push(']');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    #[test]
    fn items_add_up_to_the_amount() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let mut items = Items::default();
        for cents in [100, 101, 250, 999, 4_990, 123_457] {
            for _ in 0..200 {
                items.draw(&mut rng, 0b100100, cents);
                let total: i64 = items.lines[..items.len].iter().map(|l| l.2 * l.3).sum();
                assert_eq!(total, cents);
                assert!(items.lines[..items.len].iter().all(|l| l.3 > 0));
            }
        }
        items.lines[0] = (2, 7, 2, 1_250);
        items.len = 1;
        let mut json = String::new();
        items.write_json(&mut json);
        assert_eq!(
            json,
            r#"[{"sku":"TE007","category":"tech","qty":2,"price":12.50}]"#
        );
    }
}
