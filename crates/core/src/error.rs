//! Errors of the domain core: a value that does not fit its definition.

use thiserror::Error;

/// A value that cannot be understood, with what was expected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoreError {
    /// A money amount that is not a decimal number, or has more decimals than
    /// its currency allows.
    #[error("invalid amount {value:?}: {reason}")]
    Amount {
        /// The text that was given.
        value: String,
        /// What was expected.
        reason: String,
    },
    /// A currency code that is not three letters.
    #[error("invalid currency {0:?}: expected an ISO 4217 code such as EUR or USD")]
    Currency(String),
    /// A time that matches none of the accepted formats.
    #[error("invalid time {value:?}: expected {expected}")]
    Time {
        /// The text that was given.
        value: String,
        /// The formats that were tried.
        expected: String,
    },
    /// An unknown time zone name.
    #[error("unknown time zone {0:?}: expected an IANA name such as Europe/Rome or UTC")]
    TimeZone(String),
    /// An unknown name for an enumerated setting (record kind, stage, period…).
    #[error("unknown {what} {value:?}: expected one of {expected}")]
    Unknown {
        /// What kind of name it should have been.
        what: &'static str,
        /// The text that was given.
        value: String,
        /// The accepted names.
        expected: String,
    },
    /// A configuration file or setting that is not valid.
    #[error("invalid configuration: {0}")]
    Config(String),
}
