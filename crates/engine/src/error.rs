//! Errors of the engine.

use thiserror::Error;

/// What went wrong while computing a metric.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum EngineError {
    /// Amounts in several currencies and no exchange rates.
    #[error("the data mixes currencies ({0}); clientela has no exchange rates yet: import one currency, or set `currency` to report one of them")]
    MixedCurrencies(String),
    /// A request that cannot be answered, e.g. an unknown attribute.
    #[error("{0}")]
    Request(String),
    /// An invalid configuration.
    #[error(transparent)]
    Config(#[from] clientela_core::CoreError),
    /// An error inside DataFusion. Its message already holds the whole
    /// chain of causes, so it is not also exposed as a `source` (which would
    /// print every cause twice).
    #[error("query engine: {0}")]
    DataFusion(datafusion::error::DataFusionError),
    /// An Arrow error while shaping results.
    #[error("arrow: {0}")]
    Arrow(datafusion::arrow::error::ArrowError),
}

impl From<datafusion::error::DataFusionError> for EngineError {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        EngineError::DataFusion(e)
    }
}

impl From<datafusion::arrow::error::ArrowError> for EngineError {
    fn from(e: datafusion::arrow::error::ArrowError) -> Self {
        EngineError::Arrow(e)
    }
}
