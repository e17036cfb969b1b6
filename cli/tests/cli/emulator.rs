//! `livefyre emulator`, `livefyre register` and `livefyre ping` together: the CLI's emulator
//! pulls from a loopback pull endpoint after the CLI registered it and pinged.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::endpoint::Endpoint;
use common::process::{Listening, get, wait_for};
use common::*;

fn emulator() -> Listening {
    let mut command = command(
        &["emulator"],
        &[
            ("LIVEFYRE_NETWORK", NETWORK),
            ("LIVEFYRE_NETWORK_KEY", KEY),
            ("LISTEN_ADDR", "127.0.0.1:0"),
        ],
    );
    command.stdin(std::process::Stdio::null());
    Listening::start(command)
}

#[test]
fn register_and_ping_make_the_emulator_pull_the_profile() {
    let emulator = emulator();
    let endpoint = Endpoint::library();
    let api = emulator.url();

    let run = livefyre(&[
        "register",
        &endpoint.template(),
        "--network",
        NETWORK,
        "--api-url",
        &api,
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("registered "), "{}", run.stdout);

    let (status, _) = get(&emulator.addr, "/_emulator/profiles/ann.lee");
    assert_eq!(status, 404, "nothing pulled before the ping");

    let run = livefyre(&["ping", USER, "--network", NETWORK, "--api-url", &api]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout, "ann.lee: pinged\n");
    let (status, pings) = get(&emulator.addr, "/_emulator/pings?id=ann.lee");
    assert_eq!(status, 200);
    let pings: serde_json::Value = serde_json::from_str(&pings).unwrap();
    assert_eq!(pings.as_array().unwrap().len(), 1, "{pings}");
    assert_eq!(pings[0]["answer"], 200, "{pings}");

    let profile = wait_for("the emulator's pull", Duration::from_secs(30), || {
        let (status, body) = get(&emulator.addr, "/_emulator/profiles/ann.lee");
        (status == 200).then_some(body)
    });
    let profile: serde_json::Value = serde_json::from_str(&profile).unwrap();
    assert_eq!(profile["display_name"], "Ann Lee");
}

#[test]
fn refused_pings_and_registrations_fail() {
    let emulator = emulator();
    let api = emulator.url();
    let wrong_key = [("LIVEFYRE_NETWORK_KEY", "not the key")];

    let run = livefyre_env(
        &["ping", USER, "bob", "--network", NETWORK, "--api-url", &api],
        &wrong_key,
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("ann.lee: failed"), "{}", run.stdout);
    assert!(run.stdout.contains("bob: failed"), "{}", run.stdout);
    assert!(run.stderr.contains("2 ping(s) failed"), "{}", run.stderr);
    let (_, pings) = get(&emulator.addr, "/_emulator/pings");
    let pings: serde_json::Value = serde_json::from_str(&pings).unwrap();
    let answers: Vec<&serde_json::Value> = pings
        .as_array()
        .unwrap()
        .iter()
        .map(|ping| &ping["answer"])
        .collect();
    assert_eq!(answers, [403, 403], "{pings}");

    let run = livefyre_env(
        &[
            "register",
            "https://example.com/pull?id={id}",
            "--network",
            NETWORK,
            "--api-url",
            &api,
        ],
        &wrong_key,
    );
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);

    let run = livefyre(&[
        "register",
        "https://example.com/pull",
        "--network",
        NETWORK,
        "--api-url",
        &api,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("{id}"), "{}", run.stderr);

    // No key for a network that is not the demo network: refused before anything is sent.
    let run = livefyre_env(
        &["ping", USER, "--network", NETWORK, "--api-url", &api],
        &[],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let run = livefyre_env(
        &["ping", USER, "--network", NETWORK, "--api-url", &api],
        &[("LIVEFYRE_NETWORK_KEY", "tower-livefyre-demo-network-key")],
    );
    assert_eq!(
        run.code, 2,
        "the demo key serves only demo.fyre.co: {}",
        run.stderr
    );

    // An API URL that is not a web URL: refused before anything is sent.
    let run = livefyre(&[
        "ping",
        USER,
        "--network",
        NETWORK,
        "--api-url",
        "ftp://x.example",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--api-url"), "{}", run.stderr);
}

/// `livefyre emulator ARGS` that must refuse to start: its run, or a failed test (and the
/// process killed) if it is still running after 30 s, that is, if it started serving.
fn refused(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut child = command(args, env)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`livefyre {}` did not refuse: it is serving",
                args.join(" ")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let run = Run {
        code: output.status.code().unwrap(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!run.stderr.contains(KEY) && !run.stdout.contains(KEY));
    run
}

#[test]
fn a_non_loopback_address_needs_the_flag_that_names_the_risk() {
    let real_key = [("LIVEFYRE_NETWORK", NETWORK), ("LIVEFYRE_NETWORK_KEY", KEY)];
    for listen in [
        vec!["emulator", "--listen", "0.0.0.0:0"],
        vec!["emulator", "--listen", "[::]:0"],
    ] {
        let run = refused(&listen, &real_key);
        assert_eq!(run.code, 2, "{listen:?}: {}{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("--allow-remote-unauthenticated")
                && run.stderr.contains("no authentication"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("listening on"), "{}", run.stdout);
    }
    // LISTEN_ADDR is held to the same rule.
    let run = refused(
        &["emulator"],
        &[
            ("LIVEFYRE_NETWORK", NETWORK),
            ("LIVEFYRE_NETWORK_KEY", KEY),
            ("LISTEN_ADDR", "0.0.0.0:0"),
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);

    // With the flag and a real key it starts, with a warning.
    let mut command = command(
        &[
            "emulator",
            "--listen",
            "0.0.0.0:0",
            "--allow-remote-unauthenticated",
        ],
        &real_key,
    );
    command.stdin(std::process::Stdio::null());
    let remote = Listening::start(command);
    let port = remote.addr.rsplit_once(':').unwrap().1;
    let (status, _) = get(&format!("127.0.0.1:{port}"), "/_emulator/pulls");
    assert_eq!(status, 200);
}

#[test]
fn the_demo_key_never_listens_off_loopback() {
    for env in [
        // No network, no key: the demo network with the public demo key.
        vec![],
        vec![
            ("LIVEFYRE_NETWORK", "demo.fyre.co"),
            ("LIVEFYRE_NETWORK_KEY", "tower-livefyre-demo-network-key"),
        ],
    ] {
        let run = refused(
            &[
                "emulator",
                "--listen",
                "0.0.0.0:0",
                "--allow-remote-unauthenticated",
            ],
            &env,
        );
        assert_eq!(run.code, 2, "{env:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("public demo key"), "{}", run.stderr);
        assert!(!run.stdout.contains("listening on"), "{}", run.stdout);
    }
}
