//! What the CLI tests share: running `livefyre`, and loopback pull endpoints, correct or
//! broken on purpose.
#![allow(dead_code)] // each test file uses a different part

pub mod endpoint;
pub mod process;

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The network every test endpoint serves.
pub const NETWORK: &str = "cli-test.fyre.co";
/// Its key: distinctive, so that a test can prove no output ever contains it.
pub const KEY: &str = "cli-test-KEY-do-not-print-Zq8Lm3";
/// The user the endpoints know.
pub const USER: &str = "ann.lee";

/// What a `livefyre` run printed, and how it ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// `livefyre ARGS` with `LIVEFYRE_NETWORK_KEY=KEY` and nothing else from the environment's
/// Livefyre variables. Every run is checked never to print the key.
pub fn livefyre(args: &[&str]) -> Run {
    livefyre_env(args, &[("LIVEFYRE_NETWORK_KEY", KEY)])
}

/// `livefyre ARGS` with exactly `env` for the Livefyre variables.
pub fn livefyre_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output = command(args, env).output().expect("cannot run livefyre");
    let run = finish(output);
    // Only `token system|user` print a token: that is what they are for.
    let prints_tokens = args.first() == Some(&"token") && args.get(1) != Some(&"inspect");
    if !prints_tokens {
        // Every token starts with the base64url of `{"`.
        for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
            assert!(!text.contains("eyJ"), "a token is in {name}:\n{text}");
        }
    }
    run
}

/// `livefyre check` against `endpoint` for the known user, in `format`, with `extra`
/// arguments and exactly `env` for the Livefyre variables.
pub fn check_endpoint(
    endpoint: &endpoint::Endpoint,
    format: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Run {
    let template = endpoint.template();
    let mut args = vec![
        "check",
        template.as_str(),
        "--network",
        NETWORK,
        "--user",
        USER,
        "--format",
        format,
    ];
    args.extend_from_slice(extra);
    livefyre_env(&args, env)
}

/// The result of check `id` in a JSON report.
pub fn result_of<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|check| check["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {report:#}"))
}

/// The command, not started.
pub fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_livefyre"));
    for name in [
        "LIVEFYRE_NETWORK",
        "LIVEFYRE_NETWORK_KEY",
        "LIVEFYRE_API_URL",
        "LISTEN_ADDR",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    command
}

fn finish(output: Output) -> Run {
    let run = Run {
        code: output
            .status
            .code()
            .expect("livefyre was killed by a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is not UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is not UTF-8"),
    };
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains(KEY), "the key is in {name}:\n{text}");
    }
    run
}

/// A file under the temp dir, removed on drop.
pub struct TempFile(pub PathBuf);

impl TempFile {
    pub fn new(name: &str, contents: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let path =
            std::env::temp_dir().join(format!("livefyre-cli-{}-{n}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
