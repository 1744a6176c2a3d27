//! The one error type of the crate.

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// A section lacks a column that its chart reads.
    #[error("section `{section}` has no column `{column}`")]
    MissingColumn {
        /// The section's name.
        section: String,
        /// The column's name.
        column: String,
    },
    /// A column could not be read as numbers, dates or text.
    #[error("section `{section}`, column `{column}`: {reason}")]
    Column {
        /// The section's name.
        section: String,
        /// The column's name.
        column: String,
        /// What went wrong.
        reason: String,
    },
    /// The drawing library refused a shape (a bug in the chart's geometry).
    #[error("drawing {chart}: {reason}")]
    Draw {
        /// The chart's file name.
        chart: String,
        /// What went wrong.
        reason: String,
    },
}
