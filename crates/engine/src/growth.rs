//! The growth report: how the customer base's revenue grows or shrinks.
//! Subscription revenue (MRR, seed 003 and SPEC §3, see `metrics/mrr.rs`),
//! cohorts (`metrics/cohorts.rs`), RFM segments (`metrics/rfm.rs`),
//! engagement (`metrics/engagement.rs`), loyalty (`metrics/loyalty.rs`),
//! acquisition (`metrics/acquisition.rs`), referrals
//! (`metrics/referrals.rs`) and customer retention cost
//! (`metrics/retention_cost.rs`); further growth metrics belong here too.

use crate::report::Clock;
use crate::value::FitRequest;
use crate::{concurrent, metrics, Engine, EngineError, Params, Report, ReportRequest};

impl Engine {
    /// The growth report: `mrr` (MRR, ARR, movements, retention, quick
    /// ratio, ARPA and subscription LTV per period) and `mrr_movements`
    /// (each customer's movement per snapshot step), under the MRR settings
    /// of the configuration (`mrr_*`); then `cohort_retention` and
    /// `cohort_revenue` (by `cohort_basis`, see `metrics/cohorts.rs`) and
    /// `rfm_segments` and `rfm_customers` (see `metrics/rfm.rs`, which also
    /// leaves the `customer_rfm` table registered); then `engagement`,
    /// `engagement_by_channel` and `stickiness_histogram`; then `loyalty`,
    /// `loyalty_tiers` (by `loyalty_tiers`) and `loyalty_balances`; then
    /// `acquisition` and `acquisition_trend` (per acquisition channel:
    /// leads, conversion, new customers, CAC, capital and CLV, LTV:CAC,
    /// payback), `referral_summary`, `referrers` and `referral_tree`, and
    /// `retention_cost` (CRC per period).
    pub async fn growth(&self, req: &ReportRequest) -> Result<Report, EngineError> {
        let mut clock = Clock::new();
        // Only a split needs the per-customer stage table (its attributes and
        // stage); without one, skip it and the purchase model fit it scores with.
        let p = match req.by {
            Some(_) => {
                let p = self.params(req).await?;
                self.stages(&p).await?;
                clock.lap("facts and stages");
                p
            }
            None => Params::resolve(req, self.last_day(), self.config())?,
        };
        // The steps below read only the canonical tables (and the stage
        // table of a split): they run at once while the value models are
        // fitted and the acquisition steps, which share one table, run here.
        let ctx = self.context();
        // Cohorts, RFM and acquisition read each customer's orders folded
        // once, instead of folding the orders three times.
        metrics::customer_orders::prepare(ctx, &p).await?;
        clock.lap("orders per customer");
        let steps = vec![
            concurrent::start(ctx, &p, "mrr", |ctx, p| async move {
                metrics::mrr::sections(&ctx, &p).await
            }),
            concurrent::start(ctx, &p, "cohorts", |ctx, p| async move {
                metrics::cohorts::sections(&ctx, &p).await
            }),
            concurrent::start(ctx, &p, "rfm", |ctx, p| async move {
                metrics::rfm::sections(&ctx, &p).await
            }),
            concurrent::start(ctx, &p, "engagement", |ctx, p| async move {
                metrics::engagement::sections(&ctx, &p).await
            }),
            concurrent::start(ctx, &p, "loyalty", |ctx, p| async move {
                metrics::loyalty::sections(&ctx, &p).await
            }),
        ];
        // One per-customer table (source, first payment, capital, periods
        // paid) serves the three plans below.
        // Predicted CLV per source needs the parameters only.
        let request = FitRequest {
            standard_errors: false,
            ..FitRequest::default()
        };
        let fit = self.fit_value_models(&p, request).await;
        let clv = metrics::acquisition::ClvModels::from_fit(fit);
        clock.lap("value models");
        metrics::acquisition::prepare(ctx, &p).await?;
        clock.lap("acquisition customers");
        let mut acquisition = metrics::acquisition::sections(ctx, &p, &clv).await?;
        clock.lap("acquisition");
        acquisition.extend(metrics::referrals::sections(ctx, &p).await?);
        clock.lap("referrals");
        acquisition.extend(metrics::retention_cost::sections(ctx, &p).await?);
        ctx.deregister_table(metrics::acquisition::CUSTOMERS)?;
        clock.lap("retention cost");
        let mut sections = concurrent::sections_of(steps).await?;
        metrics::customer_orders::release(ctx, &p)?;
        sections.extend(acquisition);
        clock.lap("steps run at once");
        Ok(self.finish(p.as_of(), sections))
    }
}
