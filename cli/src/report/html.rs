//! The HTML report: one self-contained file (inline CSS, no script, nothing fetched), with
//! the summary at the top and every check below it — level, result, findings, the
//! exchanges (the same redacted lines as the other formats) and a link to its section of
//! the protocol document. Every value is escaped by `maud`.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::{got_line, one_line, sent_line, verdict};
use crate::check::catalog::PROTOCOL_URL;
use crate::check::{CheckResult, Outcome, Report};

const CSS: &str = "\
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em;color:#1d1f21}\
h1{font-size:1.35em;margin:0 0 .3em}code,pre{font:12px/1.35 ui-monospace,monospace}\
pre{margin:.3em 0;padding:.4em .6em;background:#f5f5f5;white-space:pre-wrap;word-break:break-all}\
.meta{color:#555}#summary{margin:1em 0;padding:.8em 1em;border-radius:6px;border:1px solid #ccc}\
#summary.failed{background:#fdecea;border-color:#e0a3a3}#summary.ok{background:#eaf6ec;border-color:#9fd0a8}\
#verdict{font-weight:700;font-size:1.1em}.counts span{margin-right:1.2em}\
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #e3e3e3;padding:.35em .5em;text-align:left;vertical-align:top}\
details{margin:.2em 0}summary{cursor:pointer}\
.outcome{display:inline-block;min-width:7em;font-weight:700;text-transform:uppercase}\
.pass{color:#17692b}.fail,.inconclusive{color:#a61b1b}.warn{color:#8a5a00}.info,.skip{color:#555}";

/// `report` as one HTML document.
pub fn render(report: &Report) -> String {
    let summary = report.summary();
    let failed = report.exit_code() != 0;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "livefyre check " (one_line(&report.template)) }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "livefyre check " code #template { (one_line(&report.template)) } }
                p.meta {
                    "network " code { (one_line(&report.network)) }
                    " · user " code { (report.user) }
                    " · unknown user " code { (report.unknown_user) }
                    @if report.strict { " · strict" }
                    " · livefyre " (env!("CARGO_PKG_VERSION"))
                }
                section #summary class=(if failed { "failed" } else { "ok" }) {
                    div #verdict { (verdict(report)) " (exit " (report.exit_code()) ")" }
                    div.counts {
                        span { (summary.total) " checks" }
                        span.pass { (summary.pass) " pass" }
                        span.fail { (summary.fail) " fail" }
                        span.warn { (summary.warn) " warn" }
                        span.info { (summary.info) " info" }
                        span.skip { (summary.skip) " skip" }
                        span.inconclusive { (summary.inconclusive) " inconclusive" }
                    }
                }
                table #checks {
                    tr { th { "result" } th { "check" } }
                    @for result in &report.checks {
                        (check_row(report, result))
                    }
                }
            }
        }
    };
    let mut text = page.into_string();
    text.push('\n');
    text
}

/// One check: a row whose details are open when it fails the run.
fn check_row(report: &Report, result: &CheckResult) -> Markup {
    let check = result.check;
    let outcome = result.outcome.as_str();
    let link = format!("{PROTOCOL_URL}#{}", check.anchor());
    html! {
        tr.check id=(check.id()) data-outcome=(outcome) {
            td { span class={ "outcome " (outcome) } { (outcome) } }
            td {
                details open[report.fails_run(result)] {
                    summary {
                        code.id { (check.id()) } " "
                        span.level { "[" (check.level().as_str()) "]" } " "
                        (check.title())
                    }
                    p.rule {
                        "Rule: " a.section href=(link) { (result.section) }
                    }
                    ul.findings {
                        @for finding in &result.findings {
                            li class=(finding.outcome.as_str()) {
                                (finding.outcome) ": " (one_line(&finding.message))
                            }
                        }
                    }
                    @if result.outcome != Outcome::Skip {
                        @for exchange in &result.exchanges {
                            pre.exchange {
                                "sent: " (one_line(&sent_line(exchange))) "\n"
                                "got:  " (one_line(&got_line(exchange)))
                            }
                        }
                    }
                }
            }
        }
    }
}
