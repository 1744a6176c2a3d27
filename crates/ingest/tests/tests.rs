//! Integration tests of clientela-ingest: one binary, one module per area.

#[path = "it/cdnow.rs"]
mod cdnow;
#[path = "it/common.rs"]
mod common;
#[path = "it/errors.rs"]
mod errors;
#[path = "it/fast_path.rs"]
mod fast_path;
#[path = "it/formats.rs"]
mod formats;
#[path = "it/round_trip.rs"]
mod round_trip;
#[path = "it/speed.rs"]
mod speed;
