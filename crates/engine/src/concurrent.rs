//! Independent steps of a report run at once.
//!
//! One plan rarely keeps every core busy: its single-partition parts (the
//! final merge of an aggregation, a sort, a model fit in Rust) leave the
//! other cores idle. Steps that read only the canonical tables and the
//! tables registered before them run as tasks of their own, so that one
//! step's idle core serves another. Each step registers its intermediate
//! tables under names of its own, so steps never see each other's.

use crate::report::{Clock, Section};
use crate::{EngineError, Params};
use datafusion::common::runtime::SpawnedTask;
use datafusion::prelude::SessionContext;
use std::future::Future;

/// A step started with [`start`]: its sections once it is done. Dropping it
/// (when an earlier step failed) cancels the step.
pub(crate) struct Step(SpawnedTask<Result<Vec<Section>, EngineError>>);

/// Starts `step` over its own handle on the context and its own copy of the
/// parameters, timed under `what` when timings are on.
pub(crate) fn start<F, Fut>(ctx: &SessionContext, p: &Params, what: &'static str, step: F) -> Step
where
    F: FnOnce(SessionContext, Params) -> Fut,
    Fut: Future<Output = Result<Vec<Section>, EngineError>> + Send + 'static,
{
    let work = step(ctx.clone(), p.clone());
    Step(SpawnedTask::spawn(async move {
        let mut clock = Clock::new();
        let sections = work.await;
        clock.lap(what);
        sections
    }))
}

impl Step {
    /// Waits for the step; a panic in it panics here.
    pub(crate) async fn sections(self) -> Result<Vec<Section>, EngineError> {
        self.0
            .join_unwind()
            .await
            .map_err(|e| EngineError::Request(format!("a report step was cancelled: {e}")))?
    }
}

/// The sections of every step, in the steps' order.
pub(crate) async fn sections_of(steps: Vec<Step>) -> Result<Vec<Section>, EngineError> {
    let mut all = Vec::new();
    for step in steps {
        all.extend(step.sections().await?);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::record_batch::RecordBatch;

    fn section(name: &str) -> Section {
        Section {
            name: name.into(),
            title: name.into(),
            batch: RecordBatch::new_empty(std::sync::Arc::new(
                datafusion::arrow::datatypes::Schema::empty(),
            )),
        }
    }

    fn params() -> Params {
        let config = clientela_core::Config::default();
        let req = crate::ReportRequest::default();
        Params::resolve(&req, Some(19_000), &config).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sections_come_in_the_order_of_the_steps_not_of_their_ends() {
        let ctx = SessionContext::new();
        let p = params();
        let slow = start(&ctx, &p, "slow", |_, _| async {
            for _ in 0..100 {
                tokio::task::yield_now().await;
            }
            Ok(vec![section("slow")])
        });
        let fast = start(&ctx, &p, "fast", |_, _| async {
            Ok(vec![section("a"), section("b")])
        });
        let names: Vec<String> = sections_of(vec![slow, fast])
            .await
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["slow", "a", "b"]);
    }

    #[tokio::test]
    async fn the_first_failing_step_fails_the_whole() {
        let ctx = SessionContext::new();
        let p = params();
        let ok = start(&ctx, &p, "ok", |_, _| async { Ok(vec![section("a")]) });
        let bad = start(&ctx, &p, "bad", |ctx, _| async move {
            crate::report::query(&ctx, "SELECT * FROM no_such_table").await?;
            Ok(vec![])
        });
        let err = sections_of(vec![ok, bad]).await.unwrap_err();
        assert!(err.to_string().contains("no_such_table"), "{err}");
    }
}
