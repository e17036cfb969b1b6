//! The JSON report: the whole run as one object.

use serde::Serialize;

use crate::check::{CheckResult, Report, Summary};

#[derive(Serialize)]
struct JsonReport<'a> {
    tool: &'static str,
    version: &'static str,
    template: &'a str,
    network: &'a str,
    user: &'a str,
    unknown_user: &'a str,
    strict: bool,
    exit_code: u8,
    summary: Summary,
    checks: &'a [CheckResult],
}

/// `report` as one pretty-printed JSON object.
pub fn render(report: &Report) -> String {
    let json = JsonReport {
        tool: "livefyre check",
        version: env!("CARGO_PKG_VERSION"),
        template: &report.template,
        network: &report.network,
        user: &report.user,
        unknown_user: &report.unknown_user,
        strict: report.strict,
        exit_code: report.exit_code(),
        summary: report.summary(),
        checks: &report.checks,
    };
    // Plain data: serializing it cannot fail.
    let mut text = serde_json::to_string_pretty(&json).unwrap_or_default();
    text.push('\n');
    text
}
