//! Customer churn and retention per period, as lines, from the `churn`
//! section.

use crate::bars::draw_line;
use crate::canvas::{page, period_chart, Key, LegendItem};
use crate::columns::{by_key, dates, is_split, numbers, sum_by};
use crate::format::percent_tick;
use crate::periods::Calendar;
use crate::{Chart, ChartError};
use chrono::NaiveDate;
use clientela_engine::{Report, Section};
use plotters::style::RGBColor;
use std::collections::BTreeMap;

pub(crate) const CHURN: RGBColor = RGBColor(0xE1, 0x57, 0x59);
pub(crate) const RETENTION: RGBColor = RGBColor(0x4E, 0x79, 0xA7);

/// `churn_retention.svg`.
pub(crate) fn chart(report: &Report, calendar: &Calendar) -> Result<Option<Chart>, ChartError> {
    let Some(s) = report.section("churn") else {
        return Ok(None);
    };
    let rates = rates(s)?;
    let line = |k: usize| {
        let values = rates.iter().filter_map(|(d, v)| v[k].map(|v| (*d, v)));
        calendar.align(values, f64::NAN)
    };
    let (churn, retention) = (line(0), line(1));
    if churn.iter().chain(&retention).all(|v| v.is_nan()) {
        return Ok(None);
    }
    let legend = [
        LegendItem::new(Key::Line(RETENTION), "retention rate"),
        LegendItem::new(Key::Line(CHURN), "churn rate"),
    ];
    let chart = page(
        "churn_retention.svg",
        "Customer churn and retention per period",
        "Of the customers active when the period starts: retained = still active at its end, \
         churned = no longer",
        &legend,
        |area| {
            let y_desc = "% of customers active at period start";
            let mut chart =
                period_chart(area, calendar, 0.0..100.0, y_desc, &|v| percent_tick(*v))?;
            draw_line(&mut chart, &retention, RETENTION)?;
            draw_line(&mut chart, &churn, CHURN)
        },
    )?;
    Ok(Some(chart))
}

/// Churn and retention % per period: the section's own when unsplit,
/// else lost / customers at start over the summed segments.
fn rates(s: &Section) -> Result<BTreeMap<NaiveDate, Vec<Option<f64>>>, ChartError> {
    let periods = dates(s, "period")?;
    if !is_split(s)? {
        let columns = [numbers(s, "churn_pct")?, numbers(s, "retention_pct")?];
        return Ok(by_key(&periods, &columns));
    }
    let columns = [numbers(s, "customers_at_start")?, numbers(s, "lost")?];
    Ok(sum_by(&periods, &columns)
        .into_iter()
        .map(|(d, v)| {
            let churn = (v[0] > 0.0).then(|| 100.0 * v[1] / v[0]);
            (d, vec![churn, churn.map(|c| 100.0 - c)])
        })
        .collect())
}
