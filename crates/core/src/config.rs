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
    /// MRR: a customer whose MRR comes back within this many days of going
    /// to zero is a reactivation, later a new customer again. Absent
    /// (default): no limit, every returning customer is a reactivation, as
    /// in ChartMogul, Baremetrics and ProfitWell.
    pub mrr_reactivation_window_days: Option<u32>,
    /// MRR: when a cancelled subscription stops counting (default
    /// `cancellation`; see [`MrrChurnAt`]).
    pub mrr_churn_at: MrrChurnAt,
    /// MRR: whether a customer whose MRR starts and goes back to zero
    /// between two month ends counts, as new (or reactivation) and churn of
    /// the same amount (default false: SPEC §3 leaves customers who join and
    /// churn inside one period out of churn; ChartMogul counts them).
    pub mrr_count_same_period: bool,
    /// MRR: whether a paused subscription keeps its MRR (default false:
    /// only `active` and `past_due` subscriptions are active, SPEC §1).
    pub mrr_paused_counts: bool,
    /// Cohorts: what puts a customer in a cohort (default
    /// `first_purchase`; see [`CohortBasis`]).
    pub cohort_basis: CohortBasis,
    /// Loyalty: the tiers by points balance at the as-of date, lowest first
    /// (default bronze 0, silver 1000, gold 5000). A customer is in the
    /// highest tier whose `min_points` the balance reaches; `min_points`
    /// must increase strictly.
    pub loyalty_tiers: Vec<LoyaltyTier>,
    /// Value tiers (segmentation, seed 000): paying customers ranked by
    /// customer capital, highest first, each tier reaching down to its
    /// cumulative share of them (default platinum 0.05, gold 0.20, silver
    /// 0.50, bronze 1.0: the top 5 % platinum, the next 15 % gold, …).
    /// Shares increase strictly and the last is 1.0; customers who have
    /// not paid have no tier.
    pub value_tiers: Vec<ValueTier>,
}

/// A value tier: its name and the cumulative share of paying customers,
/// ranked by capital, that it reaches down to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueTier {
    /// The tier's name, as shown in reports.
    pub name: String,
    /// Cumulative share of paying customers in this tier and those above it, in (0, 1].
    pub top_share: f64,
}

const DEFAULT_VALUE_TIERS: [(&str, f64); 4] = [
    ("platinum", 0.05),
    ("gold", 0.20),
    ("silver", 0.50),
    ("bronze", 1.0),
];

/// A loyalty tier: its name and the least points balance that reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoyaltyTier {
    /// The tier's name, as shown in reports.
    pub name: String,
    /// The least balance in the tier (inclusive).
    pub min_points: i64,
}

/// The default loyalty tiers: (name, least balance).
const DEFAULT_LOYALTY_TIERS: [(&str, i64); 3] = [("bronze", 0), ("silver", 1000), ("gold", 5000)];

/// The event whose period is a customer's cohort.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CohortBasis {
    /// The period of the first order with an amount > 0 (the default).
    #[default]
    FirstPurchase,
    /// The period of sign-up (the customer record's time).
    Signup,
}

impl CohortBasis {
    /// The name used in `clientela.toml`.
    pub fn name(self) -> &'static str {
        match self {
            CohortBasis::FirstPurchase => "first_purchase",
            CohortBasis::Signup => "signup",
        }
    }
}

/// When the MRR of a cancelled subscription is booked as lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MrrChurnAt {
    /// On the day of the `cancelled` or `ended` change (the default, and
    /// ChartMogul's: "when the subscription ends in your billing system").
    #[default]
    Cancellation,
    /// At the end of the billing period paid before the change: the
    /// subscription keeps its MRR until its next renewal date.
    PeriodEnd,
}

impl MrrChurnAt {
    /// The name used in `clientela.toml`.
    pub fn name(self) -> &'static str {
        match self {
            MrrChurnAt::Cancellation => "cancellation",
            MrrChurnAt::PeriodEnd => "period_end",
        }
    }
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
            mrr_reactivation_window_days: None,
            mrr_churn_at: MrrChurnAt::Cancellation,
            mrr_count_same_period: false,
            mrr_paused_counts: false,
            cohort_basis: CohortBasis::FirstPurchase,
            loyalty_tiers: DEFAULT_LOYALTY_TIERS
                .map(|(name, min_points)| LoyaltyTier {
                    name: name.into(),
                    min_points,
                })
                .to_vec(),
            value_tiers: DEFAULT_VALUE_TIERS
                .map(|(name, top_share)| ValueTier {
                    name: name.into(),
                    top_share,
                })
                .to_vec(),
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
        if self.loyalty_tiers.is_empty() {
            return bad("loyalty_tiers must name at least one tier".into());
        }
        for (i, t) in self.loyalty_tiers.iter().enumerate() {
            plain_name("loyalty tier", &t.name)?;
            if let Some(prev) = i.checked_sub(1).map(|j| &self.loyalty_tiers[j]) {
                if t.min_points <= prev.min_points {
                    return bad(format!(
                        "loyalty_tiers must increase: {:?} ({}) is not above {:?} ({})",
                        t.name, t.min_points, prev.name, prev.min_points
                    ));
                }
                if self.loyalty_tiers[..i].iter().any(|o| o.name == t.name) {
                    return bad(format!("loyalty tier {:?} is named twice", t.name));
                }
            }
        }
        self.validate_value_tiers()?;
        crate::time::parse_tz(&self.timezone)?;
        if let Some(c) = &self.currency {
            crate::Currency::parse(c)?;
        }
        Ok(())
    }

    fn validate_value_tiers(&self) -> Result<(), CoreError> {
        let bad = |m: String| Err(CoreError::Config(m));
        let tiers = &self.value_tiers;
        if tiers.last().map(|t| t.top_share) != Some(1.0) {
            return bad("value_tiers must end with a tier of top_share = 1.0".into());
        }
        let mut prev: Option<&ValueTier> = None;
        for (i, t) in tiers.iter().enumerate() {
            plain_name("value tier", &t.name)?;
            if !(t.top_share > prev.map_or(0.0, |p| p.top_share) && t.top_share <= 1.0) {
                return bad(format!(
                    "value_tiers must increase within (0, 1]: {:?} has top_share {}",
                    t.name, t.top_share
                ));
            }
            if tiers[..i].iter().any(|o| o.name == t.name) {
                return bad(format!("value tier {:?} is named twice", t.name));
            }
            prev = Some(t);
        }
        Ok(())
    }

    /// Whether the named kind qualifies as an interaction.
    pub fn qualifies(&self, kind: &str) -> bool {
        self.qualifying.iter().any(|q| q == kind)
    }
}

/// Names of tiers end up in reports and SQL literals: keep them plain.
fn plain_name(what: &str, name: &str) -> Result<(), CoreError> {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ';
    if name.trim().is_empty() || !name.chars().all(plain) {
        return Err(CoreError::Config(format!(
            "{what} name {name:?} must be letters, digits, '_', '-' or spaces"
        )));
    }
    Ok(())
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
        assert_eq!(c.mrr_churn_at, MrrChurnAt::Cancellation);
        assert_eq!(c.mrr_reactivation_window_days, None);
    }

    #[test]
    fn mrr_settings_are_read_by_name() {
        let c = Config::from_toml(
            "mrr_churn_at = 'period_end'\nmrr_reactivation_window_days = 90\nmrr_count_same_period = true\nmrr_paused_counts = true",
        )
        .unwrap();
        assert_eq!(c.mrr_churn_at, MrrChurnAt::PeriodEnd);
        assert_eq!(c.mrr_churn_at.name(), "period_end");
        assert_eq!(c.mrr_reactivation_window_days, Some(90));
        assert!(c.mrr_count_same_period && c.mrr_paused_counts);
        let e = Config::from_toml("mrr_churn_at = 'renewal'")
            .unwrap_err()
            .to_string();
        assert!(e.contains("renewal") && e.contains("period_end"), "{e}");
    }

    #[test]
    fn cohort_basis_is_read_by_name() {
        assert_eq!(Config::default().cohort_basis, CohortBasis::FirstPurchase);
        let c = Config::from_toml("cohort_basis = 'signup'").unwrap();
        assert_eq!(c.cohort_basis, CohortBasis::Signup);
        assert_eq!(c.cohort_basis.name(), "signup");
        let e = Config::from_toml("cohort_basis = 'lead'")
            .unwrap_err()
            .to_string();
        assert!(e.contains("first_purchase"), "{e}");
    }

    #[test]
    fn loyalty_tiers_default_and_must_increase() {
        let names: Vec<(String, i64)> = Config::default()
            .loyalty_tiers
            .into_iter()
            .map(|t| (t.name, t.min_points))
            .collect();
        assert_eq!(
            names,
            [
                ("bronze".into(), 0),
                ("silver".into(), 1000),
                ("gold".into(), 5000)
            ]
        );
        let c = Config::from_toml(
            "loyalty_tiers = [{ name = 'basic', min_points = 0 }, { name = 'vip', min_points = 200 }]",
        )
        .unwrap();
        assert_eq!(c.loyalty_tiers[1].name, "vip");
        for (text, word) in [
            ("loyalty_tiers = []", "at least one"),
            (
                "loyalty_tiers = [{ name = 'a', min_points = 5 }, { name = 'b', min_points = 5 }]",
                "increase",
            ),
            (
                "loyalty_tiers = [{ name = 'a', min_points = 0 }, { name = 'a', min_points = 9 }]",
                "twice",
            ),
            (
                "loyalty_tiers = [{ name = \"o'k\", min_points = 0 }]",
                "o'k",
            ),
        ] {
            let e = Config::from_toml(text).unwrap_err().to_string();
            assert!(e.contains(word), "{text}: {e}");
        }
    }

    #[test]
    fn value_tiers_default_and_must_reach_everyone() {
        let c = Config::default();
        let shares: Vec<f64> = c.value_tiers.iter().map(|t| t.top_share).collect();
        assert_eq!(shares, [0.05, 0.20, 0.50, 1.0]);
        assert_eq!(c.value_tiers[0].name, "platinum");
        let c = Config::from_toml(
            "value_tiers = [{ name = 'top', top_share = 0.1 }, { name = 'rest', top_share = 1.0 }]",
        )
        .unwrap();
        assert_eq!(c.value_tiers[1].name, "rest");
        for (text, word) in [
            ("value_tiers = []", "end with"),
            ("value_tiers = [{ name = 'a', top_share = 0.5 }]", "end with"),
            (
                "value_tiers = [{ name = 'a', top_share = 0.5 }, { name = 'b', top_share = 0.5 }, { name = 'c', top_share = 1.0 }]",
                "increase",
            ),
            (
                "value_tiers = [{ name = 'a', top_share = 0.5 }, { name = 'a', top_share = 1.0 }]",
                "twice",
            ),
            ("value_tiers = [{ name = 'a;b', top_share = 1.0 }]", "a;b"),
        ] {
            let e = Config::from_toml(text).unwrap_err().to_string();
            assert!(e.contains(word), "{text}: {e}");
        }
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
