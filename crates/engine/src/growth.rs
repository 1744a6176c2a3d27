//! The growth report: how the customer base's revenue grows or shrinks.
//! For now subscription revenue (MRR, seed 003 and SPEC §3, see
//! `metrics/mrr.rs`); further growth metrics belong here too.

use crate::report::Clock;
use crate::{metrics, Engine, EngineError, Params, Report, ReportRequest};

impl Engine {
    /// The growth report: `mrr` (MRR, ARR, movements, retention, quick
    /// ratio, ARPA and subscription LTV per period) and `mrr_movements`
    /// (each customer's movement per snapshot step), under the MRR settings
    /// of the configuration (`mrr_*`).
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
        let sections = metrics::mrr::sections(self.context(), &p).await?;
        clock.lap("mrr");
        Ok(self.finish(p.as_of(), sections))
    }
}
