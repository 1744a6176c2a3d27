//! Every threshold and window of the lifecycle rules and metrics, in one
//! place (SPEC §2–3 defaults). A `clientela.toml` overrides the defaults
//! and command-line flags override the file.

use crate::CoreError;
use serde::{Deserialize, Serialize};

/// Event kinds that can count as a qualifying interaction (SPEC §2).
pub const QUALIFYING_KINDS: &[&str] = &[
    "order",
    "subscription",
    "support",
    "contact_inbound",
    "contact",
    "usage",
    "survey",
    "loyalty",
];

/// The configuration of the lifecycle rules and metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Days of the activity window ending at the as-of date (default 30).
    pub activity_window_days: u32,
    /// Event kinds that make a customer active: `order`, `subscription` (an
    /// active subscription), `support`, `contact_inbound` (or `contact` for
    /// any direction), `usage`, `survey`, `loyalty`.
    pub qualifying: Vec<String>,
    /// Days of the loyalty window (default 365).
    pub loyalty_window_days: u32,
    /// Orders needed in the loyalty window to be loyal (default 2).
    pub loyal_min_orders: u32,
    /// Days since first payment needed to be loyal (default 180).
    pub loyal_min_tenure_days: u32,
    /// Days without qualifying interaction after which a buyer is churned
    /// (default 180).
    pub churn_window_days: u32,
    /// Least days of silence before a customer is at risk (default 45).
    pub at_risk_min_days: u32,
    /// The at-risk threshold is at least this many times the customer's
    /// median gap between orders (default 2).
    pub at_risk_gap_multiple: f64,
    /// A customer whose P(alive) is below this is at risk, once a purchase
    /// model is fitted (default 0.5).
    pub at_risk_p_alive: f64,
    /// Gross margin applied to revenue for customer capital (default 1.0:
    /// capital is net revenue).
    pub gross_margin: f64,
    /// IANA time zone of reports: period boundaries and as-of dates (default UTC).
    pub timezone: String,
    /// The reporting currency; when absent the data must hold one currency.
    pub currency: Option<String>,
    /// Number of periods shown in trends (default 12).
    pub trend_periods: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            activity_window_days: 30,
            qualifying: [
                "order",
                "subscription",
                "support",
                "contact_inbound",
                "usage",
            ]
            .map(String::from)
            .to_vec(),
            loyalty_window_days: 365,
            loyal_min_orders: 2,
            loyal_min_tenure_days: 180,
            churn_window_days: 180,
            at_risk_min_days: 45,
            at_risk_gap_multiple: 2.0,
            at_risk_p_alive: 0.5,
            gross_margin: 1.0,
            timezone: "UTC".into(),
            currency: None,
            trend_periods: 12,
        }
    }
}

impl Config {
    /// Reads a TOML text (the content of `clientela.toml`) over the defaults.
    pub fn from_toml(text: &str) -> Result<Config, CoreError> {
        let config: Config = toml::from_str(text).map_err(|e| CoreError::Config(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks that every value is usable.
    pub fn validate(&self) -> Result<(), CoreError> {
        let bad = |m: String| Err(CoreError::Config(m));
        if self.activity_window_days == 0 {
            return bad("activity_window_days must be at least 1".into());
        }
        if self.churn_window_days < self.activity_window_days {
            return bad("churn_window_days must be at least activity_window_days".into());
        }
        for q in &self.qualifying {
            if !QUALIFYING_KINDS.contains(&q.as_str()) {
                return bad(format!(
                    "qualifying kind {q:?} is unknown; expected some of {}",
                    QUALIFYING_KINDS.join(", ")
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.at_risk_p_alive) {
            return bad("at_risk_p_alive must be between 0 and 1".into());
        }
        if !(self.gross_margin > 0.0 && self.gross_margin <= 1.0) {
            return bad("gross_margin must be in (0, 1]".into());
        }
        crate::time::parse_tz(&self.timezone)?;
        if let Some(c) = &self.currency {
            crate::Currency::parse(c)?;
        }
        Ok(())
    }

    /// Whether the named kind qualifies as an interaction.
    pub fn qualifies(&self, kind: &str) -> bool {
        self.qualifying.iter().any(|q| q == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_overrides_defaults_and_keeps_the_rest() {
        let c = Config::from_toml("activity_window_days = 14\ntimezone = 'Europe/Rome'").unwrap();
        assert_eq!(c.activity_window_days, 14);
        assert_eq!(c.timezone, "Europe/Rome");
        assert_eq!(c.churn_window_days, 180);
        assert!(c.qualifies("order") && !c.qualifies("survey"));
    }

    #[test]
    fn bad_settings_are_named() {
        for (text, word) in [
            ("activity_window_days = 0", "activity_window_days"),
            ("qualifying = ['orders']", "orders"),
            ("timezone = 'Nowhere'", "Nowhere"),
            ("churn_days = 3", "churn_days"),
        ] {
            let e = Config::from_toml(text).unwrap_err().to_string();
            assert!(e.contains(word), "{text}: {e}");
        }
    }
}
