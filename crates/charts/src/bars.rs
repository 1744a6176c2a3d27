//! Stacked bars per period: some series stacked up from the axis, others
//! down from it (drawn negative), and an optional line with markers (the
//! net change). Shared by the lifecycle and MRR movement charts.

use crate::canvas::{
    hline, padded, period_chart, text_style, Area, DrawError, Key, LegendItem, INK, LABEL_SIZE,
};
use crate::format::text_px;
use crate::periods::Calendar;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

/// Half the width of a bar, in periods (the rest is the gap between bars).
const HALF_BAR: f64 = 0.36;

/// One series: a value per calendar period (0 where it has none).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub label: String,
    pub color: RGBColor,
    pub values: Vec<f64>,
}

/// A stacked bar chart over the periods.
#[derive(Debug, Clone)]
pub(crate) struct Stacked {
    /// Stacked upwards, the first on the axis.
    pub up: Vec<Series>,
    /// Stacked downwards (values are magnitudes), the first on the axis.
    pub down: Vec<Series>,
    /// A line with markers over the bars, gaps where NaN.
    pub line: Option<Series>,
    /// Write each bar's upward total above it, when there is room.
    pub totals: bool,
    /// Description of the value axis.
    pub y_desc: String,
    /// How tick values and totals are written.
    pub format: fn(f64) -> String,
}

impl Stacked {
    /// Whether there is anything to draw (all series zero: nothing).
    pub(crate) fn is_blank(&self) -> bool {
        let line = self.line.iter();
        self.up
            .iter()
            .chain(&self.down)
            .chain(line)
            .all(|s| s.values.iter().all(|v| *v == 0.0 || v.is_nan()))
    }

    /// The legend: upward series top first (as they appear on the bars),
    /// then the downward ones, then the line.
    pub(crate) fn legend(&self) -> Vec<LegendItem> {
        let bars = self.up.iter().rev().chain(&self.down);
        let mut out: Vec<LegendItem> = bars
            .map(|s| LegendItem::new(Key::Bar(s.color), &s.label))
            .collect();
        if let Some(l) = &self.line {
            out.push(LegendItem::new(Key::Line(l.color), &l.label));
        }
        out
    }

    fn stack_height(series: &[Series], i: usize) -> f64 {
        series.iter().map(|s| s.values[i].max(0.0)).sum()
    }

    /// Draws the bars, the zero line, the totals and the line.
    pub(crate) fn draw(&self, area: &Area, calendar: &Calendar) -> Result<(), DrawError> {
        let n = calendar.len();
        let line = self.line.as_ref().map(|l| &l.values[..]).unwrap_or(&[]);
        let finite = line.iter().copied().filter(|v| v.is_finite());
        let hi = (0..n)
            .map(|i| Self::stack_height(&self.up, i))
            .chain(finite.clone())
            .fold(0.0, f64::max);
        let lo = (0..n)
            .map(|i| -Self::stack_height(&self.down, i))
            .chain(finite)
            .fold(0.0, f64::min);
        let format = self.format;
        let y_tick = |v: &f64| format(*v);
        let mut chart = period_chart(area, calendar, padded(lo, hi, 0.08), &self.y_desc, &y_tick)?;
        for (series, sign) in [(&self.up, 1.0), (&self.down, -1.0)] {
            let mut base = vec![0.0; n];
            for s in series {
                let bars = (0..n).filter(|i| s.values[*i] > 0.0).map(|i| {
                    let top = base[i] + sign * s.values[i];
                    let bar = Rectangle::new(
                        [(i as f64 - HALF_BAR, base[i]), (i as f64 + HALF_BAR, top)],
                        s.color.filled(),
                    );
                    base[i] = top;
                    bar
                });
                chart.draw_series(bars.collect::<Vec<_>>())?;
            }
        }
        hline(&mut chart, 0.0)?;
        if self.totals {
            // A total fits when it is narrower than its bar.
            let (w, _) = chart.plotting_area().dim_in_pixel();
            let bar_px = f64::from(w) / n.max(1) as f64 * 2.0 * HALF_BAR;
            let style = text_style(LABEL_SIZE, INK, HPos::Center, VPos::Bottom);
            let labels = (0..n).filter_map(|i| {
                let total = Self::stack_height(&self.up, i);
                let text = format(total);
                (total > 0.0 && text_px(&text, LABEL_SIZE) <= bar_px).then(|| {
                    EmptyElement::at((i as f64, total)) + Text::new(text, (0, -3), style.clone())
                })
            });
            chart.draw_series(labels.collect::<Vec<_>>())?;
        }
        if let Some(l) = &self.line {
            draw_line(&mut chart, &l.values, l.color)?;
        }
        Ok(())
    }
}

/// A line through the finite values, broken at NaN, with a dot on each.
pub(crate) fn draw_line(
    chart: &mut crate::canvas::PeriodChart,
    values: &[f64],
    color: RGBColor,
) -> Result<(), DrawError> {
    let points: Vec<Option<(f64, f64)>> = values
        .iter()
        .enumerate()
        .map(|(i, v)| v.is_finite().then_some((i as f64, *v)))
        .collect();
    for run in points.split(Option::is_none) {
        let run: Vec<(f64, f64)> = run.iter().flatten().copied().collect();
        if run.len() > 1 {
            chart.draw_series(std::iter::once(PathElement::new(
                run,
                color.stroke_width(2),
            )))?;
        }
    }
    let dots = points
        .iter()
        .flatten()
        .map(|p| Circle::new(*p, 3, color.filled()));
    chart.draw_series(dots.collect::<Vec<_>>())?;
    Ok(())
}
