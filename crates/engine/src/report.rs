//! A report: named tables of results, with money as exact decimals.

use crate::facts::{materialize_stages, materialize_stages_at, StagesAt};
use crate::{concurrent, metrics, Engine, EngineError, Params, ReportRequest};
use datafusion::arrow::array::{ArrayRef, Decimal128Array, Int64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use std::sync::Arc;

/// One table of a report.
#[derive(Debug, Clone)]
pub struct Section {
    /// Stable snake_case name (file name of CSV exports, key of JSON).
    pub name: String,
    /// Title shown above the table.
    pub title: String,
    /// The rows.
    pub batch: RecordBatch,
}

/// A whole report.
#[derive(Debug, Clone)]
pub struct Report {
    /// The as-of date.
    pub as_of: chrono::NaiveDate,
    /// The reporting currency.
    pub currency: Option<String>,
    /// The tables, in reading order.
    pub sections: Vec<Section>,
}

impl Report {
    /// The section with this name.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

impl Engine {
    /// Resolves a request into parameters (as-of day, periods, split) and,
    /// unless the configuration turns the P(alive) rule off
    /// (`at_risk_p_alive = 0`), fits the purchase model at the as-of day so
    /// that stages are scored with it (see [`Engine::fit_value_models`]).
    /// An engine restricted to a segment reuses the model fitted on the
    /// whole base instead.
    pub async fn params(&self, req: &ReportRequest) -> Result<Params, EngineError> {
        let mut p = Params::resolve(req, self.last_day(), self.config())?;
        if let Some(model) = &self.pinned_purchase_model {
            if model.is_some() {
                crate::value::ensure_summaries(self.context(), &[p.d, p.transition_day()]).await?;
            }
            p.purchase_model = model.clone();
        } else if self.config().at_risk_p_alive > 0.0 {
            let mut clock = Clock::new();
            // Both summaries the stages will score, in one pass.
            crate::value::ensure_summaries(self.context(), &[p.d, p.transition_day()]).await?;
            let models = self
                .fit_value_models(
                    &p,
                    crate::value::FitRequest {
                        spend: false,
                        // P(alive) needs the parameters only.
                        standard_errors: false,
                        ..Default::default()
                    },
                )
                .await?;
            p.purchase_model = models.map(|m| m.purchase_literal());
            clock.lap("purchase summary and model fit");
        }
        Ok(p)
    }

    /// Computes the per-customer table with stage, capital and activity at
    /// the request's as-of date and registers it as `customer_stage`.
    pub async fn stages(&self, p: &Params) -> Result<(), EngineError> {
        materialize_stages(self.context(), p, "customer_stage").await
    }

    /// [`Engine::stages`] at `p.d` and at [`Params::transition_day`] (the
    /// end of the previous period) in one pass over the events, registered
    /// as `customer_stage` and `customer_stage_prev` (`ck` and `stage` only).
    pub async fn stages_now_and_before(&self, p: &Params) -> Result<(), EngineError> {
        let now = StagesAt {
            p: p.clone(),
            table: "customer_stage",
            columns: "*",
        };
        let before = StagesAt {
            p: p.at(p.transition_day()),
            table: "customer_stage_prev",
            columns: "ck, stage",
        };
        materialize_stages_at(self.context(), &[now, before]).await
    }

    /// The overview report (SPEC §2–3): paying, active (with kinds), active
    /// vs inactive, stages and funnel, period lifecycle, churn and
    /// retention, NPS and CSAT, customer capital.
    pub async fn overview(&self, req: &ReportRequest) -> Result<Report, EngineError> {
        let p = self.params(req).await?;
        self.overview_at(&p).await
    }

    /// [`Engine::overview`] for parameters already resolved (and fitted).
    pub async fn overview_at(&self, p: &Params) -> Result<Report, EngineError> {
        let mut clock = Clock::new();
        self.stages_now_and_before(p).await?;
        clock.lap("facts and stages now and at the end of the previous period");
        // The sections read the canonical tables and the stage tables only:
        // they run at once (see `concurrent.rs`).
        let ctx = self.context();
        let steps = vec![
            concurrent::start(ctx, p, "paying", |ctx, p| async move {
                metrics::paying::sections(&ctx, &p).await
            }),
            concurrent::start(ctx, p, "active", |ctx, p| async move {
                metrics::active::sections(&ctx, &p).await
            }),
            concurrent::start(ctx, p, "stages, transitions, funnel", |ctx, p| async move {
                metrics::stages::sections(&ctx, &p).await
            }),
            concurrent::start(ctx, p, "period lifecycle, churn", |ctx, p| async move {
                // One pass over the events for both trends.
                metrics::activity_masks::compute(&ctx, &p).await?;
                let mut sections = metrics::period_lifecycle::sections(&ctx, &p).await?;
                sections.extend(metrics::churn::sections(&ctx, &p).await?);
                ctx.deregister_table(metrics::activity_masks::TABLE)?;
                Ok(sections)
            }),
            concurrent::start(ctx, p, "nps, capital", |ctx, p| async move {
                let mut sections = metrics::nps::sections(&ctx, &p).await?;
                sections.extend(metrics::capital::sections(&ctx, &p).await?);
                Ok(sections)
            }),
        ];
        let sections = concurrent::sections_of(steps).await?;
        clock.lap("sections");
        Ok(self.finish(p.as_of(), sections))
    }

    /// The growth report's MRR and cohort sections (`mrr`, `mrr_movements`,
    /// `cohort_retention`, `cohort_revenue`) at `p`, for charts of the
    /// overview, without the rest of the growth report.
    pub async fn mrr_and_cohorts(&self, p: &Params) -> Result<Vec<Section>, EngineError> {
        let mut sections = metrics::mrr::sections(self.context(), p).await?;
        sections.extend(metrics::cohorts::sections(self.context(), p).await?);
        Ok(self.finish(p.as_of(), sections).sections)
    }

    /// Turns money columns (`*_minor`) into exact decimals of the reporting currency.
    pub(crate) fn finish(&self, as_of: chrono::NaiveDate, sections: Vec<Section>) -> Report {
        let exponent = self.exponent();
        let sections = sections
            .into_iter()
            .map(|s| Section {
                batch: money_to_decimal(&s.batch, exponent),
                ..s
            })
            .collect();
        Report {
            as_of,
            currency: self.currency().map(String::from),
            sections,
        }
    }
}

/// Replaces every Int64 column named `<x>_minor` with a Decimal128 column `<x>`.
pub fn money_to_decimal(batch: &RecordBatch, exponent: u32) -> RecordBatch {
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (f, c) in batch.schema().fields().iter().zip(batch.columns()) {
        match (
            f.name().strip_suffix("_minor"),
            c.as_any().downcast_ref::<Int64Array>(),
        ) {
            (Some(name), Some(ints)) => {
                let dec: Decimal128Array = ints.iter().map(|v| v.map(|v| v as i128)).collect();
                let dec = dec
                    .with_precision_and_scale(38, exponent as i8)
                    .expect("valid decimal");
                fields.push(Field::new(
                    name,
                    DataType::Decimal128(38, exponent as i8),
                    true,
                ));
                columns.push(Arc::new(dec));
            }
            _ => {
                fields.push(f.as_ref().clone());
                columns.push(c.clone());
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("same rows")
}

/// Runs a query into one batch (empty result → an empty batch of its schema).
pub(crate) async fn query(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
) -> Result<RecordBatch, EngineError> {
    run(ctx, sql, "query").await
}

/// [`query`], its plan shown under `label` when `CLIENTELA_EXPLAIN` is set.
async fn run(
    ctx: &datafusion::prelude::SessionContext,
    sql: &str,
    label: &str,
) -> Result<RecordBatch, EngineError> {
    let plan = ctx.sql(sql).await?.create_physical_plan().await?;
    let schema = plan.schema();
    let batches = datafusion::physical_plan::collect(plan.clone(), ctx.task_ctx()).await?;
    crate::facts::explain(plan.as_ref(), label);
    Ok(datafusion::arrow::compute::concat_batches(
        &schema, &batches,
    )?)
}

/// A section from a query.
pub(crate) async fn section(
    ctx: &datafusion::prelude::SessionContext,
    name: &str,
    title: &str,
    sql: &str,
) -> Result<Section, EngineError> {
    Ok(Section {
        name: name.into(),
        title: title.into(),
        batch: run(ctx, sql, name).await?,
    })
}

/// Step timings on stderr when `CLIENTELA_TIMINGS` is set (for benchmarks
/// and for finding the slow part of a report on real data).
pub struct Clock {
    on: bool,
    last: std::time::Instant,
    last_cpu: Option<f64>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock started now; silent unless `CLIENTELA_TIMINGS` is set.
    pub fn new() -> Clock {
        let on = std::env::var_os("CLIENTELA_TIMINGS").is_some();
        Clock {
            on,
            last: std::time::Instant::now(),
            last_cpu: on.then(process_cpu_seconds).flatten(),
        }
    }

    /// Prints the time since the last lap (or the start) under `what`.
    pub fn lap(&mut self, what: &str) {
        if self.on {
            let cpu = process_cpu_seconds();
            // CPU seconds beside wall seconds show how many cores a step kept busy.
            let used = match (cpu, self.last_cpu) {
                (Some(now), Some(before)) => format!(" (cpu {:.2} s)", now - before),
                _ => String::new(),
            };
            eprintln!(
                "[timing] {what}: {:.3} s{used}",
                self.last.elapsed().as_secs_f64()
            );
            self.last_cpu = cpu;
        }
        self.last = std::time::Instant::now();
    }
}

/// User and system CPU seconds of this process so far, from
/// `/proc/self/stat` (Linux; `None` elsewhere). Only timings read it.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 of `rest`.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}
