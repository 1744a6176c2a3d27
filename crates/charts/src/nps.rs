//! NPS per period with its 95 % margin of error as error bars, from the
//! `nps` section.

use crate::bars::draw_line;
use crate::canvas::{hline, page, period_chart, Key, LegendItem};
use crate::columns::{by_key, dates, is_split, numbers, sum_by};
use crate::format::tick;
use crate::periods::Calendar;
use crate::{Chart, ChartError};
use chrono::NaiveDate;
use clientela_engine::{Report, Section};
use plotters::prelude::*;
use std::collections::BTreeMap;

pub(crate) const SCORE: RGBColor = RGBColor(0x4E, 0x79, 0xA7);
const WHISKER: RGBColor = RGBColor(0x9C, 0xB3, 0xD0);
/// Half the width of an error bar's caps, in periods.
const CAP: f64 = 0.18;

/// `nps.svg`.
pub(crate) fn chart(report: &Report, calendar: &Calendar) -> Result<Option<Chart>, ChartError> {
    let Some(s) = report.section("nps") else {
        return Ok(None);
    };
    let scores = scores(s)?;
    let column = |k: usize| {
        let values = scores.iter().filter_map(|(d, v)| v[k].map(|v| (*d, v)));
        calendar.align(values, f64::NAN)
    };
    let (nps, margin) = (column(0), column(1));
    if nps.iter().all(|v| v.is_nan()) {
        return Ok(None);
    }
    // The scale is −100 … 100; show the part the intervals use, and zero.
    let (lo, hi) = nps
        .iter()
        .zip(&margin)
        .filter(|(n, _)| n.is_finite())
        .map(|(n, m)| (n - m.max(0.0), n + m.max(0.0)))
        .fold((0.0f64, 0.0f64), |(a, b), (l, h)| (a.min(l), b.max(h)));
    let pad = (hi - lo).max(10.0) * 0.06;
    let range = (lo - pad).max(-100.0)..(hi + pad).min(100.0);
    let legend = [
        LegendItem::new(Key::Line(SCORE), "NPS"),
        LegendItem::new(Key::Whisker(WHISKER), "95 % margin of error"),
    ];
    let chart = page(
        "nps.svg",
        "Net Promoter Score per period",
        &s.title,
        &legend,
        |area| {
            let y_desc = "NPS (% promoters − % detractors)";
            let mut chart = period_chart(area, calendar, range, y_desc, &|v| tick(*v))?;
            hline(&mut chart, 0.0)?;
            let mut whiskers = Vec::new();
            for (i, (n, m)) in nps.iter().zip(&margin).enumerate() {
                if !n.is_finite() || !m.is_finite() {
                    continue;
                }
                let (x, l, h) = (i as f64, (n - m).max(-100.0), (n + m).min(100.0));
                let style = WHISKER.stroke_width(2);
                whiskers.push(PathElement::new(vec![(x, l), (x, h)], style));
                whiskers.push(PathElement::new(vec![(x - CAP, l), (x + CAP, l)], style));
                whiskers.push(PathElement::new(vec![(x - CAP, h), (x + CAP, h)], style));
            }
            chart.draw_series(whiskers)?;
            draw_line(&mut chart, &nps, SCORE)
        },
    )?;
    Ok(Some(chart))
}

/// NPS and its margin per period: the section's own when unsplit, else
/// computed from the summed promoters, detractors and answers with the
/// section's formula (SPEC §3).
fn scores(s: &Section) -> Result<BTreeMap<NaiveDate, Vec<Option<f64>>>, ChartError> {
    let periods = dates(s, "period")?;
    if !is_split(s)? {
        let columns = [numbers(s, "nps")?, numbers(s, "margin_95")?];
        return Ok(by_key(&periods, &columns));
    }
    let columns = [
        numbers(s, "answers")?,
        numbers(s, "promoters")?,
        numbers(s, "detractors")?,
    ];
    Ok(sum_by(&periods, &columns)
        .into_iter()
        .map(|(d, v)| (d, nps_and_margin(v[0], v[1], v[2])))
        .collect())
}

/// NPS = 100 (p − d) and its margin at 95 % = 1.96 √(100² ((p + d) −
/// (p − d)²) / n), with p and d the shares of promoters and detractors
/// among n answers.
fn nps_and_margin(answers: f64, promoters: f64, detractors: f64) -> Vec<Option<f64>> {
    if answers <= 0.0 {
        return vec![None, None];
    }
    let (p, d) = (promoters / answers, detractors / answers);
    let variance = 10_000.0 * ((p + d) - (p - d) * (p - d));
    vec![
        Some(100.0 * (p - d)),
        Some(1.96 * (variance.max(0.0) / answers).sqrt()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo's NPS of 2025-11 as the engine reports it: 17 answers, 7
    /// promoters, 5 detractors → NPS 11.8, margin 39.5.
    #[test]
    fn recomputed_nps_matches_the_engines() {
        let v = nps_and_margin(17.0, 7.0, 5.0);
        let (nps, margin) = (v[0].unwrap(), v[1].unwrap());
        assert!((nps - 11.8).abs() < 0.05, "{nps}");
        assert!((margin - 39.5).abs() < 0.05, "{margin}");
        assert_eq!(nps_and_margin(0.0, 0.0, 0.0), vec![None, None]);
    }
}
