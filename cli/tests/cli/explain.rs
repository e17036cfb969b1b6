//! Every check id has its section in `docs/protocol.md`, and `livefyre check --explain ID`
//! prints it.

use crate::common;

use common::endpoint::Endpoint;
use common::*;

/// `docs/protocol.md`, read from the repository.
fn protocol_md() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

#[test]
fn every_check_id_resolves_to_a_section_of_the_protocol_document() {
    let document = protocol_md();
    // The whole catalogue, as a run against a correct endpoint reports it.
    let endpoint = Endpoint::library();
    let run = check_endpoint(&endpoint, "json", &[], &[("LIVEFYRE_NETWORK_KEY", KEY)]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let checks = report["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 26);
    for check in checks {
        let id = check["id"].as_str().unwrap();
        let section = check["section"].as_str().unwrap();
        let anchor = section
            .strip_prefix("docs/protocol.md#")
            .unwrap_or_else(|| panic!("{id}: {section}"));
        let mark = format!("<a id=\"{anchor}\"></a>");
        let heading = document
            .lines()
            .find(|line| line.contains(&mark))
            .unwrap_or_else(|| panic!("{id}: no anchor {anchor} in docs/protocol.md"));
        assert!(
            heading.starts_with("### ") && heading.contains(id),
            "{heading}"
        );

        let explained = livefyre(&["check", "--explain", id]);
        assert_eq!(explained.code, 0, "{id}: {}", explained.stderr);
        assert!(explained.stdout.contains(section), "{}", explained.stdout);
    }
}

#[test]
fn explain_prints_the_rule_and_its_section() {
    let run = livefyre_env(&["check", "--explain", "pull/token/expired"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = &run.stdout;
    assert!(
        text.starts_with("pull/token/expired [MUST docs/protocol.md#pull-token-expired]"),
        "{text}"
    );
    assert!(
        text.contains("`expires` passed a day ago gets 403"),
        "{text}"
    );
    // The section ends where the next check's begins.
    assert!(!text.contains("pull/token/wrong-domain"), "{text}");
    // The installed binary carries the document: what it prints is the repository's text.
    let document = protocol_md();
    let body = text.lines().skip(3).collect::<Vec<_>>().join("\n");
    assert!(document.contains(body.trim()), "{body}");

    let run = livefyre_env(&["check", "--explain", "pull/token/nope"], &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("no check has this id"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("pull/token/expired"), "{}", run.stderr);
}
