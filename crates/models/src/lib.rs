//! Predictive customer-lifetime models (SPEC section 4).
//!
//! The crate does no I/O and knows nothing of Arrow, SQLite or DataFusion:
//! every model takes plain slices of [`CustomerSummary`] rows (compressed with
//! integer weights by [`compress`]) and returns typed parameters.
//!
//! Models, one per file:
//! - [`bgnbd`]: BG/NBD purchase model (Fader, Hardie, Lee 2005).
//! - [`gamma_gamma`]: Gamma-Gamma spend model (Fader, Hardie, Lee 2005;
//!   Fader and Hardie 2013, note 025).
#![deny(missing_docs)]

pub mod bgnbd;
pub mod error;
pub mod gamma_gamma;
pub mod optimize;
pub mod special;
pub mod summary;

pub use bgnbd::{BgNbd, BgNbdParams, FittedBgNbd};
pub use error::ModelError;
pub use gamma_gamma::{FittedGammaGamma, GammaGamma, GammaGammaParams, SpendSummary};
pub use optimize::FitOptions;
pub use summary::{compress, CustomerSummary};
