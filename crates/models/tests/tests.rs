//! Integration tests of clientela-models: one binary, one module per area.
//! BG/NBD and Gamma-Gamma (references on CDNOW, the purchase-count
//! distribution, simulation recovery, penalties, degenerate data) are in
//! `it/bgnbd_gamma_gamma.rs`; the other models' references in
//! `it/cdnow_models.rs` and `it/discrete.rs`; properties shared by all
//! purchase models in `it/properties.rs`.

#[path = "it/bgnbd_gamma_gamma.rs"]
mod bgnbd_gamma_gamma;
#[path = "it/cdnow_models.rs"]
mod cdnow_models;
#[path = "it/common.rs"]
mod common;
#[path = "it/discrete.rs"]
mod discrete;
#[path = "it/properties.rs"]
mod properties;
