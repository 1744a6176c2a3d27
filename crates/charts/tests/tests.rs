//! Charts drawn from hand-made reports with values small enough to check by
//! hand: three months, 2025-01 … 2025-03, one segment unless a test splits
//! it. Each test reads the SVG back (bars are `<rect>`s, lines
//! `<polyline>`s, markers `<circle>`s) and checks what was drawn.

#[path = "it/svg.rs"]
mod svg;

use arrow::array::{ArrayRef, Date32Array, Decimal128Array, Float64Array, Int64Array, StringArray};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use clientela_charts::{render, Chart, ChartError};
use clientela_engine::{Report, Section};
use std::sync::Arc;
use svg::Svg;

// The palette, as the SVG writes it.
const NEW: &str = "#54A24B";
const RETURNING: &str = "#4C78A8";
const RESURRECTING: &str = "#F58518";
const DORMANT: &str = "#E45756";
const TOTAL: &str = "#4E79A7";
const INCREASE: &str = "#59A14F";
const DECREASE: &str = "#E15759";
const CHURN: &str = "#E15759";
const RETENTION: &str = "#4E79A7";
const NPS: &str = "#4E79A7";
const WHISKER: &str = "#9CB3D0";
const BACKGROUND: &str = "#FFFFFF";

/// Pixels that rounding may move an edge by.
const PX: f64 = 1.0;

const MONTHS: [&str; 3] = ["2025-01-01", "2025-02-01", "2025-03-01"];

fn day(s: &str) -> i32 {
    let d = NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap()).num_days() as i32
}

fn dates(v: &[&str]) -> ArrayRef {
    Arc::new(Date32Array::from(
        v.iter().map(|s| day(s)).collect::<Vec<_>>(),
    ))
}

fn ints(v: &[i64]) -> ArrayRef {
    Arc::new(Int64Array::from(v.to_vec()))
}

fn floats(v: &[f64]) -> ArrayRef {
    Arc::new(Float64Array::from(v.to_vec()))
}

fn texts(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// Amounts in cents, as the engine turns `*_minor` into Decimal128(38, 2).
fn money(cents: &[i64]) -> ArrayRef {
    let d = Decimal128Array::from(cents.iter().map(|c| *c as i128).collect::<Vec<_>>());
    Arc::new(d.with_precision_and_scale(38, 2).unwrap())
}

fn all(n: usize) -> ArrayRef {
    texts(&vec!["all"; n])
}

fn section(name: &str, title: &str, columns: Vec<(&str, ArrayRef)>) -> Section {
    Section {
        name: name.into(),
        title: title.into(),
        batch: RecordBatch::try_from_iter(columns).unwrap(),
    }
}

fn lifecycle() -> Section {
    section(
        "period_lifecycle",
        "Period lifecycle: active customers by kind, and dormant",
        vec![
            ("period", dates(&MONTHS)),
            ("segment", all(3)),
            ("new", ints(&[5, 6, 7])),
            ("returning", ints(&[10, 12, 14])),
            ("resurrecting", ints(&[2, 3, 4])),
            ("active", ints(&[17, 21, 25])),
            ("dormant", ints(&[4, 5, 6])),
        ],
    )
}

fn churn() -> Section {
    section(
        "churn",
        "Customer churn and retention per period (seed 003)",
        vec![
            ("period", dates(&MONTHS)),
            ("segment", all(3)),
            ("customers_at_start", ints(&[20, 20, 25])),
            ("lost", ints(&[4, 5, 10])),
            ("churn_pct", floats(&[20.0, 25.0, 40.0])),
            ("retention_pct", floats(&[80.0, 75.0, 60.0])),
            ("active_at_end", ints(&[22, 21, 25])),
        ],
    )
}

fn nps(months: &[&str], scores: &[f64], margins: &[f64]) -> Section {
    let n = months.len();
    section(
        "nps",
        "NPS per period (latest answer per customer; margin of error at 95 %)",
        vec![
            ("period", dates(months)),
            ("segment", all(n)),
            ("answers", ints(&vec![10; n])),
            ("promoters", ints(&vec![5; n])),
            ("passives", ints(&vec![3; n])),
            ("detractors", ints(&vec![2; n])),
            ("nps", floats(scores)),
            ("margin_95", floats(margins)),
            ("change", floats(&vec![0.0; n])),
        ],
    )
}

/// MRR in cents; the last month: 100 + 30 + 10 + 5 − 5 − 15 = 125.
fn mrr(rows: [[i64; 7]; 3]) -> Section {
    let column = |k: usize| money(&rows.map(|r| r[k]));
    section(
        "mrr",
        "Subscription revenue (MRR) per month",
        vec![
            ("period", dates(&MONTHS)),
            ("segment", all(3)),
            ("mrr_start", column(0)),
            ("new", column(1)),
            ("expansion", column(2)),
            ("reactivation", column(3)),
            ("contraction", column(4)),
            ("churn", column(5)),
            ("mrr_end", column(6)),
            ("customers", ints(&[3, 4, 5])),
        ],
    )
}

const MRR: [[i64; 7]; 3] = [
    [6000, 3000, 0, 0, 0, 1000, 8000],
    [8000, 2500, 0, 0, 0, 500, 10000],
    [10000, 3000, 1000, 500, 500, 1500, 12500],
];

/// A triangle: cohort 2025-01 at offsets 0–2, 2025-02 at 0–1, 2025-03 at 0.
fn cohorts() -> Section {
    section(
        "cohort_retention",
        "Cohort retention by first purchase month",
        vec![
            (
                "cohort",
                dates(&[
                    MONTHS[0], MONTHS[0], MONTHS[0], MONTHS[1], MONTHS[1], MONTHS[2],
                ]),
            ),
            ("segment", all(6)),
            ("period_offset", ints(&[0, 1, 2, 0, 1, 0])),
            ("cohort_customers", ints(&[10, 10, 10, 8, 8, 4])),
            ("active_customers", ints(&[10, 5, 2, 8, 2, 4])),
            (
                "active_pct",
                floats(&[100.0, 50.0, 20.0, 100.0, 25.0, 100.0]),
            ),
        ],
    )
}

fn report(sections: Vec<Section>) -> Report {
    Report {
        as_of: NaiveDate::from_ymd_opt(2025, 3, 31).unwrap(),
        currency: Some("EUR".into()),
        sections,
    }
}

fn full() -> Report {
    report(vec![
        lifecycle(),
        churn(),
        nps(&MONTHS, &[30.0, 25.0, 40.0], &[20.0, 10.0, 30.0]),
        mrr(MRR),
        cohorts(),
    ])
}

fn chart(r: &Report, file: &str) -> Svg {
    let charts = render(r).unwrap();
    let c = charts
        .iter()
        .find(|c| c.file_name == file)
        .unwrap_or_else(|| panic!("no {file} in {:?}", names(&charts)));
    Svg::parse(&c.svg)
}

fn names(charts: &[Chart]) -> Vec<&str> {
    charts.iter().map(|c| c.file_name.as_str()).collect()
}

#[test]
fn a_full_report_gives_every_chart_as_well_formed_svg_with_its_title() {
    let charts = render(&full()).unwrap();
    assert_eq!(
        names(&charts),
        [
            "active_customers.svg",
            "period_lifecycle.svg",
            "mrr_bridge.svg",
            "mrr_movements.svg",
            "churn_retention.svg",
            "nps.svg",
            "cohort_retention.svg"
        ]
    );
    for c in &charts {
        let svg = Svg::parse(&c.svg);
        let root = &svg.elements[0];
        assert_eq!((root.num("width"), root.num("height")), (960.0, 540.0));
        assert!(
            svg.texts().contains(&c.title),
            "{}: title {:?} not drawn",
            c.file_name,
            c.title
        );
        // One white background, and nothing else drawn in white rects.
        assert_eq!(svg.rects(BACKGROUND).len(), 1, "{}", c.file_name);
    }
    assert_eq!(charts[2].title, "MRR bridge, 2025-03");
}

#[test]
fn active_customers_stack_a_bar_per_period_and_kind_with_its_total() {
    let svg = chart(&full(), "active_customers.svg");
    for color in [NEW, RETURNING, RESURRECTING] {
        assert_eq!(svg.rects(color).len(), 3, "{color}");
    }
    assert!(svg.rects(DORMANT).is_empty());
    // Returning at the bottom, then resurrecting, then new on top.
    let (ret, res, new) = (
        svg.rects(RETURNING),
        svg.rects(RESURRECTING),
        svg.rects(NEW),
    );
    for i in 0..3 {
        assert!((res[i].bottom() - ret[i].top()).abs() <= PX);
        assert!((new[i].bottom() - res[i].top()).abs() <= PX);
    }
    // Heights follow the counts: returning 10, 12, 14.
    let h: Vec<f64> = ret.iter().map(|r| r.num("height")).collect();
    assert!((h[1] / h[0] - 1.2).abs() < 0.05, "{h:?}");
    // Each total sits on top of its bar, centred.
    for (bar, total) in new.iter().zip(["17", "21", "25"]) {
        let centre = bar.num("x") + bar.num("width") / 2.0;
        let on_top = svg.text_elements(total).into_iter().any(|t| {
            (t.num("x") - centre).abs() <= PX && (bar.top() - t.num("y")).abs() <= 4.0 + PX
        });
        assert!(on_top, "total {total} above its bar");
    }
    for name in ["2025-01", "2025-02", "2025-03"] {
        assert_eq!(svg.text_elements(name).len(), 1, "period {name}");
    }
}

#[test]
fn dormant_customers_are_drawn_below_the_axis() {
    let svg = chart(&full(), "period_lifecycle.svg");
    let dormant = svg.rects(DORMANT);
    let returning = svg.rects(RETURNING);
    assert_eq!(dormant.len(), 3);
    for (d, r) in dormant.iter().zip(&returning) {
        // The axis is where the returning bar stands and the dormant hangs.
        assert!((d.top() - r.bottom()).abs() <= PX, "{d:?} {r:?}");
        assert!(d.num("height") > 0.0);
    }
    let every_positive_bottom = [NEW, RETURNING, RESURRECTING]
        .iter()
        .flat_map(|c| svg.rects(c))
        .map(|r| r.bottom())
        .fold(0.0, f64::max);
    assert!(dormant
        .iter()
        .all(|d| d.top() >= every_positive_bottom - PX));
    // The net change line: 5 + 2 − 4 = 3, 6 + 3 − 5 = 4, 7 + 4 − 6 = 5,
    // all above the axis, rising.
    let net = svg.lines("#222222");
    assert_eq!(net.len(), 2, "the legend's line and the chart's");
    let points = net
        .iter()
        .map(|l| l.points())
        .find(|p| p.len() == 3)
        .unwrap();
    assert!(points.iter().all(|p| p.1 < dormant[0].top()));
    assert!(points[0].1 > points[1].1 && points[1].1 > points[2].1);
}

#[test]
fn the_mrr_bridge_chains_from_start_to_end_and_losses_go_down() {
    let svg = chart(&full(), "mrr_bridge.svg");
    let mut bars: Vec<_> = [TOTAL, INCREASE, DECREASE]
        .iter()
        .flat_map(|c| svg.rects(c))
        .collect();
    bars.sort_by(|a, b| a.num("x").total_cmp(&b.num("x")));
    assert_eq!(bars.len(), 7);
    let fills: Vec<&str> = bars.iter().map(|b| b.attr("fill")).collect();
    assert_eq!(
        fills,
        [TOTAL, INCREASE, INCREASE, INCREASE, DECREASE, DECREASE, TOTAL]
    );
    let [start, new, expansion, reactivation, contraction, churn, end] = bars[..] else {
        unreachable!()
    };
    // Each increase starts where the level stood and goes up …
    assert!((new.bottom() - start.top()).abs() <= PX);
    assert!((expansion.bottom() - new.top()).abs() <= PX);
    assert!((reactivation.bottom() - expansion.top()).abs() <= PX);
    // … each loss starts there and goes down …
    assert!((contraction.top() - reactivation.top()).abs() <= PX);
    assert!((churn.top() - contraction.bottom()).abs() <= PX);
    // … and the end is where the last loss stopped.
    assert!((end.top() - churn.bottom()).abs() <= PX);
    assert!(end.top() < start.top(), "125 stands above 100");
    let labels = svg.texts();
    for l in [
        "100.00", "+30.00", "+10.00", "+5.00", "−5.00", "−15.00", "125.00",
    ] {
        assert!(labels.iter().any(|t| t == l), "label {l} in {labels:?}");
    }
}

#[test]
fn mrr_movements_stack_gains_up_and_losses_down() {
    let svg = chart(&full(), "mrr_movements.svg");
    // New every month; churn every month; expansion only in March.
    assert_eq!(svg.rects(INCREASE).len(), 3);
    assert_eq!(svg.rects(DECREASE).len(), 3);
    let axis = svg.rects(INCREASE)[0].bottom();
    let (churn, contraction) = (svg.rects(DECREASE), svg.rects("#FF9D9A"));
    // Churn hangs from the axis, or from March's contraction, which does.
    assert!((churn[0].top() - axis).abs() <= PX && (churn[1].top() - axis).abs() <= PX);
    assert_eq!(contraction.len(), 1);
    assert!((contraction[0].top() - axis).abs() <= PX);
    assert!((churn[2].top() - contraction[0].bottom()).abs() <= PX);
    assert_eq!(svg.rects("#8CD17D").len(), 1, "expansion");
}

#[test]
fn a_business_without_subscriptions_gets_no_mrr_charts() {
    let mut r = full();
    r.sections.retain(|s| s.name != "mrr");
    r.sections.push(mrr([[0; 7]; 3]));
    let charts = render(&r).unwrap();
    assert!(!names(&charts).iter().any(|n| n.starts_with("mrr")));
    assert_eq!(charts.len(), 5);
}

#[test]
fn churn_and_retention_are_lines_through_each_period() {
    let svg = chart(&full(), "churn_retention.svg");
    let line = |color: &str| {
        svg.lines(color)
            .into_iter()
            .map(|l| l.points())
            .find(|p| p.len() == 3)
            .unwrap_or_else(|| panic!("no 3-point line in {color}"))
    };
    let (churn, retention) = (line(CHURN), line(RETENTION));
    for i in 0..3 {
        assert!(retention[i].1 < churn[i].1, "retention above churn");
        assert_eq!(retention[i].0, churn[i].0, "same period, same x");
    }
    // On the axis, where its "0%" and "100%" ticks are: churn 20 %, 25 %, 40 %.
    let tick_y = |t: &str| svg.text_elements(t)[0].num("y");
    let (zero, hundred) = (tick_y("0%"), tick_y("100%"));
    for (point, pct) in churn.iter().zip([20.0, 25.0, 40.0]) {
        let want = zero + (hundred - zero) * pct / 100.0;
        assert!(
            (point.1 - want).abs() <= PX,
            "{pct} % at {} not {want}",
            point.1
        );
    }
    assert_eq!(
        svg.dots(CHURN).len(),
        3 + 1,
        "a dot per period and the legend's"
    );
}

#[test]
fn nps_error_bars_span_the_margin_of_error() {
    let svg = chart(&full(), "nps.svg");
    let verticals: Vec<(f64, f64)> = svg
        .lines(WHISKER)
        .iter()
        .map(|l| l.points())
        .filter(|p| p.len() == 2 && p[0].0 == p[1].0)
        .map(|p| (p[0].0, (p[1].1 - p[0].1).abs()))
        .collect();
    // The legend's whisker (drawn first) and one per period.
    assert_eq!(verticals.len(), 4);
    let lengths: Vec<f64> = verticals[1..].iter().map(|v| v.1).collect();
    // Margins 20, 10, 30: whiskers of 40, 20 and 60 points.
    assert!((lengths[0] / lengths[1] - 2.0).abs() < 0.1, "{lengths:?}");
    assert!((lengths[2] / lengths[1] - 3.0).abs() < 0.1, "{lengths:?}");
    assert_eq!(svg.dots(NPS).len(), 3 + 1);
}

#[test]
fn a_period_without_nps_answers_breaks_the_line() {
    let mut r = full();
    r.sections.retain(|s| s.name != "nps");
    r.sections
        .push(nps(&[MONTHS[0], MONTHS[2]], &[10.0, 20.0], &[5.0, 5.0]));
    let svg = chart(&r, "nps.svg");
    // Two dots on the calendar's first and third slots, no line between.
    assert_eq!(svg.dots(NPS).len(), 2 + 1);
    assert_eq!(svg.lines(NPS).len(), 1, "only the legend's line");
    let x: Vec<f64> = svg.dots(NPS).iter().map(|d| d.num("cx")).collect();
    let (first, third) = (x[1], x[2]);
    let labels: Vec<f64> = ["2025-01", "2025-03"]
        .iter()
        .map(|l| svg.text_elements(l)[0].num("x"))
        .collect();
    assert!((first - labels[0]).abs() <= PX && (third - labels[1]).abs() <= PX);
}

#[test]
fn the_cohort_heatmap_has_a_cell_per_cohort_and_offset() {
    let svg = chart(&full(), "cohort_retention.svg");
    let cells: Vec<_> = svg
        .all("rect")
        .filter(|r| r.attr("fill") != BACKGROUND)
        .collect();
    assert_eq!(cells.len(), 6);
    let texts = svg.texts();
    for v in ["100.0", "50.0", "20.0", "25.0"] {
        assert!(texts.iter().any(|t| t == v), "{v} in {texts:?}");
    }
    // The oldest cohort is the top row: its three cells share the least y.
    let top = cells.iter().map(|c| c.top()).fold(f64::INFINITY, f64::min);
    assert_eq!(cells.iter().filter(|c| c.top() == top).count(), 3);
    // Higher % is darker.
    let lightness = |pct_text: &str| {
        let t = &svg.text_elements(pct_text)[0];
        let (x, y) = (t.num("x"), t.num("y"));
        let cell = cells
            .iter()
            .find(|c| {
                c.num("x") <= x
                    && x <= c.num("x") + c.num("width")
                    && c.top() <= y
                    && y <= c.bottom()
            })
            .unwrap();
        let hex = &cell.attr("fill")[1..];
        (0..3)
            .map(|i| u32::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .sum::<u32>()
    };
    assert!(lightness("50.0") < lightness("25.0"));
    assert!(lightness("25.0") < lightness("20.0"));
    assert!(texts.iter().any(|t| t == "2025-01 (10)"), "cohort and size");
}

#[test]
fn a_missing_section_skips_only_its_chart() {
    let mut r = full();
    r.sections.retain(|s| s.name != "nps");
    let charts = render(&r).unwrap();
    assert!(!names(&charts).contains(&"nps.svg"));
    assert_eq!(charts.len(), 6);
    assert!(render(&report(Vec::new())).unwrap().is_empty());
}

#[test]
fn an_empty_section_skips_its_charts() {
    let empty = |s: Section| Section {
        batch: s.batch.slice(0, 0),
        ..s
    };
    let r = report(vec![
        empty(lifecycle()),
        churn(),
        empty(cohorts()),
        empty(mrr(MRR)),
    ]);
    let charts = render(&r).unwrap();
    assert_eq!(names(&charts), ["churn_retention.svg"]);
}

#[test]
fn a_section_without_a_column_it_needs_is_an_error() {
    let s = lifecycle();
    let batch = s.batch.project(&[0, 1, 2, 3, 4, 5]).unwrap();
    let r = report(vec![Section { batch, ..s }]);
    match render(&r) {
        Err(ChartError::MissingColumn { section, column }) => {
            assert_eq!(
                (section.as_str(), column.as_str()),
                ("period_lifecycle", "dormant")
            );
        }
        other => panic!("expected a missing column, got {other:?}"),
    }
}

#[test]
fn a_split_report_is_charted_for_the_whole_base() {
    // Two countries whose counts add up to the unsplit fixture's; their own
    // rates (deliberately off) must not be used.
    let split_churn = section(
        "churn",
        "Customer churn and retention per period (seed 003)",
        vec![
            (
                "period",
                dates(&[
                    MONTHS[0], MONTHS[0], MONTHS[1], MONTHS[1], MONTHS[2], MONTHS[2],
                ]),
            ),
            ("segment", texts(&["DE", "IT", "DE", "IT", "DE", "IT"])),
            ("customers_at_start", ints(&[10, 10, 15, 5, 5, 20])),
            ("lost", ints(&[1, 3, 5, 0, 5, 5])),
            ("churn_pct", floats(&[99.0; 6])),
            ("retention_pct", floats(&[1.0; 6])),
            ("active_at_end", ints(&[11, 11, 10, 11, 5, 20])),
        ],
    );
    let split_lifecycle = section(
        "period_lifecycle",
        "Period lifecycle: active customers by kind, and dormant",
        vec![
            (
                "period",
                dates(&[
                    MONTHS[0], MONTHS[0], MONTHS[1], MONTHS[1], MONTHS[2], MONTHS[2],
                ]),
            ),
            ("segment", texts(&["DE", "IT", "DE", "IT", "DE", "IT"])),
            ("new", ints(&[2, 3, 6, 0, 3, 4])),
            ("returning", ints(&[5, 5, 6, 6, 7, 7])),
            ("resurrecting", ints(&[1, 1, 1, 2, 4, 0])),
            ("active", ints(&[8, 9, 13, 8, 14, 11])),
            ("dormant", ints(&[2, 2, 5, 0, 3, 3])),
        ],
    );
    let whole = render(&report(vec![lifecycle(), churn()])).unwrap();
    let split = render(&report(vec![split_lifecycle, split_churn])).unwrap();
    assert_eq!(names(&whole), names(&split));
    for (w, s) in whole.iter().zip(&split) {
        assert_eq!(w.svg, s.svg, "{} differs when split", w.file_name);
    }
}

#[test]
fn titles_with_markup_stay_well_formed() {
    let mut s = lifecycle();
    s.title = "Lifecycle <by kind> & \"dormant\"".into();
    let svg = chart(&report(vec![s]), "period_lifecycle.svg");
    assert!(svg
        .texts()
        .contains(&"Lifecycle <by kind> & \"dormant\"".to_string()));
}

#[test]
fn thirty_six_months_are_labelled_without_overlap() {
    let months: Vec<String> = (0..36)
        .map(|i| format!("{}-{:02}-01", 2025 + i / 12, i % 12 + 1))
        .collect();
    let months: Vec<&str> = months.iter().map(String::as_str).collect();
    let counts: Vec<i64> = (0..36).map(|i| 100 + i).collect();
    let s = section(
        "period_lifecycle",
        "Period lifecycle",
        vec![
            ("period", dates(&months)),
            ("new", ints(&counts)),
            ("returning", ints(&counts)),
            ("resurrecting", ints(&counts)),
            ("dormant", ints(&counts)),
        ],
    );
    let svg = chart(&report(vec![s]), "active_customers.svg");
    assert_eq!(svg.rects(NEW).len(), 36);
    let labels: Vec<(String, f64)> = svg
        .all("text")
        .filter(|t| t.text.trim().len() == 7 && t.text.trim().starts_with("20"))
        .map(|t| (t.text.trim().to_string(), t.num("x")))
        .collect();
    assert_eq!(
        labels.last().unwrap().0,
        "2027-12",
        "the last month is named"
    );
    assert!(labels.len() >= 6 && labels.len() < 36, "{labels:?}");
    // "2025-01" at 12.1 px is about 50 px wide (centred on x).
    assert!(
        labels.windows(2).all(|w| w[1].1 - w[0].1 > 55.0),
        "{labels:?}"
    );
    // 36 bars are too narrow for their totals (300, 303 … 405): none written.
    assert!(svg.text_elements("303").is_empty());
    assert!(svg.text_elements("405").is_empty());
}
