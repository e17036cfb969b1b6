//! The report for people: one block per check, failures spelled out.

use std::collections::HashSet;
use std::fmt::Write as _;

use super::{got_line, one_line, sent_line, verdict};
use crate::check::{Outcome, Report};

/// `report` for people: one line per check, details for anything but a pass.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "livefyre check {}", one_line(&report.template));
    let _ = writeln!(
        out,
        "network {} · user {} · unknown user {}{}\n",
        one_line(&report.network),
        report.user,
        report.unknown_user,
        if report.strict { " · strict" } else { "" }
    );
    let mut shown = HashSet::new();
    for result in &report.checks {
        let check = result.check;
        let _ = writeln!(
            out,
            "{:<4}  {}  [{} {}] {}",
            result.outcome.as_str().to_ascii_uppercase(),
            check.id(),
            check.level().as_str(),
            result.section,
            check.title()
        );
        // A pass is one line; anything else says what was seen, sent and received.
        if result.outcome == Outcome::Pass {
            continue;
        }
        for finding in &result.findings {
            if finding.outcome != Outcome::Pass {
                let _ = writeln!(
                    out,
                    "      {}: {}",
                    finding.outcome,
                    one_line(&finding.message)
                );
            }
        }
        if result.outcome == Outcome::Skip {
            continue;
        }
        // Everything an endpoint sent is shown on one line, control characters removed
        // (a header value may hold a terminal escape).
        for exchange in &result.exchanges {
            // The pull that every found/document check reads is shown once.
            let sent = one_line(&sent_line(exchange));
            if shown.insert(sent.clone()) {
                let _ = writeln!(out, "      sent: {sent}");
                let _ = writeln!(out, "      got:  {}", one_line(&got_line(exchange)));
            }
        }
    }
    let summary = report.summary();
    let _ = writeln!(
        out,
        "\n{} checks: {} pass, {} fail, {} warn, {} info, {} skip, {} inconclusive",
        summary.total,
        summary.pass,
        summary.fail,
        summary.warn,
        summary.info,
        summary.skip,
        summary.inconclusive
    );
    let _ = writeln!(out, "{} (exit {})", verdict(report), report.exit_code());
    out
}
