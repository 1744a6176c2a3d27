//! clientela-core: the domain vocabulary of clientela — record kinds and their
//! canonical fields, money, time parsing, lifecycle stages, periods and the
//! configuration of every threshold.
//!
//! This crate does no I/O and knows nothing of Arrow, SQLite or DataFusion:
//! it is plain Rust that every other crate shares.
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod kind;
pub mod money;
pub mod period;
pub mod stage;
pub mod time;

pub use config::Config;
pub use error::CoreError;
pub use kind::{FieldSpec, FieldType, RecordKind};
pub use money::{Currency, Money};
pub use period::Granularity;
pub use stage::Stage;
