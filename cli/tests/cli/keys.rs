//! Where keys come from: a key file is capped and its permissions looked at, and a real key
//! is never used for a network nobody named.

use crate::common;

use std::os::unix::fs::PermissionsExt as _;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Runs `livefyre ARGS` with `env`; kills it after `limit` (a run that should have ended
/// at once: the emulator serving anyway, or a key file read without end).
fn run_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> (Option<i32>, String) {
    let mut child = command(args, env)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read as _;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert!(!stderr.contains(KEY), "the key is in stderr:\n{stderr}");
    (code, stderr)
}

fn key_file(name: &str, contents: &str, mode: u32) -> TempFile {
    let file = TempFile::new(name, contents);
    std::fs::set_permissions(file.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    file
}

#[test]
fn a_real_key_without_a_network_is_a_usage_error() {
    let env = [("LIVEFYRE_NETWORK_KEY", KEY)];
    let file = key_file("real-key", KEY, 0o600);
    let commands: [&[&str]; 4] = [
        &["ping", USER, "--api-url", "http://127.0.0.1:9"],
        &[
            "register",
            "http://127.0.0.1:9/pull?id={id}",
            "--api-url",
            "http://127.0.0.1:9",
        ],
        &["token", "system"],
        &["emulator", "--listen", "127.0.0.1:0"],
    ];
    for args in commands {
        let (code, stderr) = run_within(args, &env, Duration::from_secs(20));
        assert_eq!(code, Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("but no network"), "{args:?}: {stderr}");

        let mut with_file = args.to_vec();
        with_file.extend(["--key-file", file.path()]);
        let (code, stderr) = run_within(&with_file, &[], Duration::from_secs(20));
        assert_eq!(code, Some(2), "{with_file:?}: {stderr}");
        assert!(stderr.contains("--key-file"), "{with_file:?}: {stderr}");
    }
    // The public demo key, or none, still defaults to the demo network.
    let run = livefyre_env(&["token", "system"], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = livefyre_env(
        &["token", "system"],
        &[("LIVEFYRE_NETWORK_KEY", "tower-livefyre-demo-network-key")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    // And a named network takes the real key.
    let run = livefyre(&["token", "system", "--network", NETWORK]);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn a_key_file_is_capped() {
    let big = key_file("big-key", &"k".repeat(1024 * 1024), 0o600);
    for file in [big.path(), "/dev/zero"] {
        let args = ["token", "system", "--network", NETWORK, "--key-file", file];
        let (code, stderr) = run_within(&args, &[], Duration::from_secs(20));
        assert_eq!(code, Some(2), "{file}: {stderr}");
        assert!(stderr.contains("larger than 4 KiB"), "{file}: {stderr}");
    }
}

/// `livefyre token system --network NETWORK --key-file FILE` with no other key.
fn token_with_key_file(file: &TempFile) -> Run {
    livefyre_env(
        &[
            "token",
            "system",
            "--network",
            NETWORK,
            "--key-file",
            file.path(),
        ],
        &[],
    )
}

#[test]
fn a_key_file_others_can_read_gets_a_warning() {
    let shared = key_file("shared-key", KEY, 0o644);
    let run = token_with_key_file(&shared);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("WARNING") && run.stderr.contains("accessible to group or others"),
        "{}",
        run.stderr
    );

    let private = key_file("private-key", KEY, 0o600);
    let run = token_with_key_file(&private);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("WARNING"), "{}", run.stderr);
}
