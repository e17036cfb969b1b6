//! What checks find: [`Outcome`], [`Finding`], [`CheckResult`] and the whole [`Report`].

use std::fmt;

use serde::Serialize;

use super::catalog::{CheckId, Level};
use super::probe::{Answer, Exchange};
use super::redact::Redactor;

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
    /// Could not be judged although it was run: the valid pull it is measured against did
    /// not get 200, so a refusal proves nothing about the gate. Fails the run: a MUST rule
    /// was not verified.
    Inconclusive,
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
            Self::Inconclusive => "inconclusive",
        }
    }

    fn severity(self) -> u8 {
        match self {
            Self::Pass | Self::Skip => 0,
            Self::Info => 1,
            Self::Warn => 2,
            Self::Inconclusive => 3,
            Self::Fail => 4,
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
    /// The `fail` of a request whose exchange failed: no HTTP answer, or one that could not
    /// be read (a body over the cap, a header hyper refuses).
    pub fn no_answer(exchange: &Exchange) -> Self {
        let why = match &exchange.answer {
            Answer::Error(error) => error.as_str(),
            Answer::Received(_) => "",
        };
        Self::new(Outcome::Fail, format!("the exchange failed: {why}"))
    }

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
    /// The check, serialized as its id.
    #[serde(rename = "id")]
    pub check: CheckId,
    /// MUST or SHOULD.
    pub level: Level,
    /// Where its rule is stated: `docs/protocol.md#ANCHOR`.
    pub section: String,
    /// What it asks.
    pub title: &'static str,
    /// The worst of its findings.
    pub outcome: Outcome,
    /// The same as `outcome`, under the name the issue tracker and CI notes use.
    pub result: Outcome,
    /// What was seen.
    pub findings: Vec<Finding>,
    /// The requests it judged and their answers, tokens redacted.
    pub exchanges: Vec<Exchange>,
}

impl CheckResult {
    /// The result of `check` from `findings` (none means it passed). A broken SHOULD rule is
    /// a `warn`, never a `fail`.
    pub(super) fn new(check: CheckId, findings: Vec<Finding>, exchanges: Vec<Exchange>) -> Self {
        let mut findings = findings;
        if check.level() == Level::Should {
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
            level: check.level(),
            section: check.section(),
            title: check.title(),
            outcome,
            result: outcome,
            findings,
            exchanges,
        }
    }

    /// The result of `check` from one finding.
    pub(super) fn one(check: CheckId, finding: Finding, exchanges: Vec<Exchange>) -> Self {
        Self::new(check, vec![finding], exchanges)
    }
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
    /// `inconclusive` results.
    pub inconclusive: usize,
}

impl Report {
    /// Every string any format renders, passed through `redactor`: finding messages quote
    /// the parsed document, whose strings may hold a token that the bytes held escaped.
    pub(super) fn redact(&mut self, redactor: &Redactor) {
        for text in [
            &mut self.template,
            &mut self.network,
            &mut self.user,
            &mut self.unknown_user,
        ] {
            *text = redactor.redact(text);
        }
        for result in &mut self.checks {
            for finding in &mut result.findings {
                finding.message = redactor.redact(&finding.message);
            }
            for exchange in &mut result.exchanges {
                exchange.redact(redactor);
            }
        }
    }

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
                Outcome::Inconclusive => &mut summary.inconclusive,
            } += 1;
        }
        summary
    }

    /// Whether this result fails the run: every `fail` and `inconclusive` (a MUST rule that
    /// could not be verified), and `warn` under `--strict`.
    pub fn fails_run(&self, result: &CheckResult) -> bool {
        matches!(result.outcome, Outcome::Fail | Outcome::Inconclusive)
            || (self.strict && result.outcome == Outcome::Warn)
    }

    /// 0 when nothing fails the run, else 1.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.checks.iter().any(|result| self.fails_run(result)))
    }
}
