//! Errors of model fitting and prediction.

/// Why a model could not be fitted or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// No rows (or only rows of zero weight) were given.
    #[error("no customers to fit")]
    EmptyInput,
    /// One input row is not a valid summary.
    #[error("invalid input row {index}: {reason}")]
    InvalidInput {
        /// Position of the row in the input slice.
        index: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A model parameter is outside its domain.
    #[error("invalid parameter {name} = {value}: must be finite and positive")]
    InvalidParameter {
        /// Parameter name as in the paper.
        name: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// The optimiser stopped before reaching a stationary point.
    #[error("no convergence after {iterations} iterations (gradient norm {gradient_norm:e})")]
    NoConvergence {
        /// Iterations performed.
        iterations: usize,
        /// Infinity norm of the gradient of the objective where it stopped.
        gradient_norm: f64,
    },
}
