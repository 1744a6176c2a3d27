//! The parameters of the demo business, including the true parameters of
//! the purchase and spend models, so that fits can be checked against them.

use chrono::{Months, NaiveDate};
use std::fmt;

/// Acquisition channels of customers, in the order used by
/// [`SpendParams::cac`].
pub const ACQUISITION_CHANNELS: [&str; 6] = [
    "organic",
    "paid_search",
    "social",
    "email",
    "affiliate",
    "referral",
];

/// What to generate: size, seed, time window and the true model parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoConfig {
    /// Number of buying customers (ids `C0000001`, …); prospects who never
    /// buy (ids `L0000001`, …) come on top, a quarter of this number.
    pub customers: usize,
    /// Seed of every random draw: the same configuration gives the same data.
    pub seed: u64,
    /// Last day of data (inclusive), i.e. the demo's as-of date.
    pub end: NaiveDate,
    /// Years of history before `end`.
    pub years: u32,
    /// ISO 4217 code written in every currency field.
    pub currency: &'static str,
    /// Yearly growth factor of sign-ups (1.8: each year brings 80 % more
    /// new customers than the year before).
    pub growth: f64,
    /// True parameters of the purchase process (BG/NBD and Gamma-Gamma).
    pub purchase: PurchaseParams,
    /// True parameters of the subscription process (shifted-beta-geometric).
    pub subscription: SubscriptionParams,
    /// Marketing spend model.
    pub spend: SpendParams,
}

impl Default for DemoConfig {
    fn default() -> Self {
        DemoConfig {
            customers: 5_000,
            seed: 42,
            end: NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid date"),
            years: 3,
            currency: "EUR",
            growth: 1.8,
            purchase: PurchaseParams::default(),
            subscription: SubscriptionParams::default(),
            spend: SpendParams::default(),
        }
    }
}

impl DemoConfig {
    /// The default configuration with `customers` buying customers.
    pub fn with_customers(customers: usize) -> Self {
        DemoConfig {
            customers,
            ..DemoConfig::default()
        }
    }

    /// Number of lead-only prospects generated besides the customers.
    pub fn prospects(&self) -> usize {
        self.customers / 4
    }

    /// The data window in µs since the epoch, UTC: `[start, end)`, where
    /// `end` is midnight after the last day and `start` is `years` before it.
    pub fn window(&self) -> (i64, i64) {
        let after = self
            .end
            .succ_opt()
            .expect("end date before the calendar's end");
        let first = after
            .checked_sub_months(Months::new(12 * self.years))
            .expect("start date within the calendar");
        let us = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros()
        };
        (us(first), us(after))
    }

    /// Checks that every parameter is in its domain.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what: &str| {
            Err(ConfigError {
                message: what.to_string(),
            })
        };
        let p = &self.purchase;
        let positive = [p.r, p.alpha, p.a, p.b, p.p, p.q, p.gamma];
        if positive.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            return bad("purchase parameters r, alpha, a, b, p, q, gamma must be finite and > 0");
        }
        let s = &self.subscription;
        if !((0.0..=1.0).contains(&s.share) && s.alpha > 0.0 && s.beta > 0.0) {
            return bad("subscription share must be in [0, 1] and alpha, beta > 0");
        }
        if !(self.growth.is_finite() && self.growth > 0.0) {
            return bad("growth must be finite and > 0");
        }
        if self.years == 0 || self.years > 100 {
            return bad("years must be between 1 and 100");
        }
        let c = self.currency.as_bytes();
        if c.len() != 3 || !c.iter().all(u8::is_ascii_uppercase) {
            return bad("currency must be a three-letter upper-case ISO 4217 code");
        }
        let sp = &self.spend;
        let costs = sp.cac.iter().chain([
            &sp.email_fixed,
            &sp.email_per_send,
            &sp.point_value,
            &sp.noise,
        ]);
        if costs.into_iter().any(|v| !(v.is_finite() && *v >= 0.0)) {
            return bad("spend parameters must be finite and >= 0");
        }
        if self
            .end
            .succ_opt()
            .and_then(|d| d.checked_sub_months(Months::new(12 * self.years)))
            .is_none()
        {
            return bad("end date and years leave the calendar");
        }
        Ok(())
    }
}

/// True parameters of the purchase process, time unit one week.
///
/// Purchases follow the BG/NBD model (Fader, Hardie and Lee 2005, "Counting
/// your customers the easy way"): while alive a customer buys with rate
/// λ ~ Gamma(shape `r`, rate `alpha`) per week and after each repeat purchase
/// drops out with probability p ~ Beta(`a`, `b`). Order values follow the
/// Gamma-Gamma model (Fader, Hardie and Lee 2005, "RFM and CLV"; Fader and
/// Hardie 2013): ν ~ Gamma(shape `q`, rate `gamma`) per customer and each
/// order ~ Gamma(shape `p`, rate ν), in currency units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PurchaseParams {
    /// Shape of the purchase-rate distribution.
    pub r: f64,
    /// Rate of the purchase-rate distribution (weeks).
    pub alpha: f64,
    /// First shape of the dropout-probability distribution.
    pub a: f64,
    /// Second shape of the dropout-probability distribution.
    pub b: f64,
    /// Shape of each order value's distribution.
    pub p: f64,
    /// Shape of the per-customer spend-rate distribution.
    pub q: f64,
    /// Rate of the per-customer spend-rate distribution.
    pub gamma: f64,
}

impl Default for PurchaseParams {
    /// About 10 orders per customer over three years with 80 % yearly
    /// growth of sign-ups; mean order value 50 currency units.
    fn default() -> Self {
        PurchaseParams {
            r: 0.62,
            alpha: 2.4,
            a: 0.45,
            b: 8.0,
            p: 6.0,
            q: 4.0,
            gamma: 25.0,
        }
    }
}

impl PurchaseParams {
    /// Expected value of one order, p·γ/(q−1), in currency units.
    pub fn mean_order_value(&self) -> f64 {
        self.p * self.gamma / (self.q - 1.0)
    }

    /// Mean purchase rate r/α per week while alive.
    pub fn mean_rate(&self) -> f64 {
        self.r / self.alpha
    }
}

/// True parameters of the subscription process.
///
/// Each subscriber cancels at each monthly renewal with probability
/// θ ~ Beta(`alpha`, `beta`), the shifted-beta-geometric model (Fader and
/// Hardie 2007, "How to project customer retention"); quarterly and yearly
/// plans renew every 3 or 12 months, surviving each of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SubscriptionParams {
    /// Share of customers who start a subscription.
    pub share: f64,
    /// First shape of the monthly churn-probability distribution.
    pub alpha: f64,
    /// Second shape of the monthly churn-probability distribution.
    pub beta: f64,
}

impl Default for SubscriptionParams {
    fn default() -> Self {
        SubscriptionParams {
            share: 0.2,
            alpha: 1.0,
            beta: 12.0,
        }
    }
}

/// Marketing spend, in currency units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpendParams {
    /// Acquisition cost per new customer, by channel in
    /// [`ACQUISITION_CHANNELS`] order.
    pub cac: [f64; 6],
    /// Fixed monthly cost of the email platform (retention, channel email).
    pub email_fixed: f64,
    /// Cost of each outbound email sent (retention, channel email).
    pub email_per_send: f64,
    /// Cost of one redeemed loyalty point (retention, channel loyalty).
    pub point_value: f64,
    /// Standard deviation of the multiplicative monthly noise.
    pub noise: f64,
}

impl Default for SpendParams {
    fn default() -> Self {
        SpendParams {
            cac: [6.0, 45.0, 32.0, 9.0, 22.0, 12.0],
            email_fixed: 400.0,
            email_per_send: 0.02,
            point_value: 0.01,
            noise: 0.12,
        }
    }
}

/// A configuration with a parameter outside its domain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid demo configuration: {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_window_is_three_years_ending_after_the_last_day() {
        let cfg = DemoConfig::default();
        let (start, end) = cfg.window();
        assert_eq!(end, 1_793_491_200_000_000); // 2026-11-01T00:00:00Z
        assert_eq!(start, 1_698_796_800_000_000); // 2023-11-01T00:00:00Z
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let mut cfg = DemoConfig::default();
        cfg.purchase.r = 0.0;
        assert!(cfg.validate().is_err());
        let cfg = DemoConfig {
            currency: "eur",
            ..DemoConfig::default()
        };
        assert!(cfg.validate().unwrap_err().to_string().contains("currency"));
        let cfg = DemoConfig {
            years: 0,
            ..DemoConfig::default()
        };
        assert!(cfg.validate().is_err());
    }

    #[test]
    fn mean_order_value_is_p_gamma_over_q_minus_one() {
        let p = PurchaseParams::default();
        assert!((p.mean_order_value() - 50.0).abs() < 1e-9);
    }
}
