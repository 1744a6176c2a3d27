//! The cohort retention heatmap from the `cohort_retention` section:
//! cohorts as rows (oldest at the top), periods since joining as columns,
//! each cell coloured by the % of the cohort active in it, and the % written
//! in the cell when it fits.

use crate::canvas::{
    page, text_style, Area, DrawError, Key, LegendItem, DESC_SIZE, FONT, INK, LABEL_SIZE, WIDTH,
};
use crate::columns::{by_key, dates, is_split, numbers, sum_by};
use crate::format::{count, grouped, text_px};
use crate::periods::{ticks, Anchor, Calendar};
use crate::slots::Slots;
use crate::{Chart, ChartError};
use chrono::NaiveDate;
use clientela_engine::{Report, Section};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};
use std::collections::BTreeMap;

/// ColorBrewer's "Blues", light to dark: even steps look evenly different.
const BLUES: [(u8, u8, u8); 5] = [
    (0xF7, 0xFB, 0xFF),
    (0xC6, 0xDB, 0xEF),
    (0x6B, 0xAE, 0xD6),
    (0x21, 0x71, 0xB5),
    (0x08, 0x30, 0x6B),
];
/// Font size of the values in the cells.
const CELL_SIZE: f64 = 13.0;
/// Above this share of the scale, cells are dark enough to need white text.
const DARK: f64 = 0.6;

/// A cell's cohort size and % of it active.
type Cells = BTreeMap<(NaiveDate, i64), (f64, Option<f64>)>;

/// The colour of `t` in 0 … 1 on [`BLUES`].
pub(crate) fn blues(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (BLUES.len() - 1) as f64;
    let i = (t.floor() as usize).min(BLUES.len() - 2);
    let f = t - i as f64;
    let (a, b) = (BLUES[i], BLUES[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// `cohort_retention.svg`.
pub(crate) fn chart(report: &Report, calendar: &Calendar) -> Result<Option<Chart>, ChartError> {
    let Some(s) = report.section("cohort_retention") else {
        return Ok(None);
    };
    let cells = cells(s)?;
    if cells.is_empty() {
        return Ok(None);
    }
    let top = scale_top(&cells);
    let high = if top < 100.0 {
        format!("{top}%+")
    } else {
        "100%".into()
    };
    let legend = [LegendItem::new(
        Key::Scale(blues, "0%".into(), high),
        "customers active in the period, % of the cohort",
    )];
    let chart = page(
        "cohort_retention.svg",
        "Cohort retention",
        &s.title,
        &legend,
        |area| draw(area, calendar, &cells, top),
    )?;
    Ok(Some(chart))
}

/// The cells keyed by (cohort, offset): the section's % when unsplit, else
/// active / cohort customers over the summed segments.
fn cells(s: &Section) -> Result<Cells, ChartError> {
    let cohorts = dates(s, "cohort")?;
    let offsets = numbers(s, "period_offset")?;
    let keys: Vec<Option<(NaiveDate, i64)>> = cohorts
        .iter()
        .zip(&offsets)
        .map(|(c, k)| Some(((*c)?, (*k)? as i64)))
        .collect();
    let size = numbers(s, "cohort_customers")?;
    let cells = if is_split(s)? {
        let columns = [size, numbers(s, "active_customers")?];
        sum_by(&keys, &columns)
            .into_iter()
            .map(|(k, v)| (k, (v[0], (v[0] > 0.0).then(|| 100.0 * v[1] / v[0]))))
            .collect()
    } else {
        let columns = [size, numbers(s, "active_pct")?];
        by_key(&keys, &columns)
            .into_iter()
            .map(|(k, v)| (k, (v[0].unwrap_or(0.0), v[1])))
            .collect()
    };
    Ok(cells)
}

fn draw(area: &Area, calendar: &Calendar, cells: &Cells, top: f64) -> Result<(), DrawError> {
    let mut cohorts: Vec<(NaiveDate, f64)> = cells.iter().map(|((c, _), v)| (*c, v.0)).collect();
    cohorts.dedup_by_key(|c| c.0);
    let columns = cells.keys().map(|k| k.1).max().unwrap_or(0).max(0) as usize + 1;
    let rows = cohorts.len();
    // Row r (0 = oldest) is drawn at y = rows − 1 − r, so the oldest is on top.
    let row_name = |r: usize| {
        cohorts
            .get(r)
            .map(|(c, size)| format!("{} ({})", calendar.label(*c), count(*size)))
            .unwrap_or_default()
    };
    let widest = (0..rows)
        .map(|r| text_px(&row_name(r), LABEL_SIZE))
        .fold(0.0, f64::max);
    let y_area = widest as u32 + 40;
    let (w, h) = area.dim_in_pixel();
    let plot_w = f64::from(w.min(WIDTH)) - f64::from(y_area) - 44.0;
    let plot_h = f64::from(h) - 50.0 - 14.0;
    let (cell_w, cell_h) = (plot_w / columns as f64, plot_h / rows as f64);
    let x_keys = ticks(columns, cell_w, text_px("00", LABEL_SIZE), Anchor::First);
    // Row labels are one line high; the newest cohort is always named.
    let y_keys = ticks(rows, cell_h, 10.0, Anchor::Last);
    let x = Slots::new(columns, x_keys);
    let y = Slots::new(rows, y_keys.into_iter().map(|r| rows - 1 - r));
    let mut chart = ChartBuilder::on(area)
        .margin_left(16)
        .margin_right(28)
        .margin_top(8)
        .margin_bottom(6)
        .x_label_area_size(50)
        .y_label_area_size(y_area)
        .build_cartesian_2d(x, y)?;
    let x_tick = |x: &f64| format!("{}", x.round() as i64);
    let y_tick = |y: &f64| row_name(rows - 1 - (y.round().max(0.0) as usize).min(rows - 1));
    chart
        .configure_mesh()
        .disable_mesh()
        .axis_style(INK)
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .label_style((FONT, LABEL_SIZE).into_font().color(&INK))
        .axis_desc_style((FONT, DESC_SIZE).into_font().color(&INK))
        .x_desc("periods after joining (0 = the cohort's own period)")
        .y_desc("cohort (customers)")
        .draw()?;
    let row_of: BTreeMap<NaiveDate, usize> =
        cohorts.iter().enumerate().map(|(r, c)| (c.0, r)).collect();
    let mut rects = Vec::new();
    let mut texts = Vec::new();
    let digits = value_digits(cell_w, cell_h);
    for ((cohort, k), (_, pct)) in cells {
        let (Some(pct), Some(r)) = (pct, row_of.get(cohort)) else {
            continue;
        };
        let (x, y) = (*k as f64, (rows - 1 - r) as f64);
        let shade = pct / top;
        let mut cell = Rectangle::new(
            [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
            blues(shade).filled(),
        );
        // A white pixel between cells keeps rows and columns apart.
        cell.set_margin(0, 1, 0, 1);
        rects.push(cell);
        if let Some(d) = digits {
            let color = if shade > DARK { WHITE } else { INK };
            let style = text_style(CELL_SIZE, color, HPos::Center, VPos::Center);
            texts.push(Text::new(grouped(*pct, d), (x, y), style));
        }
    }
    chart.draw_series(rects)?;
    chart.draw_series(texts)?;
    Ok(())
}

/// The % at the dark end of the colour scale: the highest after the
/// cohorts' own period, rounded up to 10 (offset 0 is 100 % by definition
/// under the first-purchase basis and would leave the rest pale).
fn scale_top(cells: &Cells) -> f64 {
    let later = cells
        .iter()
        .filter(|((_, k), _)| *k > 0)
        .filter_map(|(_, (_, pct))| *pct)
        .fold(f64::NAN, f64::max);
    if later.is_nan() {
        100.0
    } else {
        ((later / 10.0).ceil() * 10.0).clamp(10.0, 100.0)
    }
}

/// Decimals of the % written in cells of this size: one when "100.0"
/// fits, none when "100" does, no text at all when not even that.
fn value_digits(cell_w: f64, cell_h: f64) -> Option<usize> {
    let fits = |text: &str| text_px(text, CELL_SIZE) + 4.0 <= cell_w && cell_h >= 13.0;
    if fits("100.0") {
        Some(1)
    } else if fits("100") {
        Some(0)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_runs_light_to_dark() {
        assert_eq!(blues(0.0), RGBColor(0xF7, 0xFB, 0xFF));
        assert_eq!(blues(1.0), RGBColor(0x08, 0x30, 0x6B));
        assert_eq!(blues(0.5), RGBColor(0x6B, 0xAE, 0xD6));
        let lightness = |c: RGBColor| u32::from(c.0) + u32::from(c.1) + u32::from(c.2);
        assert!((0..10)
            .all(|i| lightness(blues(i as f64 / 10.0)) > lightness(blues((i + 1) as f64 / 10.0))));
    }

    #[test]
    fn the_scale_ends_at_the_best_later_period() {
        let d = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let mut cells = Cells::new();
        cells.insert((d, 0), (10.0, Some(100.0)));
        assert_eq!(scale_top(&cells), 100.0);
        cells.insert((d, 1), (10.0, Some(43.5)));
        cells.insert((d, 2), (10.0, Some(21.0)));
        assert_eq!(scale_top(&cells), 50.0);
    }

    #[test]
    fn values_shrink_then_vanish_as_cells_get_small() {
        assert_eq!(value_digits(66.0, 30.0), Some(1));
        assert_eq!(value_digits(28.0, 30.0), Some(0));
        assert_eq!(value_digits(16.0, 30.0), None);
        assert_eq!(value_digits(66.0, 10.0), None);
    }
}
