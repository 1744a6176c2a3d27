//! Segments (seed 000, SPEC §3): the per-customer table that segment
//! expressions are written over, and the restriction of an engine to the
//! customers of one segment.
//!
//! A segment is a SQL filter expression over [`SEGMENT_VIEW`], e.g.
//! `country = 'IT' and stage in ('loyal','promoter') and capital > 500`.
//! The view is the per-customer stage table at the as-of date (attributes,
//! stage, activity, P(alive), …) with money also in currency units
//! (`capital`, `net_revenue`, `revenue_365`), the customer's `age` and
//! `age_band`, the `value_tier` (see [`clientela_core::config::ValueTier`])
//! and the RFM scores and segment (`r_score`, `f_score`, `m_score`,
//! `rfm_segment`, see `metrics/rfm.rs`). Tags are tested with
//! `has_tag(tags, 'sport')`.
//!
//! Restricting an engine to a segment ([`Engine::restrict_to_segment`])
//! evaluates the expression once, at the as-of date, and then keeps only
//! the segment's customers in every per-customer table: every report that
//! follows describes those customers, their history included (their
//! trends show how today's members behaved in earlier periods). Spend is
//! not per customer and stays whole.

use crate::facts::materialize;
use crate::{metrics, Engine, EngineError, Params};
use clientela_core::RecordKind;
use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Int64Type;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

/// The per-customer table segment expressions are evaluated over.
pub const SEGMENT_VIEW: &str = "segment_customers";

/// The keys (`ck`) of the customers in the segment being applied.
const MEMBERS: &str = "segment_members";

/// Age bands of the demographic segments: (lowest age, name), youngest first.
const AGE_BANDS: [(i64, &str); 7] = [
    (0, "under 18"),
    (18, "18-24"),
    (25, "25-34"),
    (35, "35-44"),
    (45, "45-54"),
    (55, "55-64"),
    (65, "65+"),
];

/// What the view must compute beyond the stage table: the value tiers
/// take a ranking of all paying customers and RFM a scoring pass, so they
/// are added only when an expression names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ViewNeeds {
    /// `value_tier`.
    pub value_tier: bool,
    /// The RFM columns.
    pub rfm: bool,
}

impl ViewNeeds {
    /// Everything (segment reports).
    pub const ALL: ViewNeeds = ViewNeeds {
        value_tier: true,
        rfm: true,
    };

    /// What one expression can name (a mention anywhere, even in a string,
    /// only costs time).
    pub fn of(expression: &str) -> ViewNeeds {
        let e = expression.to_ascii_lowercase();
        ViewNeeds {
            value_tier: e.contains("value_tier"),
            rfm: ["rfm_", "_score", "recency_days", "frequency", "monetary"]
                .iter()
                .any(|w| e.contains(w)),
        }
    }
}

/// Checks that `expression` is one SQL expression and nothing more, so
/// that it can be written into a `WHERE (…)` clause as it stands.
pub fn check_expression(expression: &str) -> Result<(), EngineError> {
    let bad = |why: String| {
        EngineError::Request(format!(
            "segment expression {expression:?}: {why}; expected a filter such as \
             country = 'IT' and stage in ('loyal','promoter') and capital > 500"
        ))
    };
    if expression.trim().is_empty() {
        return Err(bad("it is empty".into()));
    }
    let mut parser = Parser::new(&GenericDialect {})
        .try_with_sql(expression)
        .map_err(|e| bad(e.to_string()))?;
    parser.parse_expr().map_err(|e| bad(e.to_string()))?;
    match parser.peek_token().token {
        Token::EOF => Ok(()),
        t => Err(bad(format!("unexpected {t} after the expression"))),
    }
}

/// SQL of the view at `p`'s as-of day over the materialised `customer_stage`
/// (and `customer_rfm` when `needs.rfm`).
fn view_sql(p: &Params, exponent: u32, needs: ViewNeeds) -> String {
    let scale = 10f64.powi(exponent as i32);
    let year = chrono::Datelike::year(&p.as_of());
    let bands: Vec<String> = AGE_BANDS
        .iter()
        .rev()
        .map(|(from, name)| format!("WHEN {year} - f.birth_year >= {from} THEN '{name}'"))
        .collect();
    let tiers = &p.config.value_tiers;
    let tier_cases: Vec<String> = tiers
        .iter()
        .map(|t| format!("WHEN rk <= CEIL({} * n) THEN '{}'", t.top_share, t.name))
        .collect();
    let (tier_cte, tier_col, tier_join) = if needs.value_tier {
        (
            format!(
                "WITH ranked AS (SELECT ck, RANK() OVER (ORDER BY capital_minor DESC) AS rk,
                     COUNT(*) OVER () AS n FROM customer_stage WHERE paying),
                 tiers AS (SELECT ck, CASE {} ELSE '{}' END AS value_tier FROM ranked)",
                tier_cases.join(" "),
                tiers.last().map_or("", |t| t.name.as_str())
            ),
            ", t.value_tier",
            " LEFT JOIN tiers t ON t.ck = f.ck",
        )
    } else {
        (String::new(), "", "")
    };
    let (rfm_cols, rfm_join) = if needs.rfm {
        (
            ", r.recency_days, r.frequency, r.monetary_minor, r.r_score, r.f_score, r.m_score, r.rfm_segment",
            format!(" LEFT JOIN {} r ON r.ck = f.ck", metrics::rfm::TABLE),
        )
    } else {
        ("", String::new())
    };
    format!(
        "{tier_cte}
         SELECT f.* EXCLUDE (signup_day, known),
           CAST(f.capital_minor AS DOUBLE) / {scale} AS capital,
           CAST(f.net_minor AS DOUBLE) / {scale} AS net_revenue,
           CAST(f.revenue_365_minor AS DOUBLE) / {scale} AS revenue_365,
           {year} - f.birth_year AS age,
           CASE WHEN f.birth_year IS NULL THEN NULL {bands} END AS age_band{tier_col}{rfm_cols}
         FROM customer_stage f{tier_join}{rfm_join}",
        bands = bands.join(" "),
    )
}

/// Computes [`SEGMENT_VIEW`] over the stage table, which must have been
/// materialised at `p` ([`Engine::stages`]).
pub(crate) async fn materialize_view(
    engine: &Engine,
    p: &Params,
    needs: ViewNeeds,
) -> Result<(), EngineError> {
    let ctx = engine.context();
    if needs.rfm {
        metrics::rfm::materialize_scores(ctx, p).await?;
    }
    materialize(ctx, &view_sql(p, engine.exponent(), needs), SEGMENT_VIEW).await
}

/// How many customers a segment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentSize {
    /// Customers in the segment.
    pub members: u64,
    /// Customers known at the as-of date (the segment's base).
    pub customers: u64,
}

async fn count(ctx: &SessionContext, sql: &str) -> Result<u64, EngineError> {
    let batch = crate::report::query(ctx, sql).await?;
    Ok(batch.column(0).as_primitive::<Int64Type>().value(0) as u64)
}

/// Materialises [`MEMBERS`] and counts them against all customers.
async fn members(
    engine: &Engine,
    p: &Params,
    expression: &str,
) -> Result<SegmentSize, EngineError> {
    check_expression(expression)?;
    engine.stages(p).await?;
    materialize_view(engine, p, ViewNeeds::of(expression)).await?;
    let ctx = engine.context();
    let sql = format!("SELECT ck FROM {SEGMENT_VIEW} WHERE ({expression})");
    materialize(ctx, &sql, MEMBERS).await.map_err(|e| match e {
        EngineError::DataFusion(d) => EngineError::Request(format!(
            "segment expression {expression:?}: {}",
            d.strip_backtrace()
        )),
        other => other,
    })?;
    Ok(SegmentSize {
        members: count(ctx, &format!("SELECT COUNT(*) FROM {MEMBERS}")).await?,
        customers: count(ctx, &format!("SELECT COUNT(*) FROM {SEGMENT_VIEW}")).await?,
    })
}

impl Engine {
    /// Evaluates a segment expression at `p`'s as-of date (see the module
    /// docs): a bad expression is an error that names what is wrong and,
    /// for an unknown column, the columns there are.
    pub async fn segment_size(
        &self,
        p: &Params,
        expression: &str,
    ) -> Result<SegmentSize, EngineError> {
        let size = members(self, p, expression).await?;
        self.context().deregister_table(MEMBERS)?;
        Ok(size)
    }

    /// Keeps only the customers of the segment (evaluated at `p`'s as-of
    /// date) in every per-customer table, so that every later report is
    /// about them. Stages keep being scored with the purchase model fitted
    /// on the whole base (`p.purchase_model`), so that a customer's stage
    /// does not change by being looked at inside a segment.
    pub async fn restrict_to_segment(
        &mut self,
        p: &Params,
        expression: &str,
    ) -> Result<SegmentSize, EngineError> {
        let size = members(self, p, expression).await?;
        let ctx = self.context();
        for kind in RecordKind::ALL.into_iter().filter(|k| k.has_customer()) {
            let table = kind.table();
            if !ctx.table_exist(table)? {
                continue;
            }
            // `materialize` plans and runs the query before it replaces the table.
            let sql = format!("SELECT * FROM {table} WHERE ck IN (SELECT ck FROM {MEMBERS})");
            materialize(ctx, &sql, table).await?;
        }
        // Whatever was computed from the whole base goes.
        let schema = ctx
            .catalog("datafusion")
            .and_then(|c| c.schema("public"))
            .expect("the default schema");
        for name in schema.table_names() {
            let derived = name.starts_with("customer_summary_")
                || [MEMBERS, SEGMENT_VIEW, "customer_stage", metrics::rfm::TABLE]
                    .contains(&name.as_str());
            if derived {
                ctx.deregister_table(name.as_str())?;
            }
        }
        self.pinned_purchase_model = Some(p.purchase_model.clone());
        Ok(size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_expression_is_accepted_and_anything_more_refused() {
        for good in [
            "country = 'IT' and stage in ('loyal','promoter') and capital > 500",
            "has_tag(tags, 'sport') OR age_band = '25-34'",
            "(select 1) = 1",
        ] {
            assert!(check_expression(good).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("", "empty"),
            ("country = 'IT'; DROP TABLE x", "unexpected ;"),
            ("country = 'IT') OR (true", "unexpected )"),
            ("country = ", "Expected"),
        ] {
            let e = check_expression(bad).unwrap_err().to_string();
            assert!(
                e.contains(why) && e.contains("expected a filter"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn costly_columns_are_added_only_when_named() {
        assert_eq!(
            ViewNeeds::of("country = 'IT'"),
            ViewNeeds {
                value_tier: false,
                rfm: false
            }
        );
        assert!(ViewNeeds::of("VALUE_TIER = 'gold'").value_tier);
        assert!(ViewNeeds::of("r_score >= 4").rfm);
        assert!(ViewNeeds::of("rfm_segment = 'champions'").rfm);
    }
}
