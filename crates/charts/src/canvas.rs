//! The page every chart shares: a white 960 × 540 SVG with the title, a
//! subtitle (the section's own title, which says how it is computed) and a
//! legend row above the plot, and the period axis the trend charts use.

use crate::format::text_px;
use crate::periods::{ticks, Anchor, Calendar};
use crate::slots::Slots;
use crate::{Chart, ChartError};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::drawing::DrawingAreaErrorKind;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// Page size in pixels: 16:9, readable on a laptop screen and in a slide.
pub(crate) const WIDTH: u32 = 960;
/// See [`WIDTH`].
pub(crate) const HEIGHT: u32 = 540;
/// Font family of all text (SVG viewers substitute their sans-serif font).
pub(crate) const FONT: &str = "sans-serif";
/// Height of the title, subtitle and legend rows above the plot.
const HEADER: u32 = 88;
/// Left edge of the title, subtitle and legend.
const INDENT: i32 = 24;
/// Font sizes (plotters' units: the SVG size is these / 1.24).
const TITLE_SIZE: f64 = 26.0;
const SUBTITLE_SIZE: f64 = 15.0;
pub(crate) const LABEL_SIZE: f64 = 15.0;
pub(crate) const DESC_SIZE: f64 = 16.0;
/// Space of the y axis' tick labels and description.
const Y_LABEL_AREA: u32 = 84;
/// Space of the x axis' tick labels and description.
const X_LABEL_AREA: u32 = 50;
const MARGIN_LEFT: u32 = 16;
const MARGIN_RIGHT: u32 = 28;

/// Text and axis colour, and the grid's.
pub(crate) const INK: RGBColor = RGBColor(0x33, 0x33, 0x33);
const MUTED: RGBColor = RGBColor(0x55, 0x55, 0x55);
const GRID: RGBColor = RGBColor(0xDD, 0xDD, 0xDD);

/// The drawing area of a page or of its plot.
pub(crate) type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// What drawing can fail with.
pub(crate) type DrawError = DrawingAreaErrorKind<std::io::Error>;
/// A chart over the report's periods: x is the period's index (bars are
/// centred on whole numbers), y is the value.
pub(crate) type PeriodChart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<Slots, RangedCoordf64>>;

/// What a legend entry shows before its label.
#[derive(Debug, Clone)]
pub(crate) enum Key {
    /// A filled square, for bars.
    Bar(RGBColor),
    /// A line with a dot, for a line with markers.
    Line(RGBColor),
    /// An error bar with caps.
    Whisker(RGBColor),
    /// A colour scale from its low to its high label.
    Scale(fn(f64) -> RGBColor, String, String),
}

/// One legend entry.
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    pub key: Key,
    pub label: String,
}

impl LegendItem {
    pub(crate) fn new(key: Key, label: impl Into<String>) -> LegendItem {
        LegendItem {
            key,
            label: label.into(),
        }
    }
}

/// Text in `color` at `size`, placed by `h` and `v`.
pub(crate) fn text_style(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    (FONT, size).into_font().color(&color).pos(Pos::new(h, v))
}

/// Draws a page and hands the area below the header to `body`.
pub(crate) fn page(
    file_name: &str,
    title: &str,
    subtitle: &str,
    legend: &[LegendItem],
    body: impl FnOnce(&Area) -> Result<(), DrawError>,
) -> Result<Chart, ChartError> {
    let mut svg = String::new();
    let drawn = (|| {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let bold = (FONT, TITLE_SIZE, FontStyle::Bold)
            .into_font()
            .color(&INK)
            .pos(Pos::new(HPos::Left, VPos::Top));
        root.draw(&Text::new(title, (INDENT, 12), bold))?;
        let room = f64::from(WIDTH) - 2.0 * f64::from(INDENT);
        root.draw(&Text::new(
            fit(subtitle, SUBTITLE_SIZE, room),
            (INDENT, 44),
            text_style(SUBTITLE_SIZE, MUTED, HPos::Left, VPos::Top),
        ))?;
        draw_legend(&root, legend)?;
        let (_, plot) = root.split_vertically(HEADER);
        body(&plot)?;
        root.present()
    })();
    drawn.map_err(|e| ChartError::Draw {
        chart: file_name.into(),
        reason: e.to_string(),
    })?;
    Ok(Chart {
        file_name: file_name.into(),
        title: title.into(),
        svg,
    })
}

/// `text` cut with an ellipsis to fit `room` pixels.
fn fit(text: &str, size: f64, room: f64) -> String {
    if text_px(text, size) <= room {
        return text.into();
    }
    let mut out = text.to_string();
    while !out.is_empty() && text_px(&out, size) + text_px("…", size) > room {
        out.pop();
    }
    format!("{}…", out.trim_end())
}

/// The legend row, left to right. Keys are polygons and polylines, never
/// rectangles, so that the bars and cells are a chart's only `<rect>`s
/// besides the background (which keeps the SVG easy to check).
fn draw_legend(root: &Area, items: &[LegendItem]) -> Result<(), DrawError> {
    let y = 72;
    let mut x = INDENT;
    let label_style = text_style(LABEL_SIZE, INK, HPos::Left, VPos::Center);
    for item in items {
        match &item.key {
            Key::Bar(c) => {
                root.draw(&Polygon::new(
                    vec![(x, y - 6), (x + 12, y - 6), (x + 12, y + 6), (x, y + 6)],
                    c.filled(),
                ))?;
                x += 18;
            }
            Key::Line(c) => {
                root.draw(&PathElement::new(
                    vec![(x, y), (x + 22, y)],
                    c.stroke_width(2),
                ))?;
                root.draw(&Circle::new((x + 11, y), 3, c.filled()))?;
                x += 28;
            }
            Key::Whisker(c) => {
                let s = c.stroke_width(2);
                root.draw(&PathElement::new(vec![(x + 6, y - 7), (x + 6, y + 7)], s))?;
                root.draw(&PathElement::new(vec![(x + 2, y - 7), (x + 10, y - 7)], s))?;
                root.draw(&PathElement::new(vec![(x + 2, y + 7), (x + 10, y + 7)], s))?;
                x += 16;
            }
            Key::Scale(color, low, high) => {
                root.draw(&Text::new(low.clone(), (x, y), label_style.clone()))?;
                x += text_px(low, LABEL_SIZE) as i32 + 6;
                const STEPS: i32 = 24;
                for i in 0..STEPS {
                    let c = color((f64::from(i) + 0.5) / f64::from(STEPS));
                    let x0 = x + i * 4;
                    root.draw(&Polygon::new(
                        vec![(x0, y - 6), (x0 + 4, y - 6), (x0 + 4, y + 6), (x0, y + 6)],
                        c.filled(),
                    ))?;
                }
                x += STEPS * 4 + 6;
                root.draw(&Text::new(high.clone(), (x, y), label_style.clone()))?;
                x += text_px(high, LABEL_SIZE) as i32 + 10;
            }
        }
        root.draw(&Text::new(item.label.clone(), (x, y), label_style.clone()))?;
        x += text_px(&item.label, LABEL_SIZE) as i32 + 24;
    }
    Ok(())
}

/// A chart over the calendar's periods with a value axis `y`, its mesh
/// drawn: horizontal grid lines, period names that never overlap.
pub(crate) fn period_chart<'a, 'b>(
    area: &'a Area<'b>,
    calendar: &Calendar,
    y: Range<f64>,
    y_desc: &str,
    y_tick: &dyn Fn(&f64) -> String,
) -> Result<PeriodChart<'a, 'b>, DrawError> {
    let axis = CategoryAxis {
        n: calendar.len(),
        name: &|i| calendar.label_at(i),
        // Period names are digits, the widest characters they use.
        label_px: text_px(&"0".repeat(calendar.widest_label()), LABEL_SIZE),
        desc: "period",
    };
    category_chart(area, &axis, y, y_desc, y_tick)
}

/// An x axis of `n` categories (periods, or the steps of a bridge) centred
/// on 0, 1, … n − 1.
pub(crate) struct CategoryAxis<'a> {
    pub n: usize,
    /// Name of category `i`.
    pub name: &'a dyn Fn(usize) -> String,
    /// Width of the longest name in pixels.
    pub label_px: f64,
    /// Description under the axis.
    pub desc: &'a str,
}

/// A chart over categories with a value axis `y`, its mesh drawn:
/// horizontal grid lines, category names that never overlap.
pub(crate) fn category_chart<'a, 'b>(
    area: &'a Area<'b>,
    axis: &CategoryAxis,
    y: Range<f64>,
    y_desc: &str,
    y_tick: &dyn Fn(&f64) -> String,
) -> Result<PeriodChart<'a, 'b>, DrawError> {
    let n = axis.n;
    let room = f64::from(WIDTH - MARGIN_LEFT - MARGIN_RIGHT - Y_LABEL_AREA);
    let x = Slots::new(
        n,
        ticks(n, room / n.max(1) as f64, axis.label_px, Anchor::Last),
    );
    let mut chart = ChartBuilder::on(area)
        .margin_left(MARGIN_LEFT)
        .margin_right(MARGIN_RIGHT)
        .margin_top(8)
        .margin_bottom(6)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, y)?;
    let x_tick = |x: &f64| (axis.name)(x.round().max(0.0) as usize);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .bold_line_style(GRID)
        .light_line_style(TRANSPARENT)
        .axis_style(INK)
        .y_labels(8)
        .x_label_formatter(&x_tick)
        .y_label_formatter(y_tick)
        .label_style((FONT, LABEL_SIZE).into_font().color(&INK))
        .axis_desc_style((FONT, DESC_SIZE).into_font().color(&INK))
        .x_desc(axis.desc)
        .y_desc(y_desc)
        .draw()?;
    Ok(chart)
}

/// Range of `lo ..= hi` widened by `pad` of its span on the sides away
/// from zero, so bars have room for their labels and zero stays the edge.
pub(crate) fn padded(lo: f64, hi: f64, pad: f64) -> Range<f64> {
    let (lo, hi) = (lo.min(0.0), hi.max(0.0));
    let span = (hi - lo).max(1.0);
    let lo = if lo < 0.0 { lo - pad * span } else { lo };
    let hi = if hi > 0.0 || lo == 0.0 {
        hi + pad * span
    } else {
        hi
    };
    lo..hi
}

/// A horizontal line across the plot at `y` (the zero line).
pub(crate) fn hline(chart: &mut PeriodChart, y: f64) -> Result<(), DrawError> {
    let r = chart.x_range();
    chart.draw_series(std::iter::once(PathElement::new(
        vec![(r.start, y), (r.end, y)],
        INK.stroke_width(1),
    )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_subtitles_are_cut_to_fit() {
        let long = "x".repeat(300);
        let cut = fit(&long, SUBTITLE_SIZE, 400.0);
        assert!(cut.ends_with('…'));
        assert!(text_px(&cut, SUBTITLE_SIZE) <= 400.0);
        assert_eq!(fit("short", SUBTITLE_SIZE, 400.0), "short");
    }

    #[test]
    fn padding_grows_away_from_zero_only() {
        assert_eq!(padded(0.0, 100.0, 0.1), 0.0..110.0);
        assert_eq!(padded(-50.0, 50.0, 0.1), -60.0..60.0);
        assert_eq!(padded(10.0, 100.0, 0.1), 0.0..110.0);
        assert_eq!(padded(-100.0, 0.0, 0.1), -110.0..0.0);
    }
}
