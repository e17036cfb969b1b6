//! TAP version 13: one test point per check. `fail` (and `warn` under `--strict`) is
//! `not ok`; `skip` and `inconclusive` are `# SKIP` with the reason; the details are `#`
//! comment lines.

use std::fmt::Write as _;

use super::{got_line, one_line, sent_line};
use crate::check::{Outcome, Report};

/// `report` as a TAP version 13 stream.
pub fn render(report: &Report) -> String {
    let mut out = String::from("TAP version 13\n");
    let _ = writeln!(out, "1..{}", report.checks.len());
    let _ = writeln!(
        out,
        "# livefyre check {} (network {}, user {})",
        one_line(&report.template),
        report.network,
        report.user
    );
    for (index, result) in report.checks.iter().enumerate() {
        let check = result.check;
        let status = if report.fails_run(result) {
            "not ok"
        } else {
            "ok"
        };
        let mut description = format!(
            "{} [{} {}] {}",
            check.id(),
            check.level().as_str(),
            result.section,
            check.title()
        );
        if matches!(result.outcome, Outcome::Warn | Outcome::Info) {
            let _ = write!(description, " ({})", result.outcome);
        }
        // `#` would start a directive.
        let description = one_line(&description).replace('#', "\\#");
        let number = index + 1;
        if matches!(result.outcome, Outcome::Skip | Outcome::Inconclusive) {
            let why = result
                .findings
                .first()
                .map_or(String::new(), |finding| one_line(&finding.message));
            let prefix = if result.outcome == Outcome::Inconclusive {
                "inconclusive: "
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "ok {number} - {description} # SKIP {prefix}{}",
                why.replace('#', "\\#")
            );
            for exchange in &result.exchanges {
                let _ = writeln!(out, "#   sent: {}", one_line(&sent_line(exchange)));
                let _ = writeln!(out, "#   got:  {}", one_line(&got_line(exchange)));
            }
            continue;
        }
        let _ = writeln!(out, "{status} {number} - {description}");
        for finding in &result.findings {
            let _ = writeln!(out, "# {}: {}", finding.outcome, one_line(&finding.message));
        }
        for exchange in &result.exchanges {
            let _ = writeln!(out, "#   sent: {}", one_line(&sent_line(exchange)));
            let _ = writeln!(out, "#   got:  {}", one_line(&got_line(exchange)));
        }
    }
    out
}
