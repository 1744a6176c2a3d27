//! Lifecycle stages (SPEC §2, seeds 001 and 004).

use crate::CoreError;
use std::fmt;
use std::str::FromStr;

/// Where a customer stands on an as-of date; exactly one per customer.
///
/// The order of the variants is the order in which the rules are tried:
/// the first that matches wins (SPEC §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Known (lead or customer record) but has never paid.
    Prospect,
    /// All subscriptions ended, or no qualifying interaction for the churn window.
    Churned,
    /// Was active, silent for longer than the at-risk threshold (or P(alive) low).
    AtRisk,
    /// Active, latest NPS 9–10 or at least one referral made.
    Promoter,
    /// Repeat buyer of long standing.
    Loyal,
    /// First payment within the activity window.
    New,
    /// Any other active customer.
    Active,
    /// Any other paying customer.
    Dormant,
}

impl Stage {
    /// Every stage, in rule order.
    pub const ALL: [Stage; 8] = [
        Stage::Prospect,
        Stage::Churned,
        Stage::AtRisk,
        Stage::Promoter,
        Stage::Loyal,
        Stage::New,
        Stage::Active,
        Stage::Dormant,
    ];

    /// The stage's name as shown and accepted (`at_risk`).
    pub fn name(self) -> &'static str {
        match self {
            Stage::Prospect => "prospect",
            Stage::Churned => "churned",
            Stage::AtRisk => "at_risk",
            Stage::Promoter => "promoter",
            Stage::Loyal => "loyal",
            Stage::New => "new",
            Stage::Active => "active",
            Stage::Dormant => "dormant",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let s = s.trim().to_ascii_lowercase().replace('-', "_");
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s)
            .ok_or_else(|| CoreError::Unknown {
                what: "stage",
                value: s,
                expected: Stage::ALL.map(|s| s.name()).join(", "),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Stage::ALL {
            assert_eq!(s.name().parse::<Stage>().unwrap(), s);
        }
        assert_eq!("At-Risk".parse::<Stage>().unwrap(), Stage::AtRisk);
        assert!("vip".parse::<Stage>().is_err());
    }
}
