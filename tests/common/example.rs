//! Runs a compiled example as a child process (cargo test builds examples into
//! `target/<profile>/examples/`), waits for its `listening on http://ADDR` line, and kills it
//! when dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running example; killed and reaped on drop.
pub struct Example {
    pub child: Child,
    pub addr: SocketAddr,
    /// The stdout lines after `listening on`, as they come.
    pub stdout: mpsc::Receiver<String>,
    /// The stdout lines up to and including `listening on`.
    pub banner: Vec<String>,
}

/// The path of the compiled example `name`.
pub fn example_path(name: &str) -> PathBuf {
    // The test binary lives in target/<profile>/deps/.
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --all-features`, which builds the examples",
        path.display()
    );
    path
}

impl Example {
    /// Starts example `name` on `127.0.0.1:0` with `env`, and waits for it to listen.
    pub fn start(name: &str, env: &[(&str, &str)]) -> Example {
        let mut command = Command::new(example_path(name));
        command
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (lines, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let mut banner = Vec::new();
        let addr = loop {
            let Ok(line) = receiver.recv_timeout(Duration::from_secs(60)) else {
                let _ = child.kill();
                panic!("example {name} did not print `listening on`; it printed {banner:?}");
            };
            banner.push(line.clone());
            if let Some(addr) = line.strip_prefix("listening on http://") {
                break addr.parse().unwrap();
            }
        };
        Example {
            child,
            addr,
            stdout: receiver,
            banner,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
