//! The machine-readable reports are valid for their consumers: JSON parses, JUnit parses with
//! a real XML parser, TAP reads in Perl's `prove`, HTML is one self-contained page.

use crate::common;

use std::process::Command;

use common::endpoint::{Endpoint, Flaw};
use common::*;
use quick_xml::Reader;
use quick_xml::events::Event;

fn report(endpoint: &Endpoint, format: &str, extra: &[&str]) -> Run {
    report_with_key(endpoint, format, extra, KEY)
}

fn report_with_key(endpoint: &Endpoint, format: &str, extra: &[&str], key: &str) -> Run {
    check_endpoint(endpoint, format, extra, &[("LIVEFYRE_NETWORK_KEY", key)])
}

/// The JUnit test cases as (name, has failure, has skipped), read with quick-xml.
fn junit_cases(xml: &str) -> Vec<(String, bool, bool)> {
    let mut reader = Reader::from_str(xml);
    let mut cases: Vec<(String, bool, bool)> = Vec::new();
    let mut roots = 0;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|error| panic!("invalid XML: {error}\n{xml}"))
        {
            Event::Start(element) | Event::Empty(element) => match element.name().as_ref() {
                b"testsuites" => roots += 1,
                b"testcase" => {
                    let name = element
                        .try_get_attribute("name")
                        .unwrap()
                        .unwrap()
                        .unescape_value()
                        .unwrap()
                        .into_owned();
                    cases.push((name, false, false));
                }
                b"failure" => cases.last_mut().unwrap().1 = true,
                b"skipped" => cases.last_mut().unwrap().2 = true,
                _ => {}
            },
            Event::Text(text) => {
                // Every text node must decode (entities well-formed).
                text.decode().unwrap();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(roots, 1);
    cases
}

#[test]
fn json_report_parses_and_holds_every_check() {
    let endpoint = Endpoint::flawed(Flaw::ForbiddenWithBody);
    let run = report(&endpoint, "json", &[]);
    assert_eq!(run.code, 1);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["summary"]["total"], 26);
    assert_eq!(report["summary"]["fail"], 11);
    let first = &report["checks"][0];
    assert_eq!(first["id"], "pull/token/missing");
    assert_eq!(first["level"], "MUST");
    assert_eq!(first["outcome"], "fail");
    assert_eq!(first["exchanges"][0]["received"]["status"], 403);
    assert_eq!(
        first["exchanges"][0]["received"]["body"],
        "Forbidden: bad lftoken"
    );
}

#[test]
fn junit_report_parses_with_a_real_xml_parser() {
    let endpoint = Endpoint::flawed(Flaw::BadTagsThreeWebsites);
    let run = report(&endpoint, "junit", &[]);
    assert_eq!(run.code, 1);
    let cases = junit_cases(&run.stdout);
    assert_eq!(cases.len(), 26);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|(_, failure, _)| *failure)
        .map(|(name, _, _)| name.as_str())
        .collect();
    assert_eq!(failed, ["pull/document/tags", "pull/document/websites"]);

    // A body full of markup and control characters still makes valid XML.
    let endpoint = Endpoint::flawed(Flaw::Unauthorized);
    let run = report(&endpoint, "junit", &[]);
    assert_eq!(
        junit_cases(&run.stdout)
            .iter()
            .filter(|case| case.1)
            .count(),
        11
    );
}

#[test]
fn junit_marks_skips_and_strict_warnings() {
    let endpoint = Endpoint::library();
    // With the wrong key even the valid pull is refused: nothing to read a document from.
    let run = report_with_key(&endpoint, "junit", &["--only", "pull/found"], "wrong key");
    let cases = junit_cases(&run.stdout);
    assert_eq!(cases[0], ("pull/found/status".to_owned(), true, false));
    assert!(
        cases[1..]
            .iter()
            .all(|(_, failure, skipped)| !failure && *skipped)
    );

    let endpoint = Endpoint::flawed(Flaw::BooleansAsStrings);
    let lenient = junit_cases(&report(&endpoint, "junit", &[]).stdout);
    assert!(lenient.iter().all(|case| !case.1));
    let strict = junit_cases(&report(&endpoint, "junit", &["--strict"]).stdout);
    assert_eq!(strict.iter().filter(|case| case.1).count(), 2);
}

/// Runs Perl's `prove` on a TAP stream: (exit success, combined output).
fn prove(tap: &str) -> (bool, String) {
    let file = TempFile::new("report.tap", tap);
    let output = Command::new("prove")
        .args(["-v", "-e", "cat", file.path()])
        .output()
        .expect("Perl's `prove` is needed for this test (Debian: package perl)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn tap_report_reads_in_prove() {
    let endpoint = Endpoint::library();
    let run = report(&endpoint, "tap", &[]);
    assert_eq!(run.code, 0);
    let (passed, output) = prove(&run.stdout);
    assert!(passed, "{output}");
    assert!(output.contains("All tests successful"), "{output}");
    assert!(output.contains("Tests=26"), "{output}");

    let endpoint = Endpoint::flawed(Flaw::AcceptsExpired);
    let run = report(&endpoint, "tap", &[]);
    assert_eq!(run.code, 1);
    let (passed, output) = prove(&run.stdout);
    assert!(!passed, "{output}");
    // pull/token/expired is test point 5.
    assert!(output.contains("Failed test:  5"), "{output}");
    assert!(output.contains("not ok 5 - pull/token/expired"), "{output}");

    // Skips are TAP skips, and warnings fail only under --strict.
    let endpoint = Endpoint::flawed(Flaw::BooleansAsStrings);
    let (passed, output) = prove(&report(&endpoint, "tap", &[]).stdout);
    assert!(passed, "{output}");
    let (passed, output) = prove(&report(&endpoint, "tap", &["--strict"]).stdout);
    assert!(!passed, "{output}");
    assert!(output.contains("Failed tests:  21-22"), "{output}");
    let endpoint = Endpoint::library();
    let run = report_with_key(&endpoint, "tap", &["--only", "pull/found"], "wrong key");
    let (passed, output) = prove(&run.stdout);
    assert!(!passed, "{output}");
    assert!(output.contains("Failed test:  1"), "{output}");
    assert!(output.contains("ok 2 - pull/found/json"), "{output}");
    assert!(output.contains("less 3 skipped subtests"), "{output}");
}

#[test]
fn human_report_spells_out_what_is_not_a_pass() {
    let endpoint = Endpoint::flawed(Flaw::BooleansAsStrings);
    let run = report(&endpoint, "human", &[]);
    assert_eq!(run.code, 0);
    let text = &run.stdout;
    assert!(
        text.contains("PASS  pull/token/missing  [MUST docs/protocol.md#pull-token-missing]"),
        "{text}"
    );
    assert!(
        text.contains(
            "WARN  pull/document/booleans  [MUST docs/protocol.md#pull-document-booleans]"
        ),
        "{text}"
    );
    assert!(
        text.contains("warn: `autofollow_conversations` is the string \"true\""),
        "{text}"
    );
    // The one pull both warnings read is shown once, token redacted.
    assert_eq!(text.matches("sent: GET ").count(), 1, "{text}");
    assert!(text.contains("&lftoken=<valid system token>"), "{text}");
    assert!(
        text.contains("26 checks: 24 pass, 0 fail, 2 warn, 0 info, 0 skip"),
        "{text}"
    );
    assert!(
        text.ends_with("OK: every MUST check passed (exit 0)\n"),
        "{text}"
    );

    let run = report(&endpoint, "human", &["--strict"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .ends_with("FAILED: a warning, under --strict (exit 1)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn html_report_of_a_broken_endpoint_has_the_summary_the_failed_check_and_its_rule() {
    let endpoint = Endpoint::flawed(Flaw::AcceptsExpired);
    let run = report(&endpoint, "html", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let html = &run.stdout;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    // Self-contained: no script, nothing loaded from elsewhere.
    for outside in ["<script", "<link", "src=", "@import"] {
        assert!(!html.contains(outside), "{outside}: {html}");
    }
    // The summary comes before the checks.
    let summary = html.find(r#"id="summary""#).unwrap();
    assert!(summary < html.find(r#"id="checks""#).unwrap());
    assert!(
        html.contains("FAILED: a MUST check failed (exit 1)"),
        "{html}"
    );
    assert!(html.contains("26 checks"), "{html}");
    assert!(html.contains("1 fail"), "{html}");
    // The failed check: its level, its result, open, what was sent, and its rule's link.
    let row = html
        .split(r#"<tr class="check""#)
        .find(|row| row.contains(r#"id="pull/token/expired""#))
        .unwrap();
    assert!(row.contains(r#"data-outcome="fail""#), "{row}");
    assert!(row.contains("<details open>"), "{row}");
    assert!(row.contains("[MUST]"), "{row}");
    assert!(row.contains("sent: GET http://"), "{row}");
    assert!(
        row.contains(
            r#"href="https://github.com/tower-livefyre/tower-livefyre/blob/main/docs/protocol.md#pull-token-expired">docs/protocol.md#pull-token-expired</a>"#
        ),
        "{row}"
    );
    // Every check links its section; what the endpoint sent is escaped.
    assert_eq!(html.matches(r#"class="section""#).count(), 26, "{html}");
    assert!(!html.contains("<system token"), "{html}");
    assert!(
        html.contains("&lt;system token expired a day ago&gt;"),
        "{html}"
    );
}
