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

use clap::Parser as _;

use crate::args::{CheckArgs, Cli, Command};
use crate::check::CheckId;
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
    if let Some(id) = &args.explain {
        return explain(id);
    }
    let (Some(template), Some(user)) = (args.template, args.user) else {
        return Err(CliError::Usage(
            "give URL_TEMPLATE and --user ID (or --explain ID)".to_owned(),
        ));
    };
    let credentials = key::credentials(&args.network, None)?;
    let plan = check::Plan {
        template,
        user,
        unknown_user: args.unknown_user,
        only: args.only,
        strict: args.strict,
        timeout: args.timeout,
    };
    let report = check::run(&credentials, plan).await?;
    let text = report::render(&report, args.format);
    write_stdout(&text)?;
    Ok(ExitCode::from(report.exit_code()))
}

/// `livefyre check --explain ID`: the rule and its section of `docs/protocol.md`.
fn explain(id: &str) -> Result<ExitCode, CliError> {
    let Some(check) = CheckId::from_id(id) else {
        let ids = CheckId::ALL
            .iter()
            .map(|check| check.id())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(CliError::Usage(format!(
            "--explain {id:?}: no check has this id; the ids are: {ids}"
        )));
    };
    let rule = check.rule().ok_or_else(|| {
        CliError::Failed(format!(
            "docs/protocol.md has no section for {}",
            check.id()
        ))
    })?;
    let rule = rule.replace(&format!(" <a id=\"{}\"></a>", check.anchor()), "");
    write_stdout(&format!(
        "{} [{} {}] {}\n\n{rule}\n",
        check.id(),
        check.level().as_str(),
        check.section(),
        check.title()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn write_stdout(text: &str) -> Result<(), CliError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| CliError::Failed(format!("writing to stdout: {error}")))
}
