//! `livefyre check`: sends a pull endpoint the requests Livefyre would, and the broken ones
//! an attacker would, and judges each answer against PROTOCOL.md.

pub mod catalog;
mod document;
mod forge;
mod probe;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{StatusCode, Uri};
use serde::Serialize;
use tower_livefyre::Profile;

use self::catalog::*;
pub use self::catalog::{CHECKS, CheckDef, Level};
use self::forge::Forge;
pub use self::probe::{Answer, Exchange, Received};
use self::probe::{Probe, Prober};
use crate::error::CliError;
use crate::key::Credentials;

/// The longest display name Livefyre documents (D-UAT).
const MAX_DISPLAY_NAME_CHARS: usize = tower_livefyre::MAX_DISPLAY_NAME_CHARS;

/// A check's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The rule holds.
    Pass,
    /// A MUST rule is broken.
    Fail,
    /// A SHOULD rule is broken, or a MUST rule bent in a way Livefyre tolerated.
    Warn,
    /// Worth knowing; not a rule.
    Info,
    /// Not judged (what it needs did not happen, e.g. no 200 to read a document from).
    Skip,
}

impl Outcome {
    /// `pass`, `fail`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pass => "pass",
            Self::Fail => "fail",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Skip => "skip",
        }
    }

    fn severity(self) -> u8 {
        match self {
            Self::Pass | Self::Skip => 0,
            Self::Info => 1,
            Self::Warn => 2,
            Self::Fail => 3,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One observation of a check.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What it means.
    pub outcome: Outcome,
    /// What was seen, in one line.
    pub message: String,
}

impl Finding {
    /// A finding.
    pub fn new(outcome: Outcome, message: impl Into<String>) -> Self {
        Self {
            outcome,
            message: message.into(),
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// The check.
    #[serde(flatten)]
    pub check: &'static CheckDef,
    /// The worst of its findings.
    pub outcome: Outcome,
    /// What was seen.
    pub findings: Vec<Finding>,
    /// The requests it judged and their answers, tokens redacted.
    pub exchanges: Vec<Exchange>,
}

impl CheckResult {
    /// The result of `check` from `findings` (none means it passed). A broken SHOULD rule is
    /// a `warn`, never a `fail`.
    fn new(check: &'static CheckDef, findings: Vec<Finding>, exchanges: Vec<Exchange>) -> Self {
        let mut findings = findings;
        if check.level == Level::Should {
            for finding in &mut findings {
                if finding.outcome == Outcome::Fail {
                    finding.outcome = Outcome::Warn;
                }
            }
        }
        let outcome = findings
            .iter()
            .map(|finding| finding.outcome)
            .max_by_key(|outcome| outcome.severity())
            .unwrap_or(Outcome::Pass);
        let outcome = if findings.iter().all(|f| f.outcome == Outcome::Skip) && !findings.is_empty()
        {
            Outcome::Skip
        } else {
            outcome
        };
        if findings.is_empty() {
            findings.push(Finding::new(Outcome::Pass, "as documented"));
        }
        Self {
            check,
            outcome,
            findings,
            exchanges,
        }
    }

    fn one(check: &'static CheckDef, finding: Finding, exchanges: Vec<Exchange>) -> Self {
        Self::new(check, vec![finding], exchanges)
    }
}

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

/// Everything `livefyre check` found.
#[derive(Debug, Serialize)]
pub struct Report {
    /// The template checked.
    pub template: String,
    /// The network the tokens were made for.
    pub network: String,
    /// The known user.
    pub user: String,
    /// The unknown user.
    pub unknown_user: String,
    /// Whether `warn` fails the run.
    pub strict: bool,
    /// One result per check run, in catalog order.
    pub checks: Vec<CheckResult>,
}

/// How many results of each kind.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Checks run.
    pub total: usize,
    /// `pass` results.
    pub pass: usize,
    /// `fail` results.
    pub fail: usize,
    /// `warn` results.
    pub warn: usize,
    /// `info` results.
    pub info: usize,
    /// `skip` results.
    pub skip: usize,
}

impl Report {
    /// Counts per outcome.
    pub fn summary(&self) -> Summary {
        let mut summary = Summary {
            total: self.checks.len(),
            ..Summary::default()
        };
        for result in &self.checks {
            *match result.outcome {
                Outcome::Pass => &mut summary.pass,
                Outcome::Fail => &mut summary.fail,
                Outcome::Warn => &mut summary.warn,
                Outcome::Info => &mut summary.info,
                Outcome::Skip => &mut summary.skip,
            } += 1;
        }
        summary
    }

    /// Whether this result fails the run: every `fail`, and `warn` under `--strict`.
    pub fn fails_run(&self, result: &CheckResult) -> bool {
        result.outcome == Outcome::Fail || (self.strict && result.outcome == Outcome::Warn)
    }

    /// 0 when nothing fails the run, else 1.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.checks.iter().any(|result| self.fails_run(result)))
    }
}

/// Runs the selected checks against the endpoint.
///
/// # Errors
///
/// [`CliError::Usage`] for a bad template, user id or `--only`; [`CliError::Unreachable`]
/// when the first request gets no HTTP answer at all.
pub async fn run(credentials: &Credentials, plan: Plan) -> Result<Report, CliError> {
    let target = Target::new(&plan.template)?;
    for (flag, id) in [
        ("--user", Some(&plan.user)),
        ("--unknown-user", plan.unknown_user.as_ref()),
    ] {
        if let Some(id) = id {
            check_user_id(flag, id)?;
        }
    }
    let unknown_user = plan
        .unknown_user
        .clone()
        .unwrap_or_else(random_unknown_user);
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
        let probe = target.probe(&plan.user, Some((&valid, "valid system token")));
        let exchange = run.send(probe).await?;
        run.judge_found(&plan.user, exchange, &selected);
    }

    let user = plan.user.as_str();
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
            let probe = build(&target, user, &forge, &valid)?;
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
                    status_line(received)
                ),
            ),
            None => no_answer(&exchange),
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
        unknown_user,
        strict: plan.strict,
        checks: run.results,
    })
}

/// Builds the request of a token check from the target, the known user, the token forge and
/// the valid token.
type BuildProbe = fn(&Target, &str, &Forge<'_>, &str) -> Result<Probe, CliError>;

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

    fn judge_found(
        &mut self,
        user: &str,
        exchange: Exchange,
        selected: &dyn Fn(&CheckDef) -> bool,
    ) {
        let exchanges = vec![exchange.clone()];
        let mut push = |check: &'static CheckDef, findings: Vec<Finding>| {
            if selected(check) {
                self.results
                    .push(CheckResult::new(check, findings, exchanges.clone()));
            }
        };
        let Some(received) = exchange.received() else {
            push(&FOUND_STATUS, vec![no_answer(&exchange)]);
            skip_all(&mut push, "no answer to the pull");
            return;
        };
        if received.status != 200 {
            let hint = if received.status == 403 {
                "; it refused a valid system token: are --network and the key right?"
            } else {
                ""
            };
            push(
                &FOUND_STATUS,
                vec![Finding::new(
                    Outcome::Fail,
                    format!(
                        "answered {}, not 200, for user {user:?}{hint}",
                        status_line(received)
                    ),
                )],
            );
            skip_all(&mut push, "no 200 answer to read a profile from");
            return;
        }
        push(&FOUND_STATUS, vec![Finding::new(Outcome::Pass, "200")]);

        let mut json_findings = Vec::new();
        let media_type = received
            .content_type
            .as_deref()
            .and_then(|value| value.split(';').next())
            .map(|media| media.trim().to_ascii_lowercase());
        if media_type.as_deref() != Some("application/json") {
            json_findings.push(Finding::new(
                Outcome::Fail,
                format!(
                    "Content-Type is {}, not application/json",
                    received
                        .content_type
                        .as_deref()
                        .map_or("missing".to_owned(), |t| format!("{t:?}"))
                ),
            ));
        }
        let document = match serde_json::from_slice::<serde_json::Value>(&received.full_body) {
            Ok(serde_json::Value::Object(document)) => Some(document),
            Ok(other) => {
                json_findings.push(Finding::new(
                    Outcome::Fail,
                    format!(
                        "the body is JSON but not an object (it starts {:?})",
                        excerpt(&other.to_string())
                    ),
                ));
                None
            }
            Err(error) => {
                json_findings.push(Finding::new(
                    Outcome::Fail,
                    format!("the body is not JSON: {error}"),
                ));
                None
            }
        };
        push(&FOUND_JSON, json_findings);
        let Some(document) = document else {
            skip_all_but_json(&mut push, "no JSON object to read");
            return;
        };

        let id = match document.get("id") {
            Some(serde_json::Value::String(id)) if id == user => {
                Finding::new(Outcome::Pass, format!("{id:?}"))
            }
            Some(serde_json::Value::String(id)) => Finding::new(
                Outcome::Fail,
                format!("`id` is {id:?} but the pull asked for {user:?}"),
            ),
            Some(other) => Finding::new(Outcome::Fail, format!("`id` is not a string: {other}")),
            None => Finding::new(Outcome::Fail, "no `id` field"),
        };
        push(&FOUND_ID, vec![id]);

        let display_name = match document.get("display_name") {
            Some(serde_json::Value::String(name)) if name.trim().is_empty() => {
                Finding::new(Outcome::Fail, "`display_name` is empty")
            }
            Some(serde_json::Value::String(name))
                if name.chars().count() > MAX_DISPLAY_NAME_CHARS =>
            {
                Finding::new(
                    Outcome::Warn,
                    format!(
                        "`display_name` has {} characters; Livefyre documents at most {MAX_DISPLAY_NAME_CHARS}",
                        name.chars().count()
                    ),
                )
            }
            Some(serde_json::Value::String(name)) => {
                Finding::new(Outcome::Pass, format!("{name:?}"))
            }
            Some(other) => Finding::new(
                Outcome::Fail,
                format!("`display_name` is not a string: {other}"),
            ),
            None => Finding::new(Outcome::Fail, "no `display_name` field (it is required)"),
        };
        push(&FOUND_DISPLAY_NAME, vec![display_name]);

        for (check, findings) in document::check(&document) {
            push(check, findings);
        }
    }
}

/// Every found/document check but status, skipped.
fn skip_all(push: &mut impl FnMut(&'static CheckDef, Vec<Finding>), why: &str) {
    push(&FOUND_JSON, vec![Finding::new(Outcome::Skip, why)]);
    skip_all_but_json(push, why);
}

fn skip_all_but_json(push: &mut impl FnMut(&'static CheckDef, Vec<Finding>), why: &str) {
    for check in CHECKS.iter().filter(|check| {
        check.id == FOUND_ID.id
            || check.id == FOUND_DISPLAY_NAME.id
            || check.id.starts_with("pull/document/")
    }) {
        push(check, vec![Finding::new(Outcome::Skip, why)]);
    }
}

/// A broken token must get exactly what D-PULL says: 403 and no body.
fn expect_empty_403(check: &CheckDef, exchange: &Exchange) -> Finding {
    let Some(received) = exchange.received() else {
        return no_answer(exchange);
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
                status_line(received),
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
                status_line(received)
            ),
        ),
    }
}

fn no_answer(exchange: &Exchange) -> Finding {
    let why = match &exchange.answer {
        Answer::Error(error) => error.as_str(),
        Answer::Received(_) => "",
    };
    Finding::new(Outcome::Fail, format!("no answer: {why}"))
}

fn status_line(received: &Received) -> String {
    if received.body_len == 0 {
        format!("{}", received.status)
    } else {
        format!("{} with a {}-byte body", received.status, received.body_len)
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A user id by the library's rule (the one a profile `id` must follow).
fn check_user_id(flag: &str, id: &str) -> Result<(), CliError> {
    Profile::new(id, "name").validate().map_err(|_| {
        CliError::Usage(format!(
            "{flag} {id:?}: user ids are made of A-Z, a-z, 0-9, `_`, `.` and `-`"
        ))
    })
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

/// The endpoint: the template and where tokens go.
struct Target {
    template: String,
    scheme_is_https: bool,
    host: String,
}

impl Target {
    fn new(template: &str) -> Result<Self, CliError> {
        if !template.contains("{id}") {
            return Err(CliError::Usage(format!(
                "URL_TEMPLATE {template:?} has no {{id}}: Livefyre puts the user id there"
            )));
        }
        let sample = template.replace("{id}", "id");
        let uri: Uri = sample.parse().map_err(|error| {
            CliError::Usage(format!("URL_TEMPLATE {template:?} is not a URL: {error}"))
        })?;
        let scheme = uri.scheme_str().map(str::to_ascii_lowercase);
        let (Some(scheme), Some(host)) = (scheme, uri.host()) else {
            return Err(CliError::Usage(format!(
                "URL_TEMPLATE {template:?} must be an absolute http:// or https:// URL"
            )));
        };
        if scheme != "http" && scheme != "https" {
            return Err(CliError::Usage(format!(
                "URL_TEMPLATE {template:?} must be an absolute http:// or https:// URL"
            )));
        }
        Ok(Self {
            template: template.to_owned(),
            scheme_is_https: scheme == "https",
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        })
    }

    /// The pull URL for `id`, before any token. Ids were checked to be `[A-Za-z0-9_.-]`,
    /// which needs no escaping anywhere in a URL.
    fn url(&self, id: &str) -> String {
        self.template.replace("{id}", id)
    }

    /// `url` with `lftoken=…` appended as Livefyre does: `&` when there is a query, else `?`.
    fn with_params(url: &str, params: &[&str]) -> String {
        let mut url = url.to_owned();
        for param in params {
            url.push(if url.contains('?') { '&' } else { '?' });
            url.push_str(param);
        }
        url
    }

    /// A GET for `id`, with `token` (and how to show it) as `lftoken`, or no `lftoken`.
    fn probe(&self, id: &str, token: Option<(&str, &str)>) -> Probe {
        let url = self.url(id);
        match token {
            None => Probe {
                url: url.clone(),
                shown_url: url,
                headers: Vec::new(),
                tokens: Vec::new(),
            },
            Some((token, shown)) => Probe {
                url: Self::with_params(&url, &[&format!("lftoken={token}")]),
                shown_url: Self::with_params(&url, &[&format!("lftoken=<{shown}>")]),
                headers: Vec::new(),
                tokens: vec![token.to_owned()],
            },
        }
    }

    fn probe_duplicated(&self, id: &str, token: &str) -> Probe {
        let url = self.url(id);
        let param = format!("lftoken={token}");
        Probe {
            url: Self::with_params(&url, &[&param, &param]),
            shown_url: Self::with_params(
                &url,
                &["lftoken=<valid system token>", "lftoken=<the same token>"],
            ),
            headers: Vec::new(),
            tokens: vec![token.to_owned()],
        }
    }

    fn probe_header_only(&self, id: &str, token: &str) -> Probe {
        let url = self.url(id);
        Probe {
            url: url.clone(),
            shown_url: url,
            headers: vec![(
                "authorization",
                format!("Bearer {token}"),
                "Bearer <valid system token>".to_owned(),
            )],
            tokens: vec![token.to_owned()],
        }
    }

    fn transport(&self) -> Finding {
        if self.scheme_is_https {
            return Finding::new(Outcome::Pass, "https");
        }
        let loopback = self.host.eq_ignore_ascii_case("localhost")
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        if loopback {
            Finding::new(
                Outcome::Pass,
                "http on loopback (fine for testing; use https in production)",
            )
        } else {
            Finding::new(
                Outcome::Fail,
                format!(
                    "http:// to {}: the system token travels in the clear and anyone on the path \
                     can replay it until it expires",
                    self.host
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_must_be_absolute_http_urls_with_an_id() {
        for template in [
            "https://example.com/pull?id={id}",
            "http://127.0.0.1:3000/users/{id}/pull",
            "HTTP://[::1]:8080/p?id={id}",
        ] {
            assert!(Target::new(template).is_ok(), "{template}");
        }
        for template in [
            "https://example.com/pull",
            "/pull?id={id}",
            "ftp://example.com/{id}",
            "www.example.com/user/{id}",
            "http://exa mple.com/{id}",
        ] {
            assert!(
                matches!(Target::new(template), Err(CliError::Usage(_))),
                "{template}"
            );
        }
    }

    #[test]
    fn tokens_are_appended_as_livefyre_does() {
        let query = Target::new("https://x.example/pull?id={id}").unwrap();
        assert_eq!(
            query.probe("ann", Some(("T", "t"))).url,
            "https://x.example/pull?id=ann&lftoken=T"
        );
        let path = Target::new("https://x.example/users/{id}/pull").unwrap();
        let probe = path.probe("ann", Some(("T", "shown")));
        assert_eq!(probe.url, "https://x.example/users/ann/pull?lftoken=T");
        assert_eq!(
            probe.shown_url,
            "https://x.example/users/ann/pull?lftoken=<shown>"
        );
        assert_eq!(
            path.probe_duplicated("ann", "T").url,
            "https://x.example/users/ann/pull?lftoken=T&lftoken=T"
        );
    }

    #[test]
    fn plain_http_is_a_finding_except_on_loopback() {
        let table = [
            ("https://example.com/{id}", Outcome::Pass),
            ("http://127.0.0.1:3000/{id}", Outcome::Pass),
            ("http://localhost/{id}", Outcome::Pass),
            ("http://[::1]/{id}", Outcome::Pass),
            ("http://example.com/{id}", Outcome::Fail),
            ("http://10.0.0.1/{id}", Outcome::Fail),
        ];
        for (template, outcome) in table {
            let finding = Target::new(template).unwrap().transport();
            assert_eq!(finding.outcome, outcome, "{template}");
        }
        // transport/https is a SHOULD: its failure is a warning.
        let finding = Target::new("http://example.com/{id}").unwrap().transport();
        let result = CheckResult::one(&TRANSPORT_HTTPS, finding, Vec::new());
        assert_eq!(result.outcome, Outcome::Warn);
    }
}
