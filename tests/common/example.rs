//! Runs a compiled example as a child process (cargo test builds examples into
//! `target/<profile>/examples/`), waits for its `listening on http://ADDR` line, and kills it
//! when dropped or stopped.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A running example; killed and reaped on drop.
pub struct Example {
    pub child: Child,
    pub addr: SocketAddr,
    /// The admin listener's address, from an `admin on http://ADDR` banner line (the server
    /// example's).
    pub admin: Option<SocketAddr>,
    /// The stdout lines after `listening on`, as they come.
    pub stdout: mpsc::Receiver<String>,
    /// The stdout lines up to and including `listening on`.
    pub banner: Vec<String>,
    /// Every stdout line so far, whoever consumed it from `stdout`.
    all_stdout: Arc<Mutex<String>>,
    readers: Option<(JoinHandle<()>, JoinHandle<String>)>,
}

/// Everything an example printed, read to the end after it stopped.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// Reads `stream` to its end (the process closed it, usually by exiting) on a thread.
pub fn read_to_end(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stream.read_to_string(&mut all);
        all
    })
}

/// Waits up to `timeout` for `child` to exit, reading its stdout and stderr to their end
/// meanwhile (so a full pipe never blocks it); past the timeout it is killed and the test
/// fails. Both streams ending is the sign of the exit: no polling, no sleeping.
pub fn wait_with_output(mut child: Child, timeout: Duration) -> (ExitStatus, Output) {
    let (ended, streams) = mpsc::channel();
    let reader = |mut stream: Box<dyn Read + Send>, is_stdout: bool| {
        let ended = ended.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            let _ = ended.send((is_stdout, text));
        })
    };
    let readers = [
        reader(Box::new(child.stdout.take().expect("stdout piped")), true),
        reader(Box::new(child.stderr.take().expect("stderr piped")), false),
    ];
    let deadline = Instant::now() + timeout;
    let mut output = Output {
        stdout: String::new(),
        stderr: String::new(),
    };
    for _ in 0..2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match streams.recv_timeout(left) {
            Ok((true, text)) => output.stdout = text,
            Ok((false, text)) => output.stderr = text,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the example did not finish within {timeout:?}");
            }
        }
    }
    for reader in readers {
        reader.join().expect("output reader");
    }
    (child.wait().unwrap(), output)
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
            // The server example's admin listener and in-process emulator: never a fixed
            // port another test (or a developer's server) holds.
            .env("ADMIN_ADDR", "127.0.0.1:0")
            .env("EMULATOR_ADDR", "127.0.0.1:0")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let all_stdout = Arc::new(Mutex::new(String::new()));
        let all = Arc::clone(&all_stdout);
        let (lines, receiver) = mpsc::channel();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let mut all = all.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                drop(all);
                // The test may have stopped listening; the line is kept in `all` anyway.
                let _ = lines.send(line);
            }
        });
        let stderr_reader = read_to_end(child.stderr.take().unwrap());
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
        let admin = banner
            .iter()
            .find_map(|line| line.strip_prefix("admin on http://"))
            .map(|addr| addr.parse().unwrap());
        Example {
            child,
            addr,
            admin,
            stdout: receiver,
            banner,
            all_stdout,
            readers: Some((stdout_reader, stderr_reader)),
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// Kills the example and returns all it printed, both streams read to their end (the
    /// reader threads are joined, so nothing printed is still on its way).
    pub fn stop(mut self) -> Output {
        // A kill loses nothing: the examples print whole lines, and Rust's stdout flushes
        // each line as it is printed.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (stdout_reader, stderr_reader) = self.readers.take().expect("stopped once");
        stdout_reader.join().expect("stdout reader");
        let stderr = stderr_reader.join().expect("stderr reader");
        let stdout = self.all_stdout.lock().unwrap().clone();
        Output { stdout, stderr }
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
