//! MRR from the `mrr` section: the bridge of the latest period (start →
//! movements → end, a waterfall) and the movements of every period.

use crate::bars::{Series, Stacked};
use crate::canvas::{
    category_chart, page, text_style, Area, CategoryAxis, DrawError, Key, LegendItem, INK,
    LABEL_SIZE,
};
use crate::columns::{dates, numbers, sum_by};
use crate::format::{amount, signed_amount, text_px, tick};
use crate::lifecycle::NET;
use crate::periods::Calendar;
use crate::{Chart, ChartError};
use clientela_engine::Report;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// The columns read, in bridge order: start, the five movements, end.
const COLUMNS: [&str; 7] = [
    "mrr_start",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churn",
    "mrr_end",
];
/// Names of the bridge's steps, as [`COLUMNS`].
const STEPS: [&str; 7] = [
    "MRR at start",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churn",
    "MRR at end",
];
/// Whether each movement adds to MRR (new, expansion, reactivation) or
/// takes from it.
const ADDS: [bool; 5] = [true, true, true, false, false];

/// Bridge colours: totals, increases, decreases.
pub(crate) const TOTAL: RGBColor = RGBColor(0x4E, 0x79, 0xA7);
pub(crate) const INCREASE: RGBColor = RGBColor(0x59, 0xA1, 0x4F);
pub(crate) const DECREASE: RGBColor = RGBColor(0xE1, 0x57, 0x59);
/// Movement colours (Tableau 20: light shades for the smaller movements).
const MOVEMENT: [RGBColor; 5] = [
    INCREASE,
    RGBColor(0x8C, 0xD1, 0x7D),
    RGBColor(0x49, 0x98, 0x94),
    RGBColor(0xFF, 0x9D, 0x9A),
    DECREASE,
];
/// Half the width of a bridge bar, in steps.
const HALF_BAR: f64 = 0.34;
const CONNECTOR: RGBColor = RGBColor(0x99, 0x99, 0x99);

/// `mrr_bridge.svg` and `mrr_movements.svg`.
pub(crate) fn charts(report: &Report, calendar: &Calendar) -> Result<Vec<Chart>, ChartError> {
    let Some(s) = report.section("mrr") else {
        return Ok(Vec::new());
    };
    let columns = COLUMNS
        .iter()
        .map(|c| numbers(s, c))
        .collect::<Result<Vec<_>, _>>()?;
    let sums = sum_by(&dates(s, "period")?, &columns);
    let Some((last, bridge)) = sums.last_key_value() else {
        return Ok(Vec::new());
    };
    let currency = report.currency.as_deref().unwrap_or("currency units");
    let y_desc = format!("MRR ({currency})");
    let movements = Stacked {
        up: (1..4).map(|k| series(calendar, &sums, k)).collect(),
        down: (4..6).map(|k| series(calendar, &sums, k)).collect(),
        line: Some(Series {
            label: "net new MRR".into(),
            color: NET,
            values: calendar.align(sums.iter().map(|(d, v)| (*d, net(v))), f64::NAN),
        }),
        totals: false,
        y_desc: y_desc.clone(),
        format: tick,
    };
    let mut out = Vec::new();
    if bridge.iter().any(|v| *v != 0.0) {
        let period = calendar.label(*last);
        let legend = [
            LegendItem::new(Key::Bar(TOTAL), "MRR"),
            LegendItem::new(Key::Bar(INCREASE), "increase"),
            LegendItem::new(Key::Bar(DECREASE), "decrease"),
        ];
        out.push(page(
            "mrr_bridge.svg",
            &format!("MRR bridge, {period}"),
            &s.title,
            &legend,
            |area| draw_bridge(area, bridge, &y_desc),
        )?);
    }
    if !movements.is_blank() {
        out.push(page(
            "mrr_movements.svg",
            "MRR movements per period",
            &s.title,
            &movements.legend(),
            |area| movements.draw(area, calendar),
        )?);
    }
    Ok(out)
}

/// Movement `k` (an index of [`COLUMNS`]) of every period, as a bar series.
fn series(
    calendar: &Calendar,
    sums: &std::collections::BTreeMap<chrono::NaiveDate, Vec<f64>>,
    k: usize,
) -> Series {
    Series {
        label: STEPS[k].into(),
        color: MOVEMENT[k - 1],
        values: calendar.align(sums.iter().map(|(d, v)| (*d, v[k])), 0.0),
    }
}

/// new + expansion + reactivation − contraction − churn.
fn net(v: &[f64]) -> f64 {
    v[1] + v[2] + v[3] - v[4] - v[5]
}

/// The bridge's bars as (bottom, top, colour, label), and the floor of
/// the value axis.
///
/// The axis starts at zero unless the movements are small beside MRR:
/// then it starts one span of the movements below the lowest level, so
/// that a movement of a few percent is still a bar one can see.
fn bridge_bars(v: &[f64]) -> (Vec<(f64, f64, RGBColor, String)>, f64) {
    let mut levels = vec![v[0]];
    for (k, adds) in ADDS.iter().enumerate() {
        let last = levels[levels.len() - 1];
        levels.push(if *adds {
            last + v[k + 1]
        } else {
            last - v[k + 1]
        });
    }
    let (lo, hi) = levels
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), l| {
            (a.min(*l), b.max(*l))
        });
    let span = hi - lo;
    let floor = if lo > 0.0 && span > 0.0 && span < 0.5 * lo {
        let step = 10f64.powf(span.log10().floor());
        ((lo - span) / step).floor() * step
    } else {
        0.0
    }
    .max(0.0);
    let mut bars = vec![(floor, v[0], TOTAL, amount(v[0]))];
    for (k, adds) in ADDS.iter().enumerate() {
        let (before, after) = (levels[k], levels[k + 1]);
        let (color, text) = if *adds {
            (INCREASE, signed_amount(v[k + 1]))
        } else {
            (DECREASE, signed_amount(-v[k + 1]))
        };
        bars.push((before.min(after), before.max(after), color, text));
    }
    bars.push((floor, v[6], TOTAL, amount(v[6])));
    (bars, floor)
}

fn draw_bridge(area: &Area, v: &[f64], y_desc: &str) -> Result<(), DrawError> {
    let (bars, floor) = bridge_bars(v);
    let top = bars.iter().map(|b| b.1).fold(floor, f64::max);
    let y_desc = if floor > 0.0 {
        format!("{y_desc}, axis not from 0")
    } else {
        y_desc.to_string()
    };
    let axis = CategoryAxis {
        n: STEPS.len(),
        name: &|i| STEPS.get(i).map(|s| s.to_string()).unwrap_or_default(),
        label_px: STEPS
            .iter()
            .map(|s| text_px(s, LABEL_SIZE))
            .fold(0.0, f64::max),
        desc: "",
    };
    let range = floor..top + (top - floor).max(1.0) * 0.1;
    let mut chart = category_chart(area, &axis, range, &y_desc, &|v| tick(*v))?;
    let rects = bars.iter().enumerate().map(|(i, (lo, hi, color, _))| {
        let x = i as f64;
        Rectangle::new([(x - HALF_BAR, *lo), (x + HALF_BAR, *hi)], color.filled())
    });
    chart.draw_series(rects.collect::<Vec<_>>())?;
    // Connectors: each level carried from one bar to the next.
    let mut level = v[0];
    let mut connectors = Vec::new();
    for (i, adds) in ADDS.iter().enumerate() {
        connectors.push(PathElement::new(
            vec![
                (i as f64 + HALF_BAR, level),
                (i as f64 + 1.0 - HALF_BAR, level),
            ],
            CONNECTOR.stroke_width(1),
        ));
        level += if *adds { v[i + 1] } else { -v[i + 1] };
    }
    connectors.push(PathElement::new(
        vec![(5.0 + HALF_BAR, level), (6.0 - HALF_BAR, level)],
        CONNECTOR.stroke_width(1),
    ));
    chart.draw_series(connectors)?;
    let style = text_style(LABEL_SIZE, INK, HPos::Center, VPos::Bottom);
    let labels = bars.iter().enumerate().map(|(i, (_, hi, _, text))| {
        EmptyElement::at((i as f64, *hi)) + Text::new(text.clone(), (0, -4), style.clone())
    });
    chart.draw_series(labels.collect::<Vec<_>>())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_steps_chain_from_start_to_end() {
        // start 100, +80 new, +10 expansion, +0, −5 contraction, −25 churn
        // = 160: movements large beside MRR, so the axis starts at 0.
        let v = [100.0, 80.0, 10.0, 0.0, 5.0, 25.0, 160.0];
        let (bars, floor) = bridge_bars(&v);
        assert_eq!(floor, 0.0);
        let spans: Vec<(f64, f64)> = bars.iter().map(|b| (b.0, b.1)).collect();
        assert_eq!(
            spans,
            vec![
                (0.0, 100.0),
                (100.0, 180.0),
                (180.0, 190.0),
                (190.0, 190.0),
                (185.0, 190.0),
                (160.0, 185.0),
                (0.0, 160.0)
            ]
        );
        let labels: Vec<&str> = bars.iter().map(|b| b.3.as_str()).collect();
        assert_eq!(
            labels,
            ["100.00", "+80.00", "+10.00", "0.00", "−5.00", "−25.00", "160.00"]
        );
    }

    #[test]
    fn small_movements_lift_the_floor_of_the_axis() {
        // Levels 4,800 … 5,265: movements are a few percent of MRR.
        let v = [4801.97, 402.84, 40.0, 19.8, 0.0, 217.46, 5047.15];
        let (bars, floor) = bridge_bars(&v);
        assert_eq!(floor, 4300.0);
        assert_eq!(bars[0].0, 4300.0);
        assert_eq!(bars[6].0, 4300.0);
    }
}
