//! Marketing spend per month: acquisition spend per channel in proportion
//! to the customers it brought, retention spend on email and loyalty.

use crate::config::ACQUISITION_CHANNELS;
use crate::sink::Sink;
use crate::world::{Ctx, Stats};
use clientela_core::RecordKind;
use rand_distr::{Distribution, StandardNormal};

/// Writes the spend rows of every month of the window.
pub(crate) fn spend(ctx: &Ctx, stats: &Stats) -> Sink {
    let params = &ctx.cfg.spend;
    let mut rng = ctx.global_rng(0);
    let mut sink = Sink::new(RecordKind::Spend);
    let mut noisy = |x: f64| {
        let z: f64 = StandardNormal.sample(&mut rng);
        x * (1.0 + params.noise * z).max(0.3)
    };
    for (m, &(year, month)) in ctx.win.months.iter().enumerate() {
        let t = ctx.win.month_starts[m];
        let mut row = |category: &str, short: &str, channel: &str, amount: f64| {
            let cents = (amount * 100.0).round() as i64;
            if cents > 0 {
                sink.fmt(format_args!("s{year}{month:02}-{short}-{channel}"))
                    .time(t)
                    .str(category)
                    .str(channel)
                    .int(cents)
                    .str(ctx.cfg.currency)
                    .end();
            }
        };
        for (c, channel) in ACQUISITION_CHANNELS.iter().enumerate() {
            let acquired = stats.new_customers[m][c] as f64;
            row("acquisition", "a", channel, noisy(params.cac[c] * acquired));
        }
        let email = params.email_fixed + params.email_per_send * stats.emails[m] as f64;
        row("retention", "r", "email", noisy(email));
        row(
            "retention",
            "r",
            "loyalty",
            params.point_value * stats.redeemed[m] as f64,
        );
    }
    sink
}
