//! JUnit XML: one `testcase` per check; `fail` (and `warn` under `--strict`) is a `failure`,
//! `skip` and `inconclusive` are `skipped` (with the reason as the message), and what was
//! sent and received goes to `system-out`.

use std::fmt::Write as _;

use super::{got_line, sent_line};
use crate::check::{Outcome, Report};

/// `report` as JUnit XML: one test suite, one test case per check.
pub fn render(report: &Report) -> String {
    let summary = report.summary();
    let failures = report
        .checks
        .iter()
        .filter(|result| report.fails_run(result) && result.outcome != Outcome::Inconclusive)
        .count();
    let skipped = summary.skip + summary.inconclusive;
    let suite = format!("livefyre check {}", report.template);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"livefyre check\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        summary.total
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
        escape(&suite),
        summary.total
    );
    let _ = writeln!(out, "    <properties>");
    for (name, value) in [
        ("network", report.network.as_str()),
        ("user", report.user.as_str()),
        ("unknown_user", report.unknown_user.as_str()),
        ("strict", if report.strict { "true" } else { "false" }),
    ] {
        let _ = writeln!(
            out,
            "      <property name=\"{name}\" value=\"{}\"/>",
            escape(value)
        );
    }
    let _ = writeln!(out, "    </properties>");
    for result in &report.checks {
        let check = result.check;
        let classname = check
            .id()
            .rsplit_once('/')
            .map_or(check.id(), |(group, _)| group);
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\">",
            escape(&classname.replace('/', ".")),
            escape(check.id())
        );
        let findings = result
            .findings
            .iter()
            .map(|finding| format!("{}: {}", finding.outcome, finding.message))
            .collect::<Vec<_>>()
            .join("\n");
        let first = result
            .findings
            .iter()
            .find(|finding| finding.outcome == result.outcome)
            .map_or("", |finding| finding.message.as_str());
        if result.outcome == Outcome::Inconclusive {
            let _ = writeln!(
                out,
                "      <skipped message=\"inconclusive: {}\"/>",
                escape(first)
            );
        } else if report.fails_run(result) {
            let _ = writeln!(
                out,
                "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                result.outcome,
                escape(first),
                escape(&findings)
            );
        } else if result.outcome == Outcome::Skip {
            let _ = writeln!(out, "      <skipped message=\"{}\"/>", escape(&findings));
        }
        let mut system_out = format!(
            "{} [{} {}] {}\n{findings}",
            result.outcome.as_str().to_ascii_uppercase(),
            check.level().as_str(),
            result.section,
            check.title()
        );
        for exchange in &result.exchanges {
            let _ = write!(
                system_out,
                "\nsent: {}\ngot:  {}",
                sent_line(exchange),
                got_line(exchange)
            );
        }
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            escape(&system_out)
        );
        let _ = writeln!(out, "    </testcase>");
    }
    let _ = writeln!(out, "  </testsuite>");
    let _ = writeln!(out, "</testsuites>");
    out
}

/// Text for an XML attribute or element: the five special characters escaped, and the
/// control characters XML 1.0 forbids dropped (an endpoint's body may hold anything).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => out.push(' '),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_drops_forbidden_characters() {
        assert_eq!(
            escape("a<b>&\"'\u{0}\u{1b}c\nd"),
            "a&lt;b&gt;&amp;&quot;&apos;c&#10;d"
        );
    }
}
