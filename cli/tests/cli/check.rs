//! `livefyre check` against loopback endpoints: the library's own, and hand-written ones
//! each broken in one way, which must be flagged by exactly the expected check ids.

use crate::common;

use common::endpoint::{Endpoint, Flaw};
use common::*;
use serde_json::Value;

const ALL_TOKEN_CHECKS: &[&str] = &[
    "pull/token/missing",
    "pull/token/empty",
    "pull/token/bad-signature",
    "pull/token/other-key",
    "pull/token/expired",
    "pull/token/wrong-domain",
    "pull/token/not-system",
    "pull/token/alg-none",
    "pull/token/alg-hs512",
    "pull/token/duplicated",
    "pull/token/header-only",
];

/// Runs `livefyre check --format json` against `endpoint` and returns the exit code and the
/// report.
fn check(endpoint: &Endpoint, extra: &[&str]) -> (i32, Value) {
    let run = check_endpoint(endpoint, "json", extra, &[("LIVEFYRE_NETWORK_KEY", KEY)]);
    assert!(
        !run.stdout.contains("eyJ"),
        "a token is in the report:\n{}",
        run.stdout
    );
    let report: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("not JSON ({error}):\n{}\n{}", run.stdout, run.stderr));
    assert_eq!(report["exit_code"], run.code, "{}", run.stdout);
    (run.code, report)
}

/// (check id, outcome) pairs.
type Flagged = Vec<(String, String)>;

/// The ids of every check whose result is not `pass`, with that result.
fn flagged(report: &Value) -> Flagged {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["outcome"] != "pass")
        .map(|check| {
            (
                check["id"].as_str().unwrap().to_owned(),
                check["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn expect(ids: &[&str], outcome: &str) -> Flagged {
    ids.iter()
        .map(|id| ((*id).to_owned(), outcome.to_owned()))
        .collect()
}

#[test]
fn the_library_endpoint_passes_every_check() {
    let endpoint = Endpoint::library();
    let (code, report) = check(&endpoint, &[]);
    assert_eq!(flagged(&report), vec![], "{report:#}");
    assert_eq!(code, 0);
    assert_eq!(report["summary"]["total"], 26);
}

#[test]
fn a_hand_written_correct_endpoint_passes_every_check() {
    let endpoint = Endpoint::flawed(Flaw::None);
    let (code, report) = check(&endpoint, &[]);
    assert_eq!(flagged(&report), vec![], "{report:#}");
    assert_eq!(code, 0);
}

#[test]
fn each_broken_endpoint_is_flagged_by_exactly_its_check_ids() {
    let table: &[(Flaw, Flagged, i32)] = &[
        (Flaw::IgnoresToken, expect(ALL_TOKEN_CHECKS, "fail"), 1),
        (Flaw::ForbiddenWithBody, expect(ALL_TOKEN_CHECKS, "fail"), 1),
        (Flaw::Unauthorized, expect(ALL_TOKEN_CHECKS, "fail"), 1),
        (
            Flaw::AcceptsAlgNone,
            expect(&["pull/token/alg-none"], "fail"),
            1,
        ),
        (
            Flaw::AcceptsExpired,
            expect(&["pull/token/expired"], "fail"),
            1,
        ),
        (
            Flaw::AcceptsOtherDomain,
            expect(&["pull/token/wrong-domain"], "fail"),
            1,
        ),
        (Flaw::OtherUsersId, expect(&["pull/found/id"], "fail"), 1),
        (
            Flaw::BadTagsThreeWebsites,
            expect(&["pull/document/tags", "pull/document/websites"], "fail"),
            1,
        ),
        (
            Flaw::FirstNameForFirst,
            expect(&["pull/document/name"], "info"),
            0,
        ),
        (
            Flaw::BooleansAsStrings,
            expect(
                &["pull/document/display-rules", "pull/document/booleans"],
                "warn",
            ),
            0,
        ),
        (
            Flaw::EchoesToken,
            expect(&["pull/no-token-echo"], "fail"),
            1,
        ),
        (
            Flaw::ReadsAuthorizationHeader,
            expect(&["pull/token/header-only"], "fail"),
            1,
        ),
        (
            Flaw::TakesFirstOfDuplicates,
            expect(&["pull/token/duplicated"], "fail"),
            1,
        ),
        (
            Flaw::UnknownUserIs200,
            expect(&["pull/unknown/status"], "warn"),
            0,
        ),
    ];
    for (flaw, ids, exit) in table {
        let endpoint = Endpoint::flawed(*flaw);
        let (code, report) = check(&endpoint, &[]);
        assert_eq!(&flagged(&report), ids, "{flaw:?}: {report:#}");
        assert_eq!(code, *exit, "{flaw:?}");
    }
}

#[test]
fn findings_say_what_was_wrong() {
    let endpoint = Endpoint::flawed(Flaw::FirstNameForFirst);
    let (_, report) = check(&endpoint, &["--only", "pull/document/name"]);
    let message = &report["checks"][0]["findings"][0]["message"];
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("probably meant `name.first`"),
        "{message}"
    );

    let endpoint = Endpoint::flawed(Flaw::IgnoresToken);
    let (_, report) = check(&endpoint, &["--only", "pull/token/alg-none"]);
    let result = &report["checks"][0];
    assert_eq!(result["id"], "pull/token/alg-none");
    assert!(
        result["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("accepted this token")
    );
    let sent = result["exchanges"][0]["sent"]["url"].as_str().unwrap();
    assert!(
        sent.ends_with("&lftoken=<alg none, no signature>"),
        "{sent}"
    );
    assert_eq!(result["exchanges"][0]["received"]["status"], 200);

    // An echoed token is redacted in what the report shows.
    let endpoint = Endpoint::flawed(Flaw::EchoesToken);
    let (_, report) = check(&endpoint, &["--only", "pull/found/status"]);
    let headers = &report["checks"][0]["exchanges"][0]["received"]["headers"];
    assert!(
        headers
            .as_array()
            .unwrap()
            .contains(&serde_json::json!(["x-debug-lftoken", "<redacted token>"])),
        "{headers}"
    );
}

#[test]
fn strict_fails_on_warnings() {
    let endpoint = Endpoint::flawed(Flaw::BooleansAsStrings);
    let (code, _) = check(&endpoint, &["--strict"]);
    assert_eq!(code, 1);
    let endpoint = Endpoint::flawed(Flaw::FirstNameForFirst);
    let (code, _) = check(&endpoint, &["--strict"]);
    assert_eq!(code, 0, "info never fails a run");
}

#[test]
fn only_runs_the_checks_with_that_prefix() {
    let endpoint = Endpoint::flawed(Flaw::IgnoresToken);
    let (code, report) = check(&endpoint, &["--only", "pull/found"]);
    let ids: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| check["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "pull/found/status",
            "pull/found/json",
            "pull/found/id",
            "pull/found/display-name"
        ]
    );
    assert_eq!(code, 0);
}

#[test]
fn usage_errors_and_unreachable_endpoints_exit_2() {
    let endpoint = Endpoint::library();
    let template = endpoint.template();
    let base = [
        "check",
        template.as_str(),
        "--network",
        NETWORK,
        "--user",
        USER,
    ];

    // No key at all: fail closed.
    let run = livefyre_env(&base, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("LIVEFYRE_NETWORK_KEY"),
        "{}",
        run.stderr
    );

    // A key is never a flag.
    let mut with_flag = base.to_vec();
    with_flag.extend(["--key", KEY]);
    let run = livefyre(&with_flag);
    assert_eq!(run.code, 2);

    for (args, says) in [
        (
            vec![
                "check",
                "http://127.0.0.1:1/pull",
                "--network",
                NETWORK,
                "--user",
                USER,
            ],
            "{id}",
        ),
        (
            vec![
                "check",
                "ftp://x/{id}",
                "--network",
                NETWORK,
                "--user",
                USER,
            ],
            "http",
        ),
        (
            vec![
                "check",
                template.as_str(),
                "--network",
                NETWORK,
                "--user",
                "ann lee",
            ],
            "--user",
        ),
        (
            vec![
                "check",
                template.as_str(),
                "--network",
                NETWORK,
                "--user",
                USER,
                "--only",
                "nope",
            ],
            "--only",
        ),
        (
            vec![
                "check",
                template.as_str(),
                "--network",
                NETWORK,
                "--user",
                USER,
                "--format",
                "xml",
            ],
            "xml",
        ),
        (
            vec!["check", template.as_str(), "--network", NETWORK],
            "--user",
        ),
    ] {
        let run = livefyre(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{args:?}");
    }

    // Nothing listens on the port of a dropped endpoint.
    let gone = {
        let endpoint = Endpoint::library();
        endpoint.template()
    };
    let run = livefyre(&["check", &gone, "--network", NETWORK, "--user", USER]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
}

#[test]
fn the_key_file_is_read_and_never_printed() {
    let endpoint = Endpoint::library();
    let template = endpoint.template();
    let check_with = |key_file: &str| {
        livefyre_env(
            &[
                "check",
                &template,
                "--network",
                NETWORK,
                "--user",
                USER,
                "--key-file",
                key_file,
            ],
            &[],
        )
    };

    let file = TempFile::new("key", &format!("{KEY}\n"));
    let run = check_with(file.path());
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("OK: every MUST check passed"),
        "{}",
        run.stdout
    );

    let wrong = TempFile::new("wrong-key", "not the key");
    let run = check_with(wrong.path());
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("are --network and the key right?"),
        "{}",
        run.stdout
    );

    let empty = TempFile::new("empty-key", "\n");
    let run = check_with(empty.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("is empty"), "{}", run.stderr);

    let run = check_with("/nonexistent/livefyre-key");
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("cannot read key file"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_endpoint_that_never_answers_times_out_as_unreachable() {
    // Accepts connections (the kernel's backlog does) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let template = format!("http://{}/pull?id={{id}}", silent.local_addr().unwrap());
    let run = livefyre(&[
        "check",
        &template,
        "--network",
        NETWORK,
        "--user",
        USER,
        "--timeout",
        "0.3",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("no answer within"), "{}", run.stderr);

    for timeout in ["0", "-1", "nan", "soon"] {
        let run = livefyre(&[
            "check",
            &template,
            "--network",
            NETWORK,
            "--user",
            USER,
            "--timeout",
            timeout,
        ]);
        assert_eq!(run.code, 2, "--timeout {timeout}: {}", run.stderr);
    }
}

fn outcome_of(report: &Value, id: &str) -> String {
    result_of(report, id)["outcome"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn check_in(endpoint: &Endpoint, format: &str) -> Run {
    check_endpoint(endpoint, format, &[], &[("LIVEFYRE_NETWORK_KEY", KEY)])
}

#[test]
fn token_checks_are_inconclusive_when_the_valid_pull_fails() {
    let endpoint = Endpoint::flawed(Flaw::FailsAfterTheGate);
    let (code, report) = check(&endpoint, &[]);
    assert_eq!(code, 1, "inconclusive MUST checks fail the run");
    assert_eq!(outcome_of(&report, "pull/found/status"), "fail");
    for id in ALL_TOKEN_CHECKS {
        assert_eq!(outcome_of(&report, id), "inconclusive", "{id}: {report:#}");
        let result = result_of(&report, id);
        assert_eq!(result["result"], "inconclusive");
        let message = result["findings"][0]["message"].as_str().unwrap();
        assert!(
            message.contains("the valid token got 500, so the gate cannot be judged"),
            "{message}"
        );
    }
    assert_eq!(report["summary"]["inconclusive"], 11);
    assert_eq!(report["summary"]["fail"], 1);

    let human = check_in(&endpoint, "human");
    assert!(
        human.stdout.contains("INCONCLUSIVE  pull/token/expired"),
        "{}",
        human.stdout
    );
    let tap = check_in(&endpoint, "tap");
    assert!(
        tap.stdout
            .lines()
            .any(|line| line.starts_with("ok 5 - pull/token/expired")
                && line.contains("# SKIP inconclusive: the valid token got 500")),
        "{}",
        tap.stdout
    );
    let junit = check_in(&endpoint, "junit");
    assert!(
        junit
            .stdout
            .contains("<skipped message=\"inconclusive: the valid token got 500"),
        "{}",
        junit.stdout
    );
}

#[test]
fn one_oversized_answer_fails_its_check_and_the_run_goes_on() {
    // The valid pull's answer is 100 KiB: the found checks cannot read it, the token checks
    // cannot judge the gate, the rest runs.
    let endpoint = Endpoint::flawed(Flaw::HugeProfile);
    let (code, report) = check(&endpoint, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["summary"]["total"], 26);
    assert_eq!(outcome_of(&report, "pull/found/status"), "fail");
    let message = result_of(&report, "pull/found/status")["findings"][0]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains("answered 200, then reading the body failed")
            && message.contains("64 KiB"),
        "{message}"
    );
    assert_eq!(outcome_of(&report, "pull/token/expired"), "inconclusive");
    assert_eq!(outcome_of(&report, "pull/unknown/status"), "pass");

    // One token probe's answer is 100 KiB: that check alone fails.
    let endpoint = Endpoint::flawed(Flaw::HugeAnswerToExpired);
    let (code, report) = check(&endpoint, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        flagged(&report),
        expect(&["pull/token/expired"], "fail"),
        "{report:#}"
    );
}

#[test]
fn an_answer_hyper_refuses_is_recorded_not_fatal() {
    let endpoint = Endpoint::raw(b"HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n");
    let (code, report) = check(&endpoint, &[]);
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(report["summary"]["total"], 26);
    let status = &result_of(&report, "pull/found/status")["findings"][0]["message"];
    assert!(
        status.as_str().unwrap().contains("the exchange failed"),
        "{status}"
    );
}

#[test]
fn messages_say_what_was_accepted_and_sent() {
    let endpoint = Endpoint::flawed(Flaw::TakesFirstOfDuplicates);
    let (_, report) = check(&endpoint, &["--only", "pull/token/duplicated"]);
    let message = report["checks"][0]["findings"][0]["message"]
        .as_str()
        .unwrap();
    assert!(
        message.contains("the endpoint accepted two `lftoken` parameters"),
        "{message}"
    );
    assert!(!message.contains("accepted this token"), "{message}");

    let endpoint = Endpoint::flawed(Flaw::IgnoresToken);
    let (_, report) = check(&endpoint, &["--only", "pull/token/empty"]);
    let sent = report["checks"][0]["exchanges"][0]["sent"]["url"]
        .as_str()
        .unwrap();
    assert!(sent.ends_with("&lftoken="), "{sent}");
    assert_eq!(
        report["checks"][0]["section"],
        "docs/protocol.md#pull-token-empty"
    );
}
