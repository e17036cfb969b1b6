//! `livefyre check`: sends a pull endpoint the requests Livefyre would, and the broken ones
//! an attacker would, and judges each answer against PROTOCOL.md.

pub mod catalog;
mod document;
mod forge;
mod found;
mod probe;
mod result;
mod target;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use tower_livefyre::UserId;

use self::catalog::*;
pub use self::catalog::{CHECKS, CheckDef};
use self::forge::Forge;
pub use self::probe::{Answer, Exchange};
use self::probe::{Probe, Prober};
pub use self::result::{CheckResult, Finding, Outcome, Report, Summary};
use self::target::Target;
use crate::error::CliError;
use crate::key::Credentials;

/// What to check.
#[derive(Debug)]
pub struct Plan {
    /// The pull URL template, with `{id}`.
    pub template: String,
    /// A user the endpoint knows.
    pub user: String,
    /// A user it does not know.
    pub unknown_user: Option<String>,
    /// Only checks whose id starts with this.
    pub only: Option<String>,
    /// Whether `warn` fails the run.
    pub strict: bool,
    /// Per-answer timeout.
    pub timeout: Duration,
}

/// Runs the selected checks against the endpoint.
///
/// # Errors
///
/// [`CliError::Usage`] for a bad template, user id or `--only`; [`CliError::Unreachable`]
/// when the first request gets no HTTP answer at all.
pub async fn run(credentials: &Credentials, plan: Plan) -> Result<Report, CliError> {
    let target = Target::new(&plan.template)?;
    let user = user_id("--user", &plan.user)?;
    let unknown_user = match &plan.unknown_user {
        Some(id) => user_id("--unknown-user", id)?,
        None => user_id("--unknown-user", &random_unknown_user())?,
    };
    let selected = |check: &CheckDef| {
        plan.only
            .as_deref()
            .is_none_or(|prefix| check.id.starts_with(prefix))
    };
    if !CHECKS.iter().any(|check| selected(check)) {
        return Err(CliError::Usage(format!(
            "--only {:?} matches no check id (they start with pull/token, pull/found, \
             pull/document, pull/unknown, pull/no-token-echo, transport)",
            plan.only.unwrap_or_default()
        )));
    }
    let forge = Forge::new(credentials);
    let valid = forge.valid()?;
    let mut run = Run {
        prober: Prober::new(plan.timeout).map_err(CliError::Usage)?,
        reached: false,
        results: Vec::new(),
        echoes: Vec::new(),
    };

    let needs_found = CHECKS.iter().any(|c| {
        selected(c) && (c.id.starts_with("pull/found") || c.id.starts_with("pull/document"))
    }) || selected(&NO_TOKEN_ECHO);
    if needs_found {
        let probe = target.probe(&user, Some((&valid, "valid system token")));
        let exchange = run.send(probe).await?;
        for (check, findings) in found::judge(&plan.user, &exchange) {
            if selected(check) {
                let result = CheckResult::new(check, findings, vec![exchange.clone()]);
                run.results.push(result);
            }
        }
    }

    let token_checks: [(&'static CheckDef, BuildProbe); 11] = [
        (&TOKEN_MISSING, |t, user, _, _| Ok(t.probe(user, None))),
        (&TOKEN_EMPTY, |t, user, _, _| {
            Ok(t.probe(user, Some(("", "empty"))))
        }),
        (&TOKEN_BAD_SIGNATURE, |t, user, forge, _| {
            Ok(t.probe(
                user,
                Some((&forge.bad_signature()?, "system token, corrupted signature")),
            ))
        }),
        (&TOKEN_OTHER_KEY, |t, user, forge, _| {
            Ok(t.probe(
                user,
                Some((&forge.other_key()?, "system token signed with another key")),
            ))
        }),
        (&TOKEN_EXPIRED, |t, user, forge, _| {
            Ok(t.probe(
                user,
                Some((&forge.expired()?, "system token expired a day ago")),
            ))
        }),
        (&TOKEN_WRONG_DOMAIN, |t, user, forge, _| {
            Ok(t.probe(
                user,
                Some((
                    &forge.wrong_domain()?,
                    "system token for network not-NETWORK",
                )),
            ))
        }),
        (&TOKEN_NOT_SYSTEM, |t, user, forge, _| {
            Ok(t.probe(
                user,
                Some((&forge.not_system(user)?, "user token, not system")),
            ))
        }),
        (&TOKEN_ALG_NONE, |t, user, forge, _| {
            Ok(t.probe(user, Some((&forge.alg_none(), "alg none, no signature"))))
        }),
        (&TOKEN_ALG_HS512, |t, user, forge, _| {
            Ok(t.probe(user, Some((&forge.alg_hs512()?, "HS512 system token"))))
        }),
        (&TOKEN_DUPLICATED, |t, user, _, valid| {
            Ok(t.probe_duplicated(user, valid))
        }),
        (&TOKEN_HEADER_ONLY, |t, user, _, valid| {
            Ok(t.probe_header_only(user, valid))
        }),
    ];
    for (check, build) in token_checks {
        if selected(check) {
            let probe = build(&target, &user, &forge, &valid)?;
            let exchange = run.send(probe).await?;
            let finding = expect_empty_403(check, &exchange);
            run.results
                .push(CheckResult::one(check, finding, vec![exchange]));
        }
    }

    if selected(&UNKNOWN_STATUS) {
        let probe = target.probe(&unknown_user, Some((&valid, "valid system token")));
        let exchange = run.send(probe).await?;
        let finding = match exchange.received() {
            Some(received) if received.status == 404 => {
                Finding::new(Outcome::Pass, format!("404, {} bytes", received.body_len))
            }
            Some(received) => Finding::new(
                Outcome::Fail,
                format!(
                    "answered {} for a user it does not know; 404 tells Livefyre there is \
                     nothing to pull",
                    received.summary()
                ),
            ),
            None => Finding::no_answer(&exchange),
        };
        run.results
            .push(CheckResult::one(&UNKNOWN_STATUS, finding, vec![exchange]));
    }

    if selected(&NO_TOKEN_ECHO) {
        let finding = if run.echoes.is_empty() {
            Finding::new(Outcome::Pass, "no answer repeated a token")
        } else {
            Finding::new(
                Outcome::Fail,
                format!(
                    "a token came back in the answer to: {}; tokens in bodies and headers end up \
                     in logs and caches",
                    run.echoes.join(", ")
                ),
            )
        };
        run.results
            .push(CheckResult::one(&NO_TOKEN_ECHO, finding, Vec::new()));
    }

    if selected(&TRANSPORT_HTTPS) {
        run.results.push(CheckResult::one(
            &TRANSPORT_HTTPS,
            target.transport(),
            Vec::new(),
        ));
    }

    let order = |result: &CheckResult| {
        CHECKS
            .iter()
            .position(|check| check.id == result.check.id)
            .unwrap_or(usize::MAX)
    };
    run.results.sort_by_key(order);
    Ok(Report {
        template: plan.template,
        network: credentials.network.name().to_owned(),
        user: plan.user,
        unknown_user: unknown_user.into_string(),
        strict: plan.strict,
        checks: run.results,
    })
}

/// Builds the request of a token check from the target, the known user, the token forge and
/// the valid token.
type BuildProbe = fn(&Target, &UserId, &Forge<'_>, &str) -> Result<Probe, CliError>;

/// The state of one run.
struct Run {
    prober: Prober,
    /// Whether any request got an HTTP answer yet.
    reached: bool,
    results: Vec<CheckResult>,
    /// The requests whose answer held a token.
    echoes: Vec<String>,
}

impl Run {
    /// Sends `probe`. A transport failure before any answer means the endpoint is unreachable;
    /// after one, it is recorded on the check.
    async fn send(&mut self, probe: Probe) -> Result<Exchange, CliError> {
        match self.prober.send(probe).await {
            Ok(exchange) => {
                self.reached = true;
                if exchange
                    .received()
                    .is_some_and(|received| received.echoed_token)
                {
                    self.echoes.push(exchange.sent.url.clone());
                }
                Ok(exchange)
            }
            Err((_, error)) if !self.reached => Err(CliError::Unreachable(error.0)),
            Err((exchange, _)) => Ok(exchange),
        }
    }
}

/// A broken token must get exactly what D-PULL says: 403 and no body.
fn expect_empty_403(check: &CheckDef, exchange: &Exchange) -> Finding {
    let Some(received) = exchange.received() else {
        return Finding::no_answer(exchange);
    };
    match received.status() {
        StatusCode::FORBIDDEN if received.body_len == 0 => {
            Finding::new(Outcome::Pass, "403, empty body")
        }
        StatusCode::FORBIDDEN => Finding::new(
            Outcome::Fail,
            format!(
                "403 but with a {}-byte body; the body must be empty",
                received.body_len
            ),
        ),
        status if status.is_success() => Finding::new(
            Outcome::Fail,
            format!(
                "answered {}: the endpoint {}",
                received.summary(),
                if check.id == TOKEN_MISSING.id {
                    "serves profiles without a token"
                } else {
                    "accepted this token"
                }
            ),
        ),
        _ => Finding::new(
            Outcome::Fail,
            format!(
                "answered {}; the protocol requires 403 with an empty body",
                received.summary()
            ),
        ),
    }
}

/// A user id by the library's rule, [`UserId`]'s.
fn user_id(flag: &str, id: &str) -> Result<UserId, CliError> {
    id.parse::<UserId>()
        .map_err(|error| CliError::Usage(format!("{flag} {id:?}: {error}")))
}

/// An id no endpoint knows, different on each run.
fn random_unknown_user() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    format!(
        "livefyre-check-unknown-{:08x}{:x}",
        nanos,
        std::process::id()
    )
}
