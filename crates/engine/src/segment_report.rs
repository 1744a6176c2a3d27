//! The segment report (seed 000, SPEC §3): the customer base cut by
//! lifecycle stage, value tier, RFM segment (behavioural), tags
//! (psychographic), customer attributes (demographic) and the user's saved
//! segments, with the same profile for every segment:
//!
//! - `customers` and `customers_pct` (of all customers known at the as-of
//!   date; tags overlap, so their shares add up to more than 100 %);
//! - `paying` and `active` (as in the overview) and `active_pct`;
//! - `capital` (customer capital, in total) and `avg_capital` (per customer);
//! - `revenue_365` (net order revenue of the last 365 days);
//! - `avg_tenure_days` (days since the first payment, over paying customers);
//! - `nps_answers` and `nps`: the customers' latest NPS answers, % promoters
//!   (9–10) − % detractors (0–6); empty without answers.

use crate::report::{query, section};
use crate::segments::{check_expression, materialize_view, ViewNeeds, SEGMENT_VIEW};
use crate::{metrics, Engine, EngineError, Params, Report, ReportRequest};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use std::collections::BTreeSet;

/// Customer attributes of the demographic cuts by default.
pub const DEFAULT_SEGMENT_ATTRIBUTES: &[&str] = &["country", "gender", "age_band", "channel"];

/// Attributes a demographic cut can use: those of the split, and the age band.
const ATTRIBUTES: &[&str] = &[
    "country",
    "city",
    "gender",
    "age_band",
    "source",
    "channel",
    "consent",
    "birth_year",
];

/// At most this many tags get a row; the rest are too rare to read.
const MAX_TAGS: usize = 200;

/// The profile columns of one segment, over rows of [`SEGMENT_VIEW`].
fn profile_columns() -> &'static str {
    "COUNT(*) AS customers,
     ROUND(100.0 * COUNT(*) / (SELECT COUNT(*) FROM segment_customers), 1) AS customers_pct,
     SUM(CASE WHEN paying THEN 1 ELSE 0 END) AS paying,
     SUM(CASE WHEN active THEN 1 ELSE 0 END) AS active,
     ROUND(100.0 * SUM(CASE WHEN active THEN 1 ELSE 0 END) / COUNT(*), 1) AS active_pct,
     SUM(capital_minor) AS capital_minor,
     CAST(ROUND(AVG(CAST(capital_minor AS DOUBLE))) AS BIGINT) AS avg_capital_minor,
     SUM(revenue_365_minor) AS revenue_365_minor,
     ROUND(AVG(CAST(tenure_days AS DOUBLE)), 0) AS avg_tenure_days,
     COUNT(latest_nps) AS nps_answers,
     ROUND(100.0 * (SUM(CASE WHEN latest_nps >= 9 THEN 1 ELSE 0 END)
       - SUM(CASE WHEN latest_nps <= 6 THEN 1 ELSE 0 END)) / NULLIF(COUNT(latest_nps), 0), 1) AS nps"
}

/// A cut by one column of the view, in `order` (SQL over the `segment` column).
fn cut_sql(column: &str, order: &str) -> String {
    format!(
        "SELECT COALESCE(CAST({column} AS VARCHAR), '(none)') AS segment, {}
         FROM {SEGMENT_VIEW} GROUP BY 1 ORDER BY {order}",
        profile_columns()
    )
}

/// SQL ordering the named values first, in their order, then the rest by name.
fn named_order(names: &[&str]) -> String {
    let whens: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("WHEN '{n}' THEN {i}"))
        .collect();
    format!("CASE segment {} ELSE 999 END, segment", whens.join(" "))
}

/// The distinct tags of the customers, sorted (at most [`MAX_TAGS`]).
async fn tag_names(engine: &Engine) -> Result<Vec<String>, EngineError> {
    let lists = query(
        engine.context(),
        &format!("SELECT DISTINCT CAST(tags AS VARCHAR) AS tags FROM {SEGMENT_VIEW} WHERE tags IS NOT NULL"),
    )
    .await?;
    let col = datafusion::arrow::compute::cast(lists.column(0), &DataType::Utf8)?;
    let col = col.as_string::<i32>();
    let mut tags = BTreeSet::new();
    for i in (0..col.len()).filter(|&i| col.is_valid(i)) {
        for t in col.value(i).split(';') {
            let t = t.trim().to_lowercase();
            // Tags become SQL literals: keep only plain ones.
            if !t.is_empty() && !t.contains('\'') {
                tags.insert(t);
            }
        }
    }
    Ok(tags.into_iter().take(MAX_TAGS).collect())
}

fn tags_sql(tags: &[String]) -> String {
    let values: Vec<String> = tags.iter().map(|t| format!("('{t}')")).collect();
    let tagged = if tags.is_empty() {
        String::new()
    } else {
        format!(
            "SELECT v.tag AS segment, {cols} FROM {SEGMENT_VIEW} f
               JOIN (SELECT column1 AS tag FROM (VALUES {values})) v ON has_tag(f.tags, v.tag)
             GROUP BY v.tag UNION ALL ",
            cols = profile_columns(),
            values = values.join(", ")
        )
    };
    format!(
        "SELECT * FROM ({tagged}
           SELECT '(no tags)' AS segment, {cols} FROM {SEGMENT_VIEW}
           WHERE tags IS NULL OR trim(CAST(tags AS VARCHAR)) = '' HAVING COUNT(*) > 0)
         ORDER BY CASE segment WHEN '(no tags)' THEN 1 ELSE 0 END, segment",
        cols = profile_columns()
    )
}

/// One row per saved segment `(name, expression)`, in the given order.
fn saved_sql(saved: &[(String, String)]) -> String {
    let parts: Vec<String> = saved
        .iter()
        .enumerate()
        .map(|(i, (name, expr))| {
            format!(
                "SELECT {i} AS o, '{name}' AS segment, {cols} FROM {SEGMENT_VIEW} WHERE ({expr})",
                name = name.replace('\'', "''"),
                cols = profile_columns()
            )
        })
        .collect();
    format!(
        "SELECT * EXCLUDE (o) FROM ({}) ORDER BY o",
        parts.join(" UNION ALL ")
    )
}

impl Engine {
    /// The segment report at the request's as-of date (see the module
    /// docs): `segments_stage`, `segments_value_tier`, `segments_rfm`,
    /// `segments_tags`, one `segments_by_<attribute>` per attribute (default
    /// [`DEFAULT_SEGMENT_ATTRIBUTES`]) and `segments_saved` for the given
    /// saved segments `(name, expression)`.
    pub async fn segment_report(
        &self,
        req: &ReportRequest,
        attributes: &[String],
        saved: &[(String, String)],
    ) -> Result<Report, EngineError> {
        for a in attributes {
            if !ATTRIBUTES.contains(&a.as_str()) {
                return Err(EngineError::Request(format!(
                    "cannot cut segments by {a:?}: expected one of {}",
                    ATTRIBUTES.join(", ")
                )));
            }
        }
        for (name, expr) in saved {
            check_expression(expr)
                .map_err(|e| EngineError::Request(format!("saved segment {name:?}: {e}")))?;
        }
        let p: Params = self.params(req).await?;
        self.stages(&p).await?;
        materialize_view(self, &p, ViewNeeds::ALL).await?;
        let ctx = self.context();
        let tier_names: Vec<&str> = p
            .config
            .value_tiers
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let rfm_names: Vec<&str> = metrics::rfm::SEGMENTS.iter().map(|s| s.0).collect();
        let mut sections = vec![
            section(
                ctx,
                "segments_stage",
                "Segments by lifecycle stage",
                &cut_sql("stage", &metrics::stages::stage_order("segment")),
            )
            .await?,
            section(
                ctx,
                "segments_value_tier",
                "Segments by value tier (paying customers ranked by capital)",
                &cut_sql("value_tier", &named_order(&tier_names)),
            )
            .await?,
            section(
                ctx,
                "segments_rfm",
                "Segments by RFM (behavioural)",
                &cut_sql("rfm_segment", &named_order(&rfm_names)),
            )
            .await?,
            section(
                ctx,
                "segments_tags",
                "Segments by tag (psychographic; a customer counts under each of their tags)",
                &tags_sql(&tag_names(self).await?),
            )
            .await?,
        ];
        for a in attributes {
            sections.push(
                section(
                    ctx,
                    &format!("segments_by_{a}"),
                    &format!("Segments by {a} (demographic)"),
                    &cut_sql(a, "customers DESC, segment"),
                )
                .await?,
            );
        }
        if !saved.is_empty() {
            let s = section(ctx, "segments_saved", "Saved segments", &saved_sql(saved))
                .await
                .map_err(|e| match e {
                    EngineError::DataFusion(d) => EngineError::Request(format!(
                        "a saved segment's expression fails: {}",
                        d.strip_backtrace()
                    )),
                    other => other,
                })?;
            sections.push(s);
        }
        Ok(self.finish(p.as_of(), sections))
    }
}
