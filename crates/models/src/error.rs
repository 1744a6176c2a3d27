//! Errors of model fitting and prediction.

/// Why a model could not be fitted or evaluated.
///
/// The two fitting failures carry the optimiser's diagnostics where it
/// stopped, so that a caller can log why a fit failed and with which
/// parameters; a fit never returns NaN parameters instead.
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
    #[error(
        "no convergence after {iterations} iterations (gradient norm {gradient_norm:e}, \
         log-likelihood {log_likelihood}, parameters {})",
        format_parameters(.parameters)
    )]
    NoConvergence {
        /// Iterations performed.
        iterations: usize,
        /// Infinity norm of the gradient of the objective where it stopped
        /// (mean negative log-likelihood plus penalties, in log-parameters).
        gradient_norm: f64,
        /// Log-likelihood of the data (without penalties) where it stopped.
        log_likelihood: f64,
        /// Natural parameters where it stopped, named as in the paper.
        parameters: Vec<(&'static str, f64)>,
    },
    /// The likelihood, its gradient or a fitted parameter was not a finite
    /// number (e.g. the data are degenerate, or a parameter ran off to 0 or
    /// infinity).
    #[error(
        "non-finite fit after {iterations} iterations (gradient norm {gradient_norm:e}, \
         log-likelihood {log_likelihood}, parameters {})",
        format_parameters(.parameters)
    )]
    NonFinite {
        /// Iterations performed.
        iterations: usize,
        /// Infinity norm of the objective's gradient where it stopped.
        gradient_norm: f64,
        /// Log-likelihood of the data (without penalties) where it stopped.
        log_likelihood: f64,
        /// Natural parameters where it stopped, named as in the paper.
        parameters: Vec<(&'static str, f64)>,
    },
}

fn format_parameters(parameters: &[(&'static str, f64)]) -> String {
    let items: Vec<String> = parameters
        .iter()
        .map(|(name, value)| format!("{name} = {value}"))
        .collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_diagnostics() {
        let e = ModelError::NoConvergence {
            iterations: 7,
            gradient_norm: 0.5,
            log_likelihood: -12.5,
            parameters: vec![("r", 0.25), ("alpha", 4.0)],
        };
        assert_eq!(
            e.to_string(),
            "no convergence after 7 iterations (gradient norm 5e-1, log-likelihood -12.5, \
             parameters [r = 0.25, alpha = 4])"
        );
    }
}
