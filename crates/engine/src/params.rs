//! The parameters of one report: as-of day, period, split, and the
//! configuration's windows, written into plans as literals.

use crate::EngineError;
use chrono::{Duration, NaiveDate};
use clientela_core::{Config, Granularity};

/// What the user asks for.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// The as-of date (local, in the configured zone); default: the last day with data.
    pub as_of: Option<NaiveDate>,
    /// Period length of trends.
    pub granularity: Granularity,
    /// A customer attribute to split by (`country`, `channel`, `stage`, …).
    pub by: Option<String>,
    /// How many periods trends show (default from the configuration).
    pub periods: Option<usize>,
}

impl Default for ReportRequest {
    fn default() -> Self {
        ReportRequest {
            as_of: None,
            granularity: Granularity::Month,
            by: None,
            periods: None,
        }
    }
}

/// Customer attributes a report can be split by.
pub const SPLIT_ATTRIBUTES: &[&str] = &[
    "country",
    "city",
    "gender",
    "source",
    "channel",
    "consent",
    "birth_year",
    "tags",
    "stage",
];

/// Resolved parameters.
#[derive(Debug, Clone)]
pub struct Params {
    /// As-of local day, days since 1970-01-01.
    pub d: i32,
    /// Period length.
    pub granularity: Granularity,
    /// Number of periods in trends.
    pub periods: usize,
    /// Split attribute, validated.
    pub by: Option<String>,
    /// The configuration.
    pub config: Config,
    /// The fitted purchase model as a scoring literal (see
    /// [`crate::value::PurchaseSpec`]): P(alive) of every buyer, and the
    /// at-risk rule on it; `None` leaves P(alive) empty. Kept when the
    /// parameters move to another day ([`Params::at`]), so earlier stages
    /// are scored with the same fitted model.
    pub purchase_model: Option<String>,
}

/// Day number of a date.
pub fn day_of(date: NaiveDate) -> i32 {
    (date - epoch()).num_days() as i32
}

/// Date of a day number.
pub fn date_of(day: i32) -> NaiveDate {
    epoch() + Duration::days(day as i64)
}

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch")
}

impl Params {
    /// Resolves a request against the data's last day and the configuration.
    pub fn resolve(
        req: &ReportRequest,
        last_day: Option<i32>,
        config: &Config,
    ) -> Result<Params, EngineError> {
        let d = match (req.as_of, last_day) {
            (Some(date), _) => day_of(date),
            (None, Some(day)) => day,
            (None, None) => {
                return Err(EngineError::Request(
                    "the data set is empty: nothing to report".into(),
                ))
            }
        };
        if let Some(by) = &req.by {
            if !SPLIT_ATTRIBUTES.contains(&by.as_str()) {
                return Err(EngineError::Request(format!(
                    "cannot split by {by:?}: expected one of {}",
                    SPLIT_ATTRIBUTES.join(", ")
                )));
            }
        }
        Ok(Params {
            d,
            granularity: req.granularity,
            periods: match req.periods.unwrap_or(config.trend_periods as usize) {
                n @ 1..=60 => n,
                n => {
                    return Err(EngineError::Request(format!(
                        "{n} periods asked: trends show 1 to 60 periods"
                    )))
                }
            },
            by: req.by.clone(),
            config: config.clone(),
            purchase_model: None,
        })
    }

    /// The as-of date.
    pub fn as_of(&self) -> NaiveDate {
        date_of(self.d)
    }

    /// Same parameters at another as-of day.
    pub fn at(&self, d: i32) -> Params {
        Params { d, ..self.clone() }
    }

    /// The periods of trends as `(start day, next start day)`, oldest first;
    /// the last one contains the as-of day.
    pub fn periods(&self) -> Vec<(i32, i32)> {
        self.granularity
            .periods_until(self.as_of(), self.periods)
            .into_iter()
            .map(|(s, e)| (day_of(s), day_of(e)))
            .collect()
    }

    /// SQL of the split column over `customer_stage` aliased `f`, or `'all'`.
    pub fn segment_sql(&self) -> String {
        match self.by.as_deref() {
            None => "'all'".into(),
            Some("stage") => "f.stage".into(),
            Some(attr) => format!("COALESCE(CAST(f.{attr} AS VARCHAR), '(none)')"),
        }
    }
}

impl Params {
    /// `JOIN customer_stage f` on an event alias when the report is split,
    /// so that `segment_sql` can name the customer's attribute; empty when
    /// not split (no join on the hot path).
    pub fn seg_join(&self, alias: &str) -> String {
        match self.by {
            None => String::new(),
            Some(_) => format!(" JOIN customer_stage f ON f.ck = {alias}.ck"),
        }
    }

    /// SQL giving the start day of the period of a day column.
    pub fn period_of(&self, day: &str) -> String {
        format!("cl_period_start({day}, '{}')", self.granularity.name())
    }

    /// The day stage transitions start from: the end of the period before
    /// the current one.
    pub fn transition_day(&self) -> i32 {
        self.periods()
            .last()
            .map(|(s, _)| s - 1)
            .unwrap_or(self.d - 1)
    }

    /// First day of the first trend period.
    pub fn first_start(&self) -> i32 {
        self.periods()[0].0
    }

    /// The trend periods as SQL `VALUES` of `(p, prev_p, last_day)`: period
    /// start, previous period start, and last day counted (the as-of day for
    /// the current period).
    pub fn periods_values(&self) -> String {
        let periods = self.periods();
        let rows: Vec<String> = periods
            .iter()
            .map(|(s, e)| {
                let prev = self.granularity.start_of(date_of(s - 1));
                format!("({s}, {}, {})", day_of(prev), (e - 1).min(self.d))
            })
            .collect();
        format!(
            "(SELECT column1 AS p, column2 AS prev_p, column3 AS last_day FROM (VALUES {}))",
            rows.join(", ")
        )
    }

    /// Start of the period before the first trend period (the period
    /// lifecycle needs it to tell returning from resurrecting).
    pub fn lifecycle_first(&self) -> i32 {
        day_of(self.granularity.start_of(date_of(self.first_start() - 1)))
    }

    /// Boundary days of churn: the day before the first period, then the
    /// last day of each period (the as-of day for the current one).
    pub fn bounds(&self) -> Vec<i32> {
        let periods = self.periods();
        let mut b = vec![periods[0].0 - 1];
        b.extend(periods.iter().map(|(_, e)| (e - 1).min(self.d)));
        b
    }

    /// A qualifying-event union `(ck, day)` for days in `(from, d]`, from
    /// the kinds the configuration counts (an active subscription is
    /// handled apart, by its spans).
    pub fn interactions_sql(&self, from: i32) -> String {
        let c = &self.config;
        let d = self.d;
        let w = format!("day > {from} AND day <= {d}");
        let mut parts = Vec::new();
        if c.qualifies("order") {
            parts.push(format!(
                "SELECT ck, day FROM orders WHERE amount_minor > 0 AND {w}"
            ));
        }
        if c.qualifies("support") {
            parts.push(format!("SELECT ck, day FROM support WHERE {w}"));
        }
        if c.qualifies("contact") {
            parts.push(format!("SELECT ck, day FROM contacts WHERE {w}"));
        } else if c.qualifies("contact_inbound") {
            parts.push(format!(
                "SELECT ck, day FROM contacts WHERE direction = 'inbound' AND {w}"
            ));
        }
        if c.qualifies("usage") {
            parts.push(format!("SELECT ck, day FROM usage WHERE {w}"));
        }
        if c.qualifies("survey") {
            parts.push(format!("SELECT ck, day FROM surveys WHERE {w}"));
        }
        if c.qualifies("loyalty") {
            parts.push(format!("SELECT ck, day FROM loyalty WHERE {w}"));
        }
        if c.qualifies("subscription") {
            parts.push(format!("SELECT ck, day FROM subscriptions WHERE {w}"));
        }
        if parts.is_empty() {
            return "SELECT CAST(0 AS BIGINT) AS ck, CAST(0 AS INT) AS day WHERE false".into();
        }
        parts.join(" UNION ALL ")
    }
}
