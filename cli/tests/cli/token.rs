//! `livefyre token`: built tokens validate with the library; `inspect` reads the sample
//! token from Livefyre's docs and says it expired.

use crate::common;

use common::*;

/// The sample token of Livefyre's library docs (`buildLivefyreToken`), signed with `testkeytest`.
const SAMPLE: &str = "eyJhbGciOiJIUzI1NiJ9.eyJkb21haW4iOiJ0ZXN0LmZ5cmUuY29tIiwidXNlcl9pZCI6InN5c3RlbSIsImRpc3BsYXlfbmFtZSI6InN5c3RlbSIsImV4cGlyZXMiOjEzOTY2NTUwODN9.33GuJF_ou2O6CCV22Y3PlLUgP2Igy9vAXfmLONkt-Yo";

#[test]
fn inspect_shows_the_sample_tokens_claims_and_that_it_expired() {
    let run = livefyre_env(
        &["token", "inspect", SAMPLE],
        &[("LIVEFYRE_NETWORK_KEY", "testkeytest")],
    );
    assert_eq!(run.code, 1, "an expired token is not valid: {}", run.stdout);
    for line in [
        r#""alg": "HS256""#,
        r#""domain": "test.fyre.com""#,
        r#""user_id": "system""#,
        r#""display_name": "system""#,
        "expires: 1396655083 (Fri, 04 Apr 2014 23:44:43 GMT): EXPIRED",
        "verdict: invalid: expired (signature, domain test.fyre.com and user `system` are right)",
    ] {
        assert!(
            run.stdout.contains(line),
            "{line:?} missing:\n{}",
            run.stdout
        );
    }
    assert!(!run.stdout.contains("33GuJF"), "the signature is shown");
}

#[test]
fn inspect_without_a_key_shows_claims_and_judges_nothing() {
    let run = livefyre_env(&["token", "inspect", SAMPLE], &[]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("EXPIRED"), "{}", run.stdout);
    assert!(
        run.stdout.contains("verdict: not checked"),
        "{}",
        run.stdout
    );
}

#[test]
fn inspect_names_a_wrong_key_and_a_wrong_network() {
    let run = livefyre_env(
        &["token", "inspect", SAMPLE],
        &[("LIVEFYRE_NETWORK_KEY", "another key")],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains("signature does not match"),
        "{}",
        run.stdout
    );

    let run = livefyre_env(
        &["token", "inspect", SAMPLE, "--network", "labs.fyre.co"],
        &[("LIVEFYRE_NETWORK_KEY", "testkeytest")],
    );
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("another network"), "{}", run.stdout);

    let run = livefyre(&["token", "inspect", "not.a.token"]);
    assert!(run.stdout.contains("header: (unreadable"), "{}", run.stdout);
}

#[test]
fn built_tokens_validate_with_the_library() {
    let network = common::endpoint::network();
    let run = livefyre(&["token", "system", "--network", NETWORK, "--ttl", "600"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let claims = network.validate_livefyre_token(run.stdout.trim()).unwrap();
    assert_eq!(claims.user_id(), "system");
    let left = claims.expires()
        - std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
    assert!((0.0..=600.0).contains(&left), "{left}");

    let run = livefyre(&[
        "token",
        "user",
        "ann.lee",
        "--display-name",
        "Ann Lee",
        "--network",
        NETWORK,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let token = run.stdout.trim();
    // A user token is not a system token, but its signature and claims are right.
    assert_eq!(
        network.validate_livefyre_token(token),
        Err(tower_livefyre::TokenError::NotSystemUser)
    );
    let run = livefyre(&["token", "inspect", token]);
    assert!(
        run.stdout.contains(r#""display_name": "Ann Lee""#),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("not a system token"), "{}", run.stdout);

    let run = livefyre(&["token", "user", "ann lee", "--network", NETWORK]);
    assert_eq!(run.code, 2);
}

/// `livefyre token inspect -` with `token` on stdin.
fn inspect_stdin(token: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    use std::io::Write as _;
    let mut child = command(&["token", "inspect", "-"], env)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

#[test]
fn inspect_reads_the_token_from_stdin() {
    let (code, stdout, _) = inspect_stdin(
        &format!("{SAMPLE}\n"),
        &[("LIVEFYRE_NETWORK_KEY", "testkeytest")],
    );
    assert_eq!(code, 1, "{stdout}");
    for line in [
        r#""domain": "test.fyre.com""#,
        "EXPIRED",
        "verdict: invalid: expired (signature, domain test.fyre.com and user `system` are right)",
    ] {
        assert!(stdout.contains(line), "{line:?} missing:\n{stdout}");
    }

    let (code, _, stderr) = inspect_stdin("", &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no token on stdin"), "{stderr}");

    let help = livefyre(&["token", "inspect", "--help"]);
    assert!(help.stdout.contains("stdin"), "{}", help.stdout);
}
