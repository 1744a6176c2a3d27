//! Subscriptions (trials, plan changes, pauses, failed payments,
//! cancellations, restarts) and the product usage of subscribers.
//!
//! Churn is shifted-beta-geometric (Fader and Hardie 2007): each subscriber
//! has a monthly cancellation probability θ ~ Beta(α, β), applied at every
//! renewal (a quarterly or yearly renewal survives 3 or 12 months of it).

use crate::sink::Sinks;
use crate::window::{DAY, HOUR, MINUTE, MONTH, WEEK};
use crate::world::{between, chance, exp, pick, weighted, Ctx, History, Person};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Beta, Distribution};

/// A plan: name, kind, amount per billing period in minor units, billing
/// interval and its length in months.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Plan {
    name: &'static str,
    kind: &'static str,
    cents: i64,
    interval: &'static str,
    months: i64,
}

const fn plan(
    name: &'static str,
    kind: &'static str,
    cents: i64,
    interval: &'static str,
    months: i64,
) -> Plan {
    Plan {
        name,
        kind,
        cents,
        interval,
        months,
    }
}

const BASIC: Plan = plan("basic", "service", 990, "month", 1);
const PRO: Plan = plan("pro", "service", 2990, "month", 1);
const ANNUAL: Plan = plan("annual", "service", 29_900, "year", 12);
const BOX: Plan = plan("box_monthly", "product", 2490, "month", 1);
const BOX_QUARTER: Plan = plan("box_quarterly", "product", 6490, "quarter", 3);

/// Length of a trial.
const TRIAL: i64 = 14 * DAY;
/// Usage events per week of a subscribed span.
const USAGE_PER_WEEK: f64 = 0.4;
/// Properties of usage events.
const LOGIN_PROPERTIES: [&str; 3] = [
    r#"{"device":"web"}"#,
    r#"{"device":"ios"}"#,
    r#"{"device":"android"}"#,
];
const FEATURE_PROPERTIES: [&str; 4] = [
    r#"{"feature":"reports"}"#,
    r#"{"feature":"dashboard"}"#,
    r#"{"feature":"export"}"#,
    r#"{"feature":"api"}"#,
];
/// Before a cancellation, usage falls to this share over this long.
const FADING: (f64, i64) = (0.3, 45 * DAY);

/// Writes the customer's subscriptions, if any, and their usage; records the
/// subscribed spans in `hist`.
pub(crate) fn subscriptions(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    hist: &mut History,
    sinks: &mut Sinks,
) {
    let params = &ctx.cfg.subscription;
    let interest = [0.6, 1.2, 1.6][person.plan_interest as usize];
    if !chance(rng, params.share * interest) {
        return;
    }
    let end = ctx.win.end;
    let mut start = person.signup
        + if chance(rng, 0.5) {
            between(rng, MINUTE, HOUR)
        } else {
            exp(rng, 45.0 * DAY as f64) as i64
        };
    let theta: f64 = Beta::new(params.alpha, params.beta)
        .expect("validated alpha, beta")
        .sample(rng);
    let mut w = Writer {
        ctx,
        person,
        sinks,
        n: 0,
        sub: 0,
    };
    while start < end {
        w.sub += 1;
        let plan = choose_plan(rng, person.plan_interest);
        let Some(cancelled) = one(&mut w, rng, hist, plan, start, theta) else {
            break;
        };
        // A few come back after a while with a new subscription.
        if !chance(rng, 0.15) {
            break;
        }
        start = cancelled + between(rng, 30 * DAY, 180 * DAY);
    }
    usage(ctx, rng, person, hist, sinks);
}

/// A prospect's trial that never converted.
pub(crate) fn trial_only(ctx: &Ctx, rng: &mut ChaCha8Rng, person: &Person, sinks: &mut Sinks) {
    let start = person.signup + between(rng, MINUTE, 7 * DAY);
    let plan = if chance(rng, 0.6) { BASIC } else { PRO };
    let mut w = Writer {
        ctx,
        person,
        sinks,
        n: 0,
        sub: 1,
    };
    w.emit(start, plan, "trialing");
    w.emit(start + TRIAL, plan, "ended");
}

fn choose_plan(rng: &mut ChaCha8Rng, interest: u8) -> Plan {
    if chance(rng, 0.35) {
        return if chance(rng, 0.7) { BOX } else { BOX_QUARTER };
    }
    let weights: &[f64] = if interest == 2 {
        &[20.0, 60.0, 20.0]
    } else {
        &[60.0, 25.0, 15.0]
    };
    [BASIC, PRO, ANNUAL][weighted(rng, weights)]
}

struct Writer<'a, 'c> {
    ctx: &'a Ctx<'c>,
    person: &'a Person,
    sinks: &'a mut Sinks,
    /// Events written so far.
    n: usize,
    /// Number of the current subscription.
    sub: usize,
}

impl Writer<'_, '_> {
    /// Writes a status change, if within the window.
    fn emit(&mut self, t: i64, plan: Plan, status: &str) -> bool {
        if t >= self.ctx.win.end {
            return false;
        }
        self.n += 1;
        let p = self.person;
        self.sinks
            .subscriptions
            .id("b", &p.ev, self.n)
            .str(&p.id)
            .time(t)
            .id("S", &p.ev, self.sub)
            .str(plan.kind)
            .str(plan.name)
            .str(status)
            .int(plan.cents)
            .str(self.ctx.cfg.currency)
            .str(plan.interval)
            .int(1)
            .end();
        true
    }
}

/// One subscription from `start`: returns when it was cancelled, or `None`
/// when it is still running at the end or ended in a way that never restarts.
fn one(
    w: &mut Writer,
    rng: &mut ChaCha8Rng,
    hist: &mut History,
    mut plan: Plan,
    start: i64,
    theta: f64,
) -> Option<i64> {
    let end = w.ctx.win.end;
    let mut from = start; // start of the current subscribed span
    let mut period = start; // start of the current billing period
    if plan.kind == "service" && plan.months == 1 && chance(rng, 0.35) {
        w.emit(start, plan, "trialing");
        period = start + TRIAL;
        if !chance(rng, 0.7) {
            w.emit(period, plan, "ended");
            hist.spans.push((from, period.min(end), false));
            return None;
        }
        if !w.emit(period, plan, "active") {
            hist.spans.push((from, end, false));
            return None;
        }
    } else {
        w.emit(start, plan, "active");
    }
    loop {
        let renewal = period + plan.months * MONTH;
        // Plan changes inside a monthly service period.
        if plan.kind == "service" && plan.months == 1 {
            let change = if plan == BASIC && chance(rng, 0.03) {
                Some(PRO)
            } else if plan == PRO && chance(rng, 0.02) {
                Some(BASIC)
            } else {
                None
            };
            if let Some(new) = change {
                if w.emit(between(rng, period + DAY, renewal - DAY), new, "active") {
                    plan = new;
                }
            }
        }
        if renewal >= end {
            hist.spans.push((from, end, false));
            return None;
        }
        if !chance(rng, (1.0 - theta).powi(plan.months as i32)) {
            w.emit(renewal, plan, "cancelled");
            hist.spans.push((from, renewal, true));
            return Some(renewal);
        }
        if chance(rng, 0.02) {
            // A failed payment: fixed within days, or the end.
            w.emit(renewal, plan, "past_due");
            if !chance(rng, 0.8) {
                let t = renewal + 7 * DAY;
                w.emit(t, plan, "cancelled");
                hist.spans.push((from, t.min(end), true));
                return (t < end).then_some(t);
            }
            w.emit(renewal + between(rng, HOUR, 5 * DAY), plan, "active");
        } else if plan.months == 1 && chance(rng, 0.015) {
            // A pause of one or two months.
            w.emit(renewal, plan, "paused");
            hist.spans.push((from, renewal, false));
            let resume = renewal + *pick(rng, &[1, 2]) * MONTH;
            if !w.emit(resume, plan, "active") {
                return None;
            }
            from = resume;
            period = resume;
            continue;
        }
        period = renewal;
    }
}

/// Logins and feature use during subscribed spans, fading before a
/// cancellation.
fn usage(ctx: &Ctx, rng: &mut ChaCha8Rng, person: &Person, hist: &History, sinks: &mut Sinks) {
    let mean_gap = WEEK as f64 / USAGE_PER_WEEK;
    let mut n = 0;
    for &(from, to, cancelled) in &hist.spans {
        let mut t = from;
        loop {
            t += exp(rng, mean_gap) as i64 + 1;
            if t >= to || t >= ctx.win.end {
                break;
            }
            if cancelled && t > to - FADING.1 && !chance(rng, FADING.0) {
                continue;
            }
            n += 1;
            let s = sinks.usage.id("u", &person.ev, n).str(&person.id).time(t);
            match weighted(rng, &[60.0, 30.0, 10.0]) {
                0 => s.str("login").str(pick::<&str>(rng, &LOGIN_PROPERTIES)),
                1 => s
                    .str("feature_use")
                    .str(pick::<&str>(rng, &FEATURE_PROPERTIES)),
                _ => s.str("settings").null(),
            }
            .end();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_have_the_advertised_prices() {
        assert_eq!((BASIC.cents, PRO.cents, ANNUAL.cents), (990, 2990, 29_900));
        assert_eq!(ANNUAL.interval, "year");
        for p in [BASIC, PRO, ANNUAL, BOX, BOX_QUARTER] {
            assert!(clientela_core::kind::BILLING_INTERVALS.contains(&p.interval));
        }
    }
}
