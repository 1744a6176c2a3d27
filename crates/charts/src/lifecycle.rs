//! Active customers per period and the period lifecycle ("growth
//! accounting"), both from the `period_lifecycle` section.
//!
//! The `active` section counts six kinds of active customer on the as-of
//! day only, and they overlap, so they cannot be stacked per period; the
//! lifecycle's kinds (new, returning, resurrecting) partition each period's
//! active customers, so their stack is exactly the number active.

use crate::bars::{Series, Stacked};
use crate::canvas::page;
use crate::columns::{dates, numbers, sum_by};
use crate::format::count;
use crate::periods::Calendar;
use crate::{Chart, ChartError};
use clientela_engine::Report;
use plotters::style::RGBColor;

/// Bar colours (Tableau 10: distinct for the colour-blind too).
pub(crate) const RETURNING: RGBColor = RGBColor(0x4C, 0x78, 0xA8);
pub(crate) const RESURRECTING: RGBColor = RGBColor(0xF5, 0x85, 0x18);
pub(crate) const NEW: RGBColor = RGBColor(0x54, 0xA2, 0x4B);
pub(crate) const DORMANT: RGBColor = RGBColor(0xE4, 0x57, 0x56);
/// The net change line.
pub(crate) const NET: RGBColor = RGBColor(0x22, 0x22, 0x22);

/// `active_customers.svg` and `period_lifecycle.svg`.
pub(crate) fn charts(report: &Report, calendar: &Calendar) -> Result<Vec<Chart>, ChartError> {
    let Some(s) = report.section("period_lifecycle") else {
        return Ok(Vec::new());
    };
    if s.batch.num_rows() == 0 {
        return Ok(Vec::new());
    }
    let names = ["new", "returning", "resurrecting", "dormant"];
    let columns = names
        .iter()
        .map(|c| numbers(s, c))
        .collect::<Result<Vec<_>, _>>()?;
    let sums = sum_by(&dates(s, "period")?, &columns);
    let column = |k: usize| calendar.align(sums.iter().map(|(d, v)| (*d, v[k])), 0.0);
    let [new, returning, resurrecting, dormant] = [0, 1, 2, 3].map(column);
    let series = |label: &str, color, values: &Vec<f64>| Series {
        label: label.into(),
        color,
        values: values.clone(),
    };
    let up = vec![
        series("returning", RETURNING, &returning),
        series("resurrecting", RESURRECTING, &resurrecting),
        series("new", NEW, &new),
    ];
    let active = Stacked {
        up: up.clone(),
        down: Vec::new(),
        line: None,
        totals: true,
        y_desc: "customers".into(),
        format: count,
    };
    if active.is_blank() {
        return Ok(Vec::new());
    }
    // Returning customers are last period's active ones less the dormant,
    // so the change in active customers is new + resurrecting − dormant.
    let net = (0..calendar.len())
        .map(|i| new[i] + resurrecting[i] - dormant[i])
        .collect();
    let lifecycle = Stacked {
        up,
        down: vec![series("dormant (drawn negative)", DORMANT, &dormant)],
        line: Some(Series {
            label: "net change (new + resurrecting − dormant)".into(),
            color: NET,
            values: net,
        }),
        totals: false,
        y_desc: "customers".into(),
        format: count,
    };
    Ok(vec![
        page(
            "active_customers.svg",
            "Active customers per period",
            "Customers with a qualifying interaction in the period: new (first ever), \
             returning (also active the period before) or resurrecting",
            &active.legend(),
            |area| active.draw(area, calendar),
        )?,
        page(
            "period_lifecycle.svg",
            "Period lifecycle: customers gained and lost",
            &s.title,
            &lifecycle.legend(),
            |area| lifecycle.draw(area, calendar),
        )?,
    ])
}
