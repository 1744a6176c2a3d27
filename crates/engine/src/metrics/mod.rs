//! The metrics of SPEC §2–3, one file each. Every function returns report
//! sections computed by plans over the canonical tables and the
//! materialised `customer_stage` table.

pub(crate) mod acquisition;
pub(crate) mod active;
pub(crate) mod activity_masks;
pub(crate) mod capital;
pub(crate) mod churn;
pub(crate) mod cohorts;
pub(crate) mod engagement;
pub(crate) mod loyalty;
pub(crate) mod mrr;
pub(crate) mod mrr_movements;
pub(crate) mod nps;
pub(crate) mod paying;
pub(crate) mod per_period;
pub(crate) mod period_lifecycle;
pub(crate) mod referrals;
pub(crate) mod retention_cost;
pub(crate) mod rfm;
pub(crate) mod stages;
