//! Errors that end a command, and the exit code each one maps to.

use std::process::ExitCode;

/// Why a command stopped. Messages never hold a key or a token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line or the environment is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The endpoint under check could not be reached at all (exit 2).
    #[error("cannot reach the endpoint: {0}")]
    Unreachable(String),
    /// The command ran and the operation failed (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl CliError {
    /// The process exit code: 2 for usage and reachability, 1 for failures.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Self::Usage(_) | Self::Unreachable(_) => ExitCode::from(2),
            Self::Failed(_) => ExitCode::from(1),
        }
    }
}
