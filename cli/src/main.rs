//! `livefyre`: checks any Ping-for-Pull endpoint against the protocol, runs the Livefyre
//! emulator, builds and inspects tokens, and sends pings and registrations.
//!
//! Exit codes: 0 success; 1 a check or an operation failed; 2 a usage error or an
//! unreachable endpoint.

#![forbid(unsafe_code)]

mod args;
mod check;
mod emulator;
mod error;
mod key;
mod ping;
mod report;
mod token;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use crate::args::{CheckArgs, Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Check(args) => check(args).await,
            Command::Emulator(args) => emulator::run(args).await,
            Command::Token(args) => token::run(args),
            Command::Ping(args) => ping::ping(args).await,
            Command::Register(args) => ping::register(args).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            error.exit_code()
        }
    }
}

async fn check(args: CheckArgs) -> Result<ExitCode, CliError> {
    if !(args.timeout.is_finite() && args.timeout > 0.0 && args.timeout <= 3600.0) {
        return Err(CliError::Usage(format!(
            "--timeout {}: give a number of seconds between 0 and 3600",
            args.timeout
        )));
    }
    let credentials = key::credentials(&args.network, None)?;
    let plan = check::Plan {
        template: args.template,
        user: args.user,
        unknown_user: args.unknown_user,
        only: args.only,
        strict: args.strict,
        timeout: Duration::from_secs_f64(args.timeout),
    };
    let report = check::run(&credentials, plan).await?;
    let text = report::render(&report, args.format);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| CliError::Failed(format!("writing the report: {error}")))?;
    Ok(ExitCode::from(report.exit_code()))
}
