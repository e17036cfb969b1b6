//! The examples fail closed: the public demo key serves the demo network only. Any other
//! network without `LIVEFYRE_NETWORK_KEY` (unset or misspelled), or with the public demo key,
//! is `error: …` on stderr and exit status 1, before anything listens.

use crate::common;

use std::io::{BufRead, BufReader};

use common::scratch::Scratch;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Generous, for a loaded CI machine: a correct example exits before opening anything.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The public demo key of `examples/support` (a test fixture: it must never serve labs).
const DEMO_KEY: &str = "tower-livefyre-demo-network-key";

/// A secret the examples must never echo, even in an error about a misspelled name.
const SECRET: &str = "misspelled-secret-value-0123";

/// What one run of an example showed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Every example, with the arguments it needs to get as far as reading its network.
fn examples() -> Vec<(&'static str, &'static [&'static str])> {
    let mut all: Vec<(&str, &[&str])> = vec![
        ("server", &[]),
        ("hyper", &[]),
        ("tonic_web", &[]),
        ("load_server", &["pull"]),
    ];
    if cfg!(feature = "emulator") {
        all.push(("emulator", &[]));
    }
    if cfg!(all(feature = "emulator", feature = "ping")) {
        all.push(("sequence", &[]));
    }
    all
}

/// Runs example `name` with no `LIVEFYRE*` variable but `env`, until it exits. An example
/// that prints `listening on` instead has failed open: it is killed and the test fails.
fn run(name: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
    // A fresh empty working directory, so a server that wrongly starts creates nothing here.
    let dir = Scratch::new("fail-closed");
    let mut command = Command::new(common::example::example_path(name));
    for (var, _) in std::env::vars_os() {
        if var
            .to_string_lossy()
            .to_ascii_uppercase()
            .starts_with("LIVEFYRE")
        {
            command.env_remove(var);
        }
    }
    let mut child = command
        .args(args)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env("EMULATOR_ADDR", "127.0.0.1:0")
        .env("DATABASE_URL", "sqlite://users.db?mode=rwc")
        .env_remove("RUST_LOG")
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run example {name}: {error}"));

    // stdout line by line (None at EOF, i.e. at exit), so `listening on` is seen at once.
    let (lines_tx, lines) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = lines_tx.send(Some(line));
        }
        let _ = lines_tx.send(None);
    });
    let stderr_reader = common::example::read_to_end(child.stderr.take().unwrap());

    let deadline = Instant::now() + TIMEOUT;
    let mut stdout = String::new();
    let failed_open = loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(Some(line)) => {
                stdout.push_str(&line);
                stdout.push('\n');
                if line.starts_with("listening on") {
                    break true;
                }
            }
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    if failed_open {
        let _ = child.kill();
    }
    let status = child.wait().unwrap();
    stdout_reader.join().unwrap();
    stdout.extend(lines.try_iter().flatten().map(|line| line + "\n"));
    let stderr = stderr_reader.join().unwrap();
    drop(dir);
    assert!(
        !failed_open,
        "example {name} with {env:?} did not exit: it started.\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    Run {
        status,
        stdout,
        stderr,
    }
}

/// Exit 1, `error: …` naming `needle` on stderr, no panic, nothing served, no secret shown.
fn assert_refused(name: &str, env: &[(&str, &str)], run: &Run, needle: &str) {
    let Run {
        status,
        stdout,
        stderr,
    } = run;
    assert_eq!(status.code(), Some(1), "{name} {env:?}: {stderr}");
    let error = stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("{name} {env:?}: no `error:` line in\n{stderr}"));
    assert!(error.contains(needle), "{name} {env:?}: {error}");
    assert!(!stderr.contains("panicked"), "{name} {env:?}: {stderr}");
    assert!(!stdout.contains("listening on"), "{name} {env:?}: {stdout}");
    for secret in [SECRET, DEMO_KEY] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{name} {env:?} shows a key:\n{stdout}{stderr}"
        );
    }
}

#[test]
fn a_real_network_without_its_key_is_an_error_in_every_example() {
    let env = [("LIVEFYRE_NETWORK", "labs.fyre.co")];
    for (name, args) in examples() {
        let run = run(name, args, &env);
        assert_refused(name, &env, &run, "LIVEFYRE_NETWORK_KEY is not set");
        assert!(!run.stderr.contains("WARNING"), "{name}: {}", run.stderr);
    }
}

#[test]
fn a_misspelled_key_variable_counts_as_unset_and_is_named_not_shown() {
    let env = [
        ("LIVEFYRE_NETWORK", "labs.fyre.co"),
        ("LIVEFYRE_NETWORK_KY", SECRET),
    ];
    for (name, args) in examples() {
        let run = run(name, args, &env);
        assert_refused(name, &env, &run, "LIVEFYRE_NETWORK_KEY is not set");
        assert!(
            run.stderr.contains("LIVEFYRE_NETWORK_KY"),
            "{name}: the misspelled name helps: {}",
            run.stderr
        );
    }
}

#[test]
fn the_public_demo_key_never_serves_another_network() {
    let env = [
        ("LIVEFYRE_NETWORK", "labs.fyre.co"),
        ("LIVEFYRE_NETWORK_KEY", DEMO_KEY),
    ];
    for (name, args) in examples() {
        let run = run(name, args, &env);
        assert_refused(name, &env, &run, "public demo key");
    }
}

#[test]
#[cfg(feature = "emulator")]
fn the_emulator_example_never_serves_the_demo_key_off_loopback() {
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let env = [("LISTEN_ADDR", listen)];
        let run = run("emulator", &[], &env);
        assert_refused("emulator", &env, &run, "public demo key");
        assert!(run.stderr.contains("loopback"), "{}", run.stderr);
    }
}
