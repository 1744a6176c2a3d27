//! Predictive customer-lifetime models (SPEC section 4).
//!
//! The crate does no I/O and knows nothing of Arrow, SQLite or DataFusion:
//! every model takes plain slices of summary rows (compressed with integer
//! weights by [`compress`]) and returns typed parameters.
//!
//! Models, one per file, each fitted by maximum likelihood ([`FitOptions`]:
//! BFGS over log-parameters, optional L2 penalties, standard errors from the
//! Hessian, [`ModelError`] with diagnostics instead of NaN parameters):
//!
//! Non-contractual purchasing in continuous time, on [`CustomerSummary`]
//! (x repeat purchases, recency t_x, age T); each gives P(alive),
//! conditional expected purchases E[Y(t) | x, t_x, T] and E[X(t)] for a new
//! customer, and implements [`PurchaseModel`]:
//! - [`bgnbd`]: BG/NBD (Fader, Hardie, Lee 2005, "Counting your customers
//!   the easy way"), with analytic gradients and P(X(t) = n).
//! - [`mbgnbd`]: MBG/NBD (Batislam, Denizel, Filiztekin 2007), dropout also
//!   possible right after the first purchase.
//! - [`pareto_nbd`]: Pareto/NBD (Schmittlein, Morrison, Colombo 1987;
//!   likelihood as in Fader, Hardie, Lee 2005, "A note on deriving the
//!   Pareto/NBD model").
//!
//! Non-contractual purchasing at discrete opportunities:
//! - [`bgbb`]: BG/BB (Fader, Hardie, Shang 2010) on [`BgBbSummary`] rows.
//!
//! Contractual (subscriptions):
//! - [`sbg`]: shifted-beta-geometric (Fader and Hardie 2007, "How to
//!   project customer retention"): survival, retention rates and DERL
//!   (Fader and Hardie 2010, "Customer-base valuation in a contractual
//!   setting").
//!
//! Spend:
//! - [`gamma_gamma`]: Gamma-Gamma (Fader, Hardie, Lee 2005, "RFM and CLV";
//!   Fader and Hardie 2013, note 025).
//!
//! Built on the models:
//! - [`clv`]: discounted CLV over a horizon in months (lifetimes'
//!   convention) for any [`PurchaseModel`], per customer and allocation-free.
//! - [`holdout`]: calibration/holdout comparison by calibration frequency.
//!
//! Support: [`optimize`] (fitting), [`special`] (ln Γ, ψ, ₂F₁ on all of
//! z < 1), [`summary`], [`error`].
#![deny(missing_docs)]

#[macro_use]
mod fitted;
mod beta_geometric;
pub mod bgbb;
pub mod bgnbd;
pub mod clv;
pub mod error;
pub mod gamma_gamma;
pub mod holdout;
pub mod mbgnbd;
pub mod optimize;
mod parallel;
pub mod pareto_nbd;
pub mod sbg;
pub mod special;
pub mod summary;

pub use bgbb::{BgBb, BgBbParams, BgBbSummary, FittedBgBb};
pub use bgnbd::{BgNbd, BgNbdParams, FittedBgNbd};
pub use clv::{
    customer_lifetime_value, discounted_purchases_if_alive, new_customer_lifetime_value,
    ClvOptions, PurchaseModel,
};
pub use error::ModelError;
pub use gamma_gamma::{FittedGammaGamma, GammaGamma, GammaGammaParams, SpendSummary};
pub use holdout::{compare_holdout, HoldoutGroup, HoldoutReport, HOLDOUT_TOP_GROUP};
pub use mbgnbd::{FittedMbgNbd, MbgNbd, MbgNbdParams};
pub use optimize::FitOptions;
pub use pareto_nbd::{FittedParetoNbd, ParetoNbd, ParetoNbdParams};
pub use sbg::{FittedSbg, Sbg, SbgParams};
pub use summary::{compress, CustomerSummary};
