//! clientela-charts: the main trends of a report as SVG charts.
//!
//! [`render`] reads the sections of a [`Report`] (the overview's and the
//! growth report's together) and draws every chart they allow: active
//! customers and the period lifecycle as stacked bars, the MRR bridge of
//! the latest period and MRR movements per period, churn and retention,
//! NPS with its margin of error, and the cohort retention heatmap. Each
//! chart is a standalone SVG text of 960 × 540 pixels; the crate does no
//! file I/O (the CLI writes the files).
//!
//! A report split by a customer attribute (`--by`) is charted for the whole
//! base: counts and amounts are summed over the segments, which partition
//! the customers, and rates are computed again from those sums.
#![deny(missing_docs)]

mod bars;
mod canvas;
mod cohorts;
mod columns;
mod error;
mod format;
mod lifecycle;
mod mrr;
mod nps;
mod periods;
mod retention;
mod slots;

pub use error::ChartError;

use clientela_engine::Report;
use periods::Calendar;

/// One rendered chart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// File name to write it under, e.g. `active_customers.svg`.
    pub file_name: String,
    /// The chart's title (also drawn at its top).
    pub title: String,
    /// The SVG document.
    pub svg: String,
}

/// Every chart the report's sections allow, in reading order.
///
/// A chart whose section is missing, has no rows or has nothing to draw
/// (all zero, such as the MRR of a business without subscriptions) is
/// skipped. A section that is present but lacks a column a chart reads is
/// an error.
pub fn render(report: &Report) -> Result<Vec<Chart>, ChartError> {
    let calendar = Calendar::of(report)?;
    let mut charts = lifecycle::charts(report, &calendar)?;
    charts.extend(mrr::charts(report, &calendar)?);
    charts.extend(retention::chart(report, &calendar)?);
    charts.extend(nps::chart(report, &calendar)?);
    charts.extend(cohorts::chart(report, &calendar)?);
    Ok(charts)
}
