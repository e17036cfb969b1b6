//! The command line, as clap derive types.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tower_livefyre::{UserId, url::PullUrlTemplate};

/// The longest `--timeout`.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);

/// Check a Livefyre Ping-for-Pull endpoint against the protocol; run the Livefyre emulator;
/// build, inspect and send tokens.
///
/// Network keys are read from `LIVEFYRE_NETWORK_KEY` or from the file named by `--key-file`,
/// never from a flag, and are never printed.
#[derive(Debug, Parser)]
#[command(
    name = "livefyre",
    version,
    about,
    long_about = None,
    after_help = "Keys: LIVEFYRE_NETWORK_KEY or --key-file FILE, never a flag; never printed.\n\
                  Exit status: 0 success; 1 a check or an operation failed; 2 a usage error or \
                  an unreachable endpoint."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a pull endpoint: token gate, found/unknown users, document fields, transport.
    Check(CheckArgs),
    /// Run the Livefyre emulator (ping receiver, registration, pulls) until Ctrl-C.
    Emulator(EmulatorArgs),
    /// Build a token, or inspect one.
    Token(TokenArgs),
    /// Ping Livefyre to pull each user again (POST /api/v3_0/user/{id}/refresh).
    Ping(PingArgs),
    /// Register the pull URL template with Livefyre.
    Register(RegisterArgs),
}

/// Where the network's name and key come from.
#[derive(Debug, Args)]
pub struct NetworkArgs {
    /// The network, e.g. `labs.fyre.co`.
    #[arg(long, env = "LIVEFYRE_NETWORK", value_name = "NAME")]
    pub network: Option<String>,
    /// A file holding the network key (one line). Otherwise `LIVEFYRE_NETWORK_KEY` is used.
    #[arg(long, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

/// `livefyre check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The pull URL template, with `{id}` where the user id goes,
    /// e.g. `https://example.com/livefyre/pull?id={id}`.
    #[arg(value_name = "URL_TEMPLATE", required_unless_present = "explain")]
    pub template: Option<PullUrlTemplate>,
    /// The network and its key.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// A user the endpoint knows.
    #[arg(long, value_name = "ID", required_unless_present = "explain")]
    pub user: Option<UserId>,
    /// A user the endpoint does not know [default: a random id].
    #[arg(long, value_name = "ID")]
    pub unknown_user: Option<UserId>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Run only the checks whose id starts with PREFIX (e.g. `pull/token`).
    #[arg(long, value_name = "PREFIX")]
    pub only: Option<String>,
    /// Fail on SHOULD-level findings (`warn`) too.
    #[arg(long)]
    pub strict: bool,
    /// Seconds to wait for each answer (decimals allowed, at most 3600). The tokens sent
    /// live this long plus 30 s.
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub timeout: Duration,
    /// Print the rule check ID enforces and its section of docs/protocol.md, and exit.
    #[arg(long, value_name = "ID")]
    pub explain: Option<String>,
}

/// A number of seconds (decimals allowed), more than 0 and at most an hour.
fn seconds(text: &str) -> Result<Duration, String> {
    let out_of_range = || {
        format!(
            "give a number of seconds above 0 and at most {}",
            MAX_TIMEOUT.as_secs()
        )
    };
    let seconds: f64 = text.trim().parse().map_err(|_| out_of_range())?;
    let duration = Duration::try_from_secs_f64(seconds).map_err(|_| out_of_range())?;
    if duration.is_zero() || duration > MAX_TIMEOUT {
        return Err(out_of_range());
    }
    Ok(duration)
}

/// Report formats of `livefyre check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people: one block per check.
    Human,
    /// One JSON object.
    Json,
    /// JUnit XML, one test case per check.
    Junit,
    /// TAP version 13, one test point per check.
    Tap,
    /// One self-contained HTML file (inline CSS, no script), to attach to a ticket.
    Html,
}

/// `livefyre emulator`.
#[derive(Debug, Args)]
pub struct EmulatorArgs {
    /// The network [default: demo.fyre.co] and its key.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Address to listen on [env: LISTEN_ADDR; default 127.0.0.1:3001]. Loopback only,
    /// unless --allow-remote-unauthenticated.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Listen on a non-loopback address although the emulator's API has no authentication:
    /// anyone who reaches it can make it fetch URLs, read stored profiles and drive faults.
    /// Never with the public demo key.
    #[arg(long)]
    pub allow_remote_unauthenticated: bool,
}

/// `livefyre token`.
#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Which token.
    #[command(subcommand)]
    pub command: TokenCommand,
}

/// `livefyre token …`.
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a system token (the one Livefyre sends on pulls and expects on pings).
    System {
        /// The network and its key.
        #[command(flatten)]
        network: NetworkArgs,
        /// Lifetime in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        ttl: u64,
    },
    /// Print a user auth token.
    User {
        /// The user id.
        #[arg(value_name = "ID")]
        id: UserId,
        /// The display name [default: the id].
        #[arg(long, value_name = "NAME")]
        display_name: Option<String>,
        /// The network and its key.
        #[command(flatten)]
        network: NetworkArgs,
        /// Lifetime in seconds.
        #[arg(long, value_name = "SECS", default_value_t = 86_400)]
        ttl: u64,
    },
    /// Show a token's header and claims; with a key, whether it is valid and why.
    ///
    /// Give the token on stdin: `livefyre token inspect - < token.txt`. A token given as an
    /// argument is accepted but shows in `ps` and in shell history.
    Inspect {
        /// `-` to read the token from stdin (recommended), or the token itself (discouraged:
        /// visible in `ps` and shell history).
        #[arg(value_name = "TOKEN|-")]
        token: String,
        /// The network to check it for [default: the token's `domain` claim].
        #[command(flatten)]
        network: NetworkArgs,
    },
}

/// Where pings and registrations go.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Livefyre's API root [default: https://{short name}.quill.fyre.co]; the emulator's URL
    /// for local work.
    #[arg(long, env = "LIVEFYRE_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
}

/// `livefyre ping`.
#[derive(Debug, Args)]
pub struct PingArgs {
    /// The users to pull again.
    #[arg(value_name = "ID", required = true)]
    pub ids: Vec<UserId>,
    /// The network and its key.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Where to send the pings.
    #[command(flatten)]
    pub api: ApiArgs,
}

/// `livefyre register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The pull URL template, with `{id}`.
    #[arg(value_name = "URL_TEMPLATE")]
    pub template: PullUrlTemplate,
    /// The network and its key.
    #[command(flatten)]
    pub network: NetworkArgs,
    /// Where to register.
    #[command(flatten)]
    pub api: ApiArgs,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_positive_seconds_up_to_an_hour() {
        assert_eq!(seconds("0.3"), Ok(Duration::from_millis(300)));
        assert_eq!(seconds("10"), Ok(Duration::from_secs(10)));
        assert_eq!(seconds("3600"), Ok(MAX_TIMEOUT));
        for bad in ["0", "-1", "nan", "inf", "3600.5", "soon", ""] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
