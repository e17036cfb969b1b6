//! `livefyre check`: sends a pull endpoint the requests Livefyre would, and the broken ones
//! an attacker would, and judges each answer against the rules of `docs/protocol.md`.

/// The check ids, their levels and their sections of `docs/protocol.md`.
pub mod catalog;
mod document;
mod forge;
mod found;
mod probe;
mod redact;
mod result;
mod target;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::StatusCode;
use tower_livefyre::{UserId, url::PullUrlTemplate};

pub use self::catalog::CheckId;
use self::forge::Forge;
pub use self::probe::{Answer, Exchange};
use self::probe::{Probe, Prober};
pub use self::result::{CheckResult, Finding, Outcome, Report, Summary};
use self::target::Target;
use crate::error::CliError;
use crate::key::Credentials;

/// What to check, typed at the command line's edge.
#[derive(Debug)]
pub struct Plan {
    /// The pull URL template, with `{id}`.
    pub template: PullUrlTemplate,
    /// A user the endpoint knows.
    pub user: UserId,
    /// A user it does not know (a random id when `None`).
    pub unknown_user: Option<UserId>,
    /// Only checks whose id starts with this.
    pub only: Option<String>,
    /// Whether `warn` fails the run.
    pub strict: bool,
    /// Per-answer timeout; tokens live this long plus a margin.
    pub timeout: Duration,
}

/// Builds the request of a token check from the target, the known user and the token forge.
type BuildProbe = fn(&Target, &UserId, &Forge<'_>) -> Result<Probe, CliError>;

/// Every token check, in report order, with the request it sends.
const TOKEN_CHECKS: [(CheckId, BuildProbe); 11] = [
    (CheckId::TokenMissing, |t, user, _| Ok(t.probe(user, None))),
    (CheckId::TokenEmpty, |t, user, _| {
        Ok(t.probe(user, Some(("", ""))))
    }),
    (CheckId::TokenBadSignature, |t, user, forge| {
        Ok(t.probe(
            user,
            Some((&forge.bad_signature()?, "system token, random signature")),
        ))
    }),
    (CheckId::TokenOtherKey, |t, user, forge| {
        Ok(t.probe(
            user,
            Some((&forge.other_key()?, "system token signed with another key")),
        ))
    }),
    (CheckId::TokenExpired, |t, user, forge| {
        Ok(t.probe(
            user,
            Some((&forge.expired()?, "system token expired a day ago")),
        ))
    }),
    (CheckId::TokenWrongDomain, |t, user, forge| {
        Ok(t.probe(
            user,
            Some((
                &forge.wrong_domain()?,
                "system token for network not-NETWORK",
            )),
        ))
    }),
    (CheckId::TokenNotSystem, |t, user, forge| {
        Ok(t.probe(
            user,
            Some((&forge.not_system(user)?, "user token, not system")),
        ))
    }),
    (CheckId::TokenAlgNone, |t, user, forge| {
        Ok(t.probe(user, Some((&forge.alg_none(), "alg none, no signature"))))
    }),
    (CheckId::TokenAlgHs512, |t, user, forge| {
        Ok(t.probe(user, Some((&forge.alg_hs512()?, "HS512 system token"))))
    }),
    (CheckId::TokenDuplicated, |t, user, forge| {
        Ok(t.probe_duplicated(user, &forge.valid()?))
    }),
    (CheckId::TokenHeaderOnly, |t, user, forge| {
        Ok(t.probe_header_only(user, &forge.valid()?))
    }),
];

/// Runs the selected checks against the endpoint. One failed exchange is recorded against
/// the check that sent it; the run goes on.
///
/// # Errors
///
/// [`CliError::Usage`] for an `--only` that matches nothing; [`CliError::Unreachable`] when
/// the first request gets no HTTP answer at all (no connection, nothing within the timeout).
pub async fn run(credentials: &Credentials, plan: Plan) -> Result<Report, CliError> {
    let target = Target::new(&plan.template)?;
    let user = plan.user;
    let unknown_user = match plan.unknown_user {
        Some(id) => id,
        None => random_unknown_user()?,
    };
    let selected = |check: CheckId| {
        plan.only
            .as_deref()
            .is_none_or(|prefix| check.id().starts_with(prefix))
    };
    if !CheckId::ALL.iter().any(|check| selected(*check)) {
        return Err(CliError::Usage(format!(
            "--only {:?} matches no check id (they start with pull/token, pull/found, \
             pull/document, pull/unknown, pull/no-token-echo, transport)",
            plan.only.unwrap_or_default()
        )));
    }
    let forge = Forge::new(credentials, plan.timeout);
    let mut run = Run {
        prober: Prober::new(plan.timeout).map_err(CliError::Usage)?,
        reached: false,
        results: Vec::new(),
        echoes: Vec::new(),
    };

    // The valid pull is the baseline of the token checks as well as what the found and
    // document checks read.
    let needs_baseline = CheckId::ALL.iter().any(|check| {
        selected(*check)
            && (check.is_token_check()
                || check.id().starts_with("pull/found/")
                || check.id().starts_with("pull/document/")
                || *check == CheckId::NoTokenEcho)
    });
    let mut gate = Ok(());
    if needs_baseline {
        let probe = target.probe(&user, Some((&forge.valid()?, "valid system token")));
        let exchange = run.send(probe).await?;
        gate = gate_can_be_judged(&exchange);
        for (check, findings) in found::judge(user.as_str(), &exchange) {
            if selected(check) {
                let result = CheckResult::new(check, findings, vec![exchange.clone()]);
                run.results.push(result);
            }
        }
    }

    for (check, build) in TOKEN_CHECKS {
        if selected(check) {
            let probe = build(&target, &user, &forge)?;
            let exchange = run.send(probe).await?;
            let finding = match &gate {
                Ok(()) => expect_empty_403(check, &exchange),
                Err(why) => Finding::new(Outcome::Inconclusive, why.clone()),
            };
            run.results
                .push(CheckResult::one(check, finding, vec![exchange]));
        }
    }

    if selected(CheckId::UnknownStatus) {
        let probe = target.probe(&unknown_user, Some((&forge.valid()?, "valid system token")));
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
        run.results.push(CheckResult::one(
            CheckId::UnknownStatus,
            finding,
            vec![exchange],
        ));
    }

    if selected(CheckId::NoTokenEcho) {
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
            .push(CheckResult::one(CheckId::NoTokenEcho, finding, Vec::new()));
    }

    if selected(CheckId::TransportHttps) {
        run.results.push(CheckResult::one(
            CheckId::TransportHttps,
            target.transport(),
            Vec::new(),
        ));
    }

    let order = |result: &CheckResult| {
        CheckId::ALL
            .iter()
            .position(|check| *check == result.check)
            .unwrap_or(usize::MAX)
    };
    run.results.sort_by_key(order);
    let mut report = Report {
        template: plan.template.as_str().to_owned(),
        network: credentials.network.name().to_owned(),
        user: user.into_string(),
        unknown_user: unknown_user.into_string(),
        strict: plan.strict,
        checks: run.results,
    };
    // Every string any format renders, once more: finding messages quote the parsed
    // document, whose strings may hold a token the raw bytes only held escaped.
    report.redact(run.prober.redactor());
    Ok(report)
}

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
    /// Sends `probe`. No HTTP answer to the first request means the endpoint is unreachable;
    /// anything else is recorded on the check that sent it.
    async fn send(&mut self, probe: Probe) -> Result<Exchange, CliError> {
        let (exchange, reached) = self.prober.send(probe).await;
        if !reached
            && !self.reached
            && let Answer::Error(error) = &exchange.answer
        {
            return Err(CliError::Unreachable(error.clone()));
        }
        self.reached |= reached;
        if exchange
            .received()
            .is_some_and(|received| received.echoed_token)
        {
            self.echoes.push(exchange.sent.url.clone());
        }
        Ok(exchange)
    }
}

/// Whether the valid pull got 200: only then does a 403 to a broken token show that the
/// gate refused it, rather than that the endpoint refuses or fails everything.
fn gate_can_be_judged(baseline: &Exchange) -> Result<(), String> {
    match baseline.received() {
        Some(received) if received.status == 200 => Ok(()),
        Some(received) => Err(format!(
            "the valid token got {}{}, so the gate cannot be judged: a refusal proves nothing \
             when the valid pull fails too",
            received.status,
            if received.status == 403 {
                " (are --network and the key right?)"
            } else {
                ""
            }
        )),
        None => Err(format!(
            "the valid pull failed ({}), so the gate cannot be judged",
            match &baseline.answer {
                Answer::Error(error) => error.as_str(),
                Answer::Received(_) => "",
            }
        )),
    }
}

/// A broken token must get exactly what D-PULL says: 403 and no body.
fn expect_empty_403(check: CheckId, exchange: &Exchange) -> Finding {
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
                match check {
                    CheckId::TokenMissing => "serves profiles without a token",
                    CheckId::TokenDuplicated =>
                        "accepted two `lftoken` parameters; a repeated lftoken must be refused, \
                         whichever copy a framework would read",
                    CheckId::TokenHeaderOnly =>
                        "took the token from the Authorization header; the pull carries it in \
                         the query alone",
                    _ => "accepted this token",
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

/// An id no endpoint knows, different on each run.
fn random_unknown_user() -> Result<UserId, CliError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    let id = format!(
        "livefyre-check-unknown-{:08x}{:x}",
        nanos,
        std::process::id()
    );
    id.parse()
        .map_err(|error| CliError::Failed(format!("the random unknown user {id:?}: {error}")))
}
