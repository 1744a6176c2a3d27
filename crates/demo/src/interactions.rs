//! Support tickets, contacts and survey answers, driven by what the customer
//! bought and how it went.

use crate::sink::Sinks;
use crate::window::{DAY, HOUR, MINUTE, MONTH};
use crate::world::{between, chance, exp, pick, weighted, Ctx, History, Person, Stats};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// Days between two email campaigns.
const CAMPAIGN_EVERY: i64 = 14 * DAY;
/// Share of consenting customers a campaign targets.
const CAMPAIGN_REACH: f64 = 0.08;
/// Satisfaction 1–5 weights after a complaint and after anything else.
const SATISFACTION: [[f64; 5]; 2] = [[25.0, 30.0, 25.0, 15.0, 5.0], [3.0, 5.0, 12.0, 35.0, 45.0]];

/// Writes the customer's tickets, contacts and survey answers.
pub(crate) fn interactions(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    hist: &mut History,
    sinks: &mut Sinks,
    stats: &mut Stats,
) {
    support(ctx, rng, person, hist, sinks);
    contacts(ctx, rng, person, hist, sinks, stats);
    nps(ctx, rng, person, hist, sinks);
}

/// Emails to a prospect in the weeks after the lead, if they consented.
pub(crate) fn nurture(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    sinks: &mut Sinks,
    stats: &mut Stats,
) {
    if !person.consent {
        return;
    }
    let mut c = Contacts { ctx, person, n: 0 };
    for week in 1..=3 {
        let sent = person.signup + week * 7 * DAY + between(rng, 0, HOUR);
        if chance(rng, 0.8) && c.write(sinks, sent, "email", "outbound", "sent") {
            stats.emails[ctx.win.month_of(sent)] += 1;
            if chance(rng, 0.3) {
                c.write(
                    sinks,
                    sent + exp(rng, 8.0 * HOUR as f64) as i64,
                    "email",
                    "outbound",
                    "opened",
                );
            }
        }
    }
}

/// Tickets after some orders, before most refunds, during subscriptions and
/// now and then about the account; each opened, then resolved days later.
fn support(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    hist: &mut History,
    sinks: &mut Sinks,
) {
    let mut tickets = Tickets {
        ctx,
        person,
        n: 0,
        ticket: 0,
    };
    for k in 0..hist.orders.len() {
        let o = hist.orders[k];
        if let Some(r) = o.refund {
            if chance(rng, 0.5) {
                let t = between(rng, o.time + HOUR, r);
                tickets.open(rng, sinks, hist, t, 1);
                continue;
            }
        }
        if chance(rng, 0.04) {
            let t = o.time + between(rng, HOUR, 10 * DAY);
            let kind = weighted(rng, &[55.0, 20.0, 25.0]);
            tickets.open(rng, sinks, hist, t, kind);
        }
    }
    for s in 0..hist.spans.len() {
        let (from, to, _) = hist.spans[s];
        let mut t = from;
        while t < to {
            if chance(rng, 0.03) {
                let at = between(rng, t, (t + MONTH).min(to));
                let kind = weighted(rng, &[60.0, 20.0, 20.0]);
                tickets.open(rng, sinks, hist, at, kind);
            }
            t += MONTH;
        }
    }
    if chance(rng, 0.08) {
        let t = between(rng, person.signup, ctx.win.end);
        tickets.open(rng, sinks, hist, t, 0);
    }
}

struct Tickets<'a, 'c> {
    ctx: &'a Ctx<'c>,
    person: &'a Person,
    n: usize,
    ticket: usize,
}

impl Tickets<'_, '_> {
    /// Opens a ticket of `kind` (0 question, 1 complaint, 2 request) at `t`,
    /// resolves it later if within the window, maybe with a CSAT answer.
    fn open(
        &mut self,
        rng: &mut ChaCha8Rng,
        sinks: &mut Sinks,
        hist: &mut History,
        t: i64,
        kind: usize,
    ) {
        let end = self.ctx.win.end;
        if t >= end {
            return;
        }
        self.ticket += 1;
        let channel = ["email", "chat", "phone", "web"][weighted(rng, &[35.0, 30.0, 20.0, 15.0])];
        let topic = *pick(
            rng,
            [
                &["product", "delivery", "account"][..],
                &["delivery", "damaged_item", "billing", "quality"],
                &["return", "invoice", "address_change"],
            ][kind],
        );
        if kind == 1 {
            hist.complaints.push(t);
        }
        let resolved = t + exp(rng, 1.5 * DAY as f64) as i64 + 30 * MINUTE;
        let satisfaction =
            chance(rng, 0.6).then(|| weighted(rng, &SATISFACTION[(kind != 1) as usize]) as i64 + 1);
        self.write(sinks, t, channel, topic, kind, "opened", None);
        if resolved >= end {
            return;
        }
        self.write(
            sinks,
            resolved,
            channel,
            topic,
            kind,
            "resolved",
            satisfaction,
        );
        if chance(rng, 0.25) {
            let at = resolved + between(rng, HOUR, 2 * DAY);
            let drawn = weighted(rng, &SATISFACTION[(kind != 1) as usize]) as i64 + 1;
            let score = satisfaction.map_or(drawn, |s| (s + rng.gen_range(-1..=1)).clamp(1, 5));
            if at < end {
                let p = self.person;
                let s = sinks
                    .surveys
                    .fmt(format_args!("v{}-t{}", p.ev, self.ticket))
                    .str(&p.id)
                    .time(at);
                s.str("csat").int(score).null().end();
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write(
        &mut self,
        sinks: &mut Sinks,
        t: i64,
        channel: &str,
        topic: &str,
        kind: usize,
        status: &str,
        satisfaction: Option<i64>,
    ) {
        self.n += 1;
        let p = self.person;
        let s = sinks.support.id("t", &p.ev, self.n).str(&p.id).time(t);
        s.id("T", &p.ev, self.ticket).str(channel).str(topic);
        s.str(["question", "complaint", "request"][kind])
            .str(status);
        match satisfaction {
            Some(v) => s.int(v),
            None => s.null(),
        }
        .end();
    }
}

struct Contacts<'a, 'c> {
    ctx: &'a Ctx<'c>,
    person: &'a Person,
    n: usize,
}

impl Contacts<'_, '_> {
    /// Writes a contact if within the window.
    fn write(
        &mut self,
        sinks: &mut Sinks,
        t: i64,
        channel: &str,
        direction: &str,
        action: &str,
    ) -> bool {
        if t >= self.ctx.win.end || t < self.ctx.win.start {
            return false;
        }
        self.n += 1;
        let p = self.person;
        let s = sinks.contacts.id("c", &p.ev, self.n).str(&p.id).time(t);
        s.str(channel).str(direction).str(action).end();
        true
    }
}

/// Campaign emails (sent, then maybe opened and clicked: events of the
/// outbound email), web visits before orders, inbound contacts on every
/// channel and win-back calls.
fn contacts(
    ctx: &Ctx,
    rng: &mut ChaCha8Rng,
    person: &Person,
    hist: &History,
    sinks: &mut Sinks,
    stats: &mut Stats,
) {
    let win = ctx.win;
    let mut c = Contacts { ctx, person, n: 0 };
    let last = hist.last_order().unwrap_or(person.signup);
    let subscribed_until = hist.spans.iter().map(|s| s.1).max().unwrap_or(0);
    if person.consent {
        // Campaigns go out at 09:00 every two weeks; each reaches a share of
        // the list, so skip a geometric number of them.
        let first = win.start + 2 * DAY + 9 * HOUR;
        let mut k = ((person.signup - first).max(0) + CAMPAIGN_EVERY - 1) / CAMPAIGN_EVERY;
        let skip = (1.0 - CAMPAIGN_REACH).ln();
        loop {
            k += ((1.0 - rng.gen::<f64>()).ln() / skip) as i64;
            let sent = first + k * CAMPAIGN_EVERY + between(rng, 0, 2 * HOUR);
            if !c.write(sinks, sent, "email", "outbound", "sent") {
                break;
            }
            stats.emails[win.month_of(sent)] += 1;
            let engaged = sent < last + 120 * DAY || sent < subscribed_until;
            if chance(rng, if engaged { 0.45 } else { 0.12 }) {
                let opened = sent + exp(rng, 8.0 * HOUR as f64) as i64;
                if c.write(sinks, opened, "email", "outbound", "opened") && chance(rng, 0.3) {
                    c.write(
                        sinks,
                        opened + between(rng, 10_000_000, 10 * MINUTE),
                        "email",
                        "outbound",
                        "clicked",
                    );
                }
            }
            k += 1;
        }
    }
    for o in &hist.orders {
        if chance(rng, 0.15) {
            let t = (o.time - between(rng, 5 * MINUTE, 2 * DAY)).max(person.signup);
            c.write(sinks, t, "web", "inbound", "visited");
        }
    }
    const INBOUND: [(&str, &str); 5] = [
        ("email", "replied"),
        ("chat", "replied"),
        ("phone", "called"),
        ("social", "replied"),
        ("in_person", "visited"),
    ];
    let until = (last.max(subscribed_until) + 60 * DAY).min(win.end);
    while chance(rng, 0.3) {
        let (channel, action) = INBOUND[weighted(rng, &[25.0, 20.0, 20.0, 15.0, 20.0])];
        c.write(
            sinks,
            between(rng, person.signup, until),
            channel,
            "inbound",
            action,
        );
    }
    let lapsed = last + 90 * DAY;
    if lapsed < win.end && lapsed > subscribed_until {
        if chance(rng, 0.05) {
            c.write(
                sinks,
                lapsed + between(rng, 0, 30 * DAY),
                "phone",
                "outbound",
                "called",
            );
        } else if chance(rng, 0.03) {
            c.write(
                sinks,
                lapsed + between(rng, 0, 30 * DAY),
                "social",
                "outbound",
                "sent",
            );
        }
    }
}

/// NPS answers from a quarter of the customers, once or twice, a few weeks
/// after an order. The score rises with the orders so far and falls after a
/// complaint or a refund.
fn nps(ctx: &Ctx, rng: &mut ChaCha8Rng, person: &Person, hist: &History, sinks: &mut Sinks) {
    if !chance(rng, 0.25) {
        return;
    }
    let answers = if chance(rng, 0.3) { 2 } else { 1 };
    let mut t = pick(rng, &hist.orders).time + between(rng, 3 * DAY, 30 * DAY);
    for k in 1..=answers {
        if t >= ctx.win.end {
            return;
        }
        let orders = hist.orders.partition_point(|o| o.time <= t);
        let refunded = hist.orders[..orders]
            .iter()
            .any(|o| o.refund.is_some_and(|r| r <= t));
        let complained = hist.complaints.iter().any(|c| *c <= t);
        let noise: f64 = StandardNormal.sample(rng);
        let latent = 7.4 + 0.9 * (orders as f64).ln()
            - 2.5 * f64::from(u8::from(complained))
            - 1.5 * f64::from(u8::from(refunded))
            + 1.5 * noise;
        let score = latent.round().clamp(0.0, 10.0) as i64;
        let comment = chance(rng, 0.3).then(|| match score {
            9..=10 => *pick(
                rng,
                &[
                    "Love the products",
                    "Fast delivery, great service",
                    "Always reliable",
                ],
            ),
            7..=8 => *pick(rng, &["Good, but could be cheaper", "Fine overall"]),
            _ => *pick(
                rng,
                &["Delivery was late", "Support did not help", "Too expensive"],
            ),
        });
        let s = sinks.surveys.id("v", &person.ev, k).str(&person.id).time(t);
        s.str("nps").int(score).opt_str(comment).end();
        t += between(rng, 90 * DAY, 270 * DAY);
    }
}
