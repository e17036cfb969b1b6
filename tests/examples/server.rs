//! `examples/server.rs` over real HTTP: the compiled example runs as a child process,
//! seeded through `PROFILES_SEED` into a fresh SQLite file,
//! and every row of the behaviour table is checked on the wire.

use crate::common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::scratch::Scratch;
use common::*;
use serde_json::{Value, json};
use tower_livefyre::Profile;

/// Generous, for a loaded CI machine: the server only opens a SQLite file before listening.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The running example. Dropping it kills and reaps the process, on every path.
struct Server {
    child: Child,
    lines: mpsc::Receiver<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    /// One message from each output stream's reader when it reaches the end of its stream.
    closed: mpsc::Receiver<()>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Pipes `reader` into `sink` line by line on a thread, forwarding each line to `lines`, and
/// tells `closed` when the stream ends.
fn collect(
    reader: impl Read + Send + 'static,
    sink: Arc<Mutex<String>>,
    lines: Option<mpsc::Sender<String>>,
    closed: mpsc::Sender<()>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { break };
            let mut all = sink.lock().unwrap();
            all.push_str(&line);
            all.push('\n');
            drop(all);
            if let Some(lines) = &lines {
                let _ = lines.send(line);
            }
        }
        let _ = closed.send(());
    })
}

/// The `examples/server` command with exactly `env` for the example's variables, run in
/// `dir`; stdin is closed and stderr piped, stdout is for the caller to set.
fn command(dir: &Scratch, env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(common::example::example_path("server"));
    for name in [
        "LIVEFYRE_NETWORK",
        "LIVEFYRE_NETWORK_KEY",
        "LISTEN_ADDR",
        "DATABASE_URL",
        "PROFILES_SEED",
        "LIVEFYRE_PULL_URL",
        "ADMIN_ADDR",
        "EMULATOR_ADDR",
    ] {
        command.env_remove(name);
    }
    command
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        // The relay's pings and the registration go nowhere (port 9, discard): never to
        // an emulator someone runs on the default port.
        .env("LIVEFYRE_API_URL", "http://127.0.0.1:9")
        .env("DATABASE_URL", dir.sqlite_url("users.db"))
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// The compiled `examples/server` (built by `cargo test`) with exactly `env` for the
/// example's variables.
fn spawn(dir: &Scratch, env: &[(&str, &str)]) -> Server {
    let mut child = command(dir, env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot run examples/server");
    let (stdout, stderr) = (Arc::default(), Arc::default());
    let (sender, lines) = mpsc::channel();
    let (closed_sender, closed) = mpsc::channel();
    let readers = vec![
        collect(
            child.stdout.take().unwrap(),
            Arc::clone(&stdout),
            Some(sender),
            closed_sender.clone(),
        ),
        collect(
            child.stderr.take().unwrap(),
            Arc::clone(&stderr),
            None,
            closed_sender,
        ),
    ];
    Server {
        child,
        lines,
        stdout,
        stderr,
        closed,
        readers,
    }
}

impl Server {
    /// Waits for `listening on http://ADDR` and returns `ADDR`.
    fn wait_until_listening(&self) -> String {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = line.strip_prefix("listening on http://") {
                        return addr.to_owned();
                    }
                }
                Err(error) => panic!(
                    "no `listening on` line ({error:?}); stderr:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    /// Waits for the process to exit by itself: both its output streams end (the readers
    /// are joined, so [`Server::stdout`] and [`Server::stderr`] are complete), then it is reaped.
    fn wait_for_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        for _ in 0..self.readers.len() {
            let left = deadline.saturating_duration_since(Instant::now());
            if let Err(mpsc::RecvTimeoutError::Timeout) = self.closed.recv_timeout(left) {
                panic!("still running; stderr:\n{}", self.stderr());
            }
        }
        for reader in self.readers.drain(..) {
            reader.join().expect("output reader");
        }
        self.child.wait().unwrap()
    }

    /// Stops the server (SIGTERM where there is one, so the shutdown path runs) and waits
    /// until it has exited and all its output is read.
    fn stop(&mut self) -> ExitStatus {
        #[cfg(unix)]
        {
            let kill = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .status();
            assert!(kill.unwrap().success());
        }
        #[cfg(not(unix))]
        let _ = self.child.kill();
        self.wait_for_exit(Duration::from_secs(30))
    }

    fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

/// An HTTP/1.1 answer.
struct Answer {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

/// One request on a fresh connection, written byte for byte (so `%FF` stays `%FF`).
fn http(addr: &str, method: &str, target: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no end of headers");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: BTreeMap<String, String> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    assert!(!headers.contains_key("transfer-encoding"), "{headers:?}");
    let body = raw[split + 4..].to_vec();
    if method != "HEAD" {
        let length: usize = headers["content-length"].parse().unwrap();
        assert_eq!(body.len(), length);
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// Every field of the profile set, with text that breaks naive SQL and JSON handling.
fn full_profile() -> Value {
    json!({
        "id": "full",
        "display_name": "Zoë 山田 🎉",
        "name": {"formatted": "Zoë Q. 山田", "first": "Zoë", "middle": "Q.", "last": "山田"},
        "email": "zoe@example.com",
        "image_url": "https://img.example.com/zoe.png",
        "profile_url": "https://example.com/users/full",
        "settings_url": "https://example.com/settings",
        "tags": ["staff", "beta_testers"],
        "autofollow_conversations": false,
        "email_notifications": {
            "comments": "immediately", "replies": "often", "likes": "never",
            "moderator_comments": "often", "moderator_flags": "immediately"
        },
        "location": "Zürich; DROP TABLE users; --",
        "bio": "line1\nline2 \"double\" 'single' \\ back\\slash\ttab 🎉",
        "nickname": "zo'e",
        "websites": ["https://zoe.example.com", "http://blog.example.org/zoe?x=1&y=2"],
        "display_rules": {
            "bio": true, "location": false, "gender": true,
            "name": false, "image": true, "remote_profile_url": false
        },
        "moderator": true,
        "gravatar_disabled": false
    })
}

fn seed() -> Value {
    json!([
        full_profile(),
        {"id": "min", "display_name": "Min"},
        // The lenient spellings of the docs' example: stored and served back canonical.
        {"id": "lenient", "display_name": "Len", "moderator": "true", "autofollow_conversations": "",
         "tags": [], "email_notifications": {"likes": ""}},
    ])
}

fn token_expiring(expires: &str) -> String {
    forge(HEADER, &claims_expiring(expires), KEY)
}

#[test]
fn every_row_of_the_behaviour_table_over_http() {
    let dir = Scratch::new("server-table");
    let seed_path = dir.write("seed.json", seed().to_string());
    let mut server = spawn(
        &dir,
        &[
            ("LIVEFYRE_NETWORK", NETWORK),
            ("LIVEFYRE_NETWORK_KEY", KEY),
            ("PROFILES_SEED", seed_path.to_str().unwrap()),
        ],
    );
    let addr = server.wait_until_listening();
    let token = valid_token();
    let pull = |query: &str| http(&addr, "GET", &format!("/livefyre/pull?{query}"));

    let wrong_domain = forge(
        HEADER,
        &claims_expiring("4102444800").replace(NETWORK, "other.fyre.co"),
        KEY,
    );
    let not_system = forge(
        HEADER,
        &claims_expiring("4102444800").replace("\"system\"", "\"ann\""),
        KEY,
    );
    let alg_none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(claims_expiring("4102444800"))
    );
    let forbidden = [
        ("missing", "id=full".to_owned()),
        ("empty", "id=full&lftoken=".to_owned()),
        (
            "duplicated",
            format!("id=full&lftoken={token}&lftoken={token}"),
        ),
        ("non-UTF-8", "id=full&lftoken=%FF".to_owned()),
        (
            "5000 bytes",
            format!("id=full&lftoken={}", "a".repeat(5000)),
        ),
        (
            "bad signature",
            format!(
                "id=full&lftoken={}",
                forge(HEADER, &claims_expiring("4102444800"), "wrong")
            ),
        ),
        (
            "expired",
            format!("id=full&lftoken={}", token_expiring("1000000000")),
        ),
        ("wrong domain", format!("id=full&lftoken={wrong_domain}")),
        ("not system", format!("id=full&lftoken={not_system}")),
        ("alg none", format!("id=full&lftoken={alg_none}")),
        ("malformed", "id=full&lftoken=x.y.z".to_owned()),
    ];
    for (case, query) in &forbidden {
        let answer = pull(query);
        assert_eq!(answer.status, 403, "{case}");
        assert!(answer.body.is_empty(), "{case}");
    }

    let post = http(
        &addr,
        "POST",
        &format!("/livefyre/pull?id=full&lftoken={token}"),
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.headers["allow"], "GET, HEAD");
    assert!(post.body.is_empty());
    assert_eq!(
        http(&addr, "POST", "/livefyre/pull?id=full").status,
        403,
        "the gate comes first"
    );

    for (case, query) in [
        ("missing id", format!("lftoken={token}")),
        ("empty id", format!("id=&lftoken={token}")),
        ("duplicated id", format!("id=full&id=min&lftoken={token}")),
        (
            "SQL in the id",
            format!("id=x%27%20OR%20%271%27%3D%271&lftoken={token}"),
        ),
    ] {
        let answer = pull(&query);
        assert_eq!(answer.status, 400, "{case}");
        assert!(answer.body.is_empty(), "{case}");
    }
    let unknown = pull(&format!("id=nobody&lftoken={token}"));
    assert_eq!(unknown.status, 404);
    assert!(unknown.body.is_empty());
    assert_eq!(
        http(&addr, "GET", &format!("/elsewhere?id=full&lftoken={token}")).status,
        404
    );

    let found = pull(&format!(
        "id=full&lftoken={}",
        token_expiring("4102444800.5")
    ));
    assert_eq!(found.status, 200, "{}", server.stderr());
    assert_eq!(found.headers["content-type"], "application/json");
    assert_eq!(found.headers["cache-control"], "no-store");
    let served: Value = serde_json::from_slice(&found.body).unwrap();
    assert_eq!(served, full_profile(), "every key and value, nothing more");
    let expected: Profile = serde_json::from_value(full_profile()).unwrap();
    assert_eq!(
        serde_json::from_slice::<Profile>(&found.body).unwrap(),
        expected
    );

    let head = http(
        &addr,
        "HEAD",
        &format!("/livefyre/pull?id=full&lftoken={token}"),
    );
    assert_eq!((head.status, head.body.len()), (200, 0));

    let min = pull(&format!("id=min&lftoken={token}"));
    assert_eq!(min.status, 200);
    assert_eq!(
        String::from_utf8(min.body).unwrap(),
        r#"{"id":"min","display_name":"Min"}"#
    );
    let lenient = pull(&format!("id=lenient&lftoken={token}"));
    assert_eq!(
        String::from_utf8(lenient.body).unwrap(),
        r#"{"id":"lenient","display_name":"Len","tags":[],"moderator":true}"#
    );

    // With a real key no token is printed, and neither the key nor a token is logged: read
    // once the server has exited, so both streams are complete.
    let status = server.stop();
    #[cfg(unix)]
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM is a clean exit; stderr:\n{}",
        server.stderr()
    );
    #[cfg(not(unix))]
    let _ = status;
    let (stdout, stderr) = (server.stdout(), server.stderr());
    assert!(
        !stdout.contains("lftoken=") && !stdout.contains(KEY),
        "{stdout}"
    );
    assert!(
        !stderr.contains("WARNING") && !stderr.contains(KEY),
        "{stderr}"
    );
    assert!(
        stderr.contains("shutting down"),
        "complete output: {stderr}"
    );
    for part in token.split('.') {
        assert!(
            !stdout.contains(part) && !stderr.contains(part),
            "{stdout}{stderr}"
        );
    }
    assert!(
        !stdout.contains("eyJ") && !stderr.contains("eyJ"),
        "no JWT segment at all: {stdout}{stderr}"
    );
}

#[test]
fn demo_mode_warns_and_prints_a_curl_line_that_works() {
    let dir = Scratch::new("server-demo");
    let mut server = spawn(&dir, &[]);
    let addr = server.wait_until_listening();
    // The curl line follows `listening on`.
    let curl = std::iter::from_fn(|| server.lines.recv_timeout(STARTUP_TIMEOUT).ok())
        .find(|line| line.contains("curl"))
        .unwrap_or_else(|| panic!("no curl line; stdout:\n{}", server.stdout()));
    let url = curl.split('\'').nth(1).expect(&curl);
    assert!(
        url.starts_with(&format!("http://{addr}/livefyre/pull?id=ann.lee&lftoken=")),
        "{url}"
    );

    let target = &url[url.find("/livefyre").unwrap()..];
    let answer = http(&addr, "GET", target);
    assert_eq!(answer.status, 200, "{}", server.stderr());
    let profile: Profile = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(
        (profile.id.as_str(), profile.display_name.as_str()),
        ("ann.lee", "Ann Lee")
    );
    for id in ["bob", "carla_m"] {
        let target = target.replace("id=ann.lee", &format!("id={id}"));
        assert_eq!(http(&addr, "GET", &target).status, 200, "{id}");
    }
    let bob = http(&addr, "GET", &target.replace("id=ann.lee", "id=bob"));
    assert_eq!(
        String::from_utf8(bob.body).unwrap(),
        r#"{"id":"bob","display_name":"Bob"}"#
    );

    let status = server.stop();
    #[cfg(unix)]
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    #[cfg(not(unix))]
    let _ = status;
    // Read once the server has exited, so the whole of stderr is there.
    assert!(server.stderr().contains("WARNING"), "{}", server.stderr());
}

/// Waits for the server to close `stream`, failing past `within`; returns what it sent.
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Vec<u8> {
    stream.set_read_timeout(Some(within)).unwrap();
    let mut all = Vec::new();
    match stream.read_to_end(&mut all) {
        Ok(_) => all,
        Err(error) => panic!("still open after {within:?} ({error}); got {all:?}"),
    }
}

#[test]
fn half_a_request_line_is_disconnected_after_the_header_read_timeout() {
    let dir = Scratch::new("server-slowloris");
    let server = spawn(&dir, &[("HEADER_READ_TIMEOUT_SECS", "1")]);
    let addr = server.wait_until_listening();
    let started = Instant::now();
    let mut stalled: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut stream = TcpStream::connect(&addr).unwrap();
            stream.write_all(b"GET /livefyre/pull?id=ann").unwrap();
            stream
        })
        .collect();
    // One that sends nothing at all, too.
    stalled.push(TcpStream::connect(&addr).unwrap());
    for stream in &mut stalled {
        read_until_closed(stream, Duration::from_secs(20));
    }
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "closed before the timeout"
    );
    // The server still serves.
    assert_eq!(http(&addr, "GET", "/livefyre/pull?id=ann.lee").status, 403);
}

#[test]
fn connections_past_the_cap_wait_until_one_closes() {
    let dir = Scratch::new("server-cap");
    let env = [
        ("MAX_CONNECTIONS", "2"),
        ("HEADER_READ_TIMEOUT_SECS", "120"),
    ];
    let server = spawn(&dir, &env);
    let addr = server.wait_until_listening();
    let first = TcpStream::connect(&addr).unwrap();
    let _second = TcpStream::connect(&addr).unwrap();

    // The kernel completes the third connection, but the server does not serve it...
    let mut third = TcpStream::connect(&addr).unwrap();
    let request = format!(
        "GET /livefyre/pull?id=ann.lee HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    third.write_all(request.as_bytes()).unwrap();
    third
        .set_read_timeout(Some(Duration::from_secs(1)))
        .unwrap();
    let mut byte = [0u8; 1];
    let early = third.read(&mut byte);
    assert!(
        matches!(&early, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "served past the cap: {early:?}"
    );

    // ...until one of the first two closes.
    drop(first);
    let answer = read_until_closed(&mut third, Duration::from_secs(30));
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
}

#[test]
fn listener_limits_must_be_whole_numbers() {
    let dir = Scratch::new("server-limits");
    for (name, value) in [
        ("HEADER_READ_TIMEOUT_SECS", "0"),
        ("HEADER_READ_TIMEOUT_SECS", "1.5"),
        ("MAX_CONNECTIONS", "0"),
        ("MAX_CONNECTIONS", "many"),
    ] {
        let mut server = spawn(&dir, &[(name, value)]);
        let status = server.wait_for_exit(STARTUP_TIMEOUT);
        let stderr = server.stderr();
        assert_eq!(status.code(), Some(1), "{name}={value}: {stderr}");
        assert!(stderr.contains(&format!("error: {name}=")), "{stderr}");
        assert!(!server.stdout().contains("listening on"), "{name}={value}");
    }
}

#[test]
fn bad_configuration_is_a_clear_error_and_exit_code_1() {
    let dir = Scratch::new("server-bad");
    let not_json = dir.write("not-json.json", "[{\"id\": ");
    let bad_tag = dir.write(
        "bad-tag.json",
        r#"[{"id":"ann","display_name":"Ann","tags":["no spaces"]}]"#,
    );
    let missing = dir.path().join("missing.json");
    let cases = [
        (
            vec![("PROFILES_SEED", not_json.to_str().unwrap())],
            "not a JSON array of profiles",
        ),
        (
            vec![("PROFILES_SEED", bad_tag.to_str().unwrap())],
            "tags[0]",
        ),
        (
            vec![("PROFILES_SEED", missing.to_str().unwrap())],
            "cannot read",
        ),
        (vec![("LIVEFYRE_NETWORK_KEY", "")], "key is empty"),
        (vec![("LISTEN_ADDR", "not an address")], "LISTEN_ADDR"),
    ];
    for (env, message) in cases {
        let mut server = spawn(&dir, &env);
        let status = server.wait_for_exit(STARTUP_TIMEOUT);
        let stderr = server.stderr();
        assert_eq!(status.code(), Some(1), "{env:?}: {stderr}");
        assert!(
            stderr.contains("error: ") && stderr.contains(message),
            "{env:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{env:?}: {stderr}");
        assert!(!server.stdout().contains("listening on"), "{env:?}");
    }
}

/// A server whose stdout is closed (its reader went away: `| head -1`, a supervisor that
/// stopped reading) keeps serving: the URLs it prints after it listens are best effort, not
/// a reason to die. Until this was fixed, the first `println!` met the closed pipe, panicked
/// and took the pull endpoint down with it.
#[test]
fn a_closed_stdout_does_not_stop_the_server() {
    let dir = Scratch::new("server-closed-stdout");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let addr = format!("127.0.0.1:{port}");
    let mut child = command(&dir, &[("LISTEN_ADDR", addr.as_str())])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot run examples/server");
    // Close the read end before the server prints anything.
    drop(child.stdout.take());

    let deadline = Instant::now() + STARTUP_TIMEOUT;
    while TcpStream::connect(&addr).is_err() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the server exited ({status}) instead of listening");
        }
        assert!(Instant::now() < deadline, "not listening on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Past the lines it prints once listening, it still answers.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(http(&addr, "GET", "/livefyre/pull?id=ann.lee").status, 403);
    assert!(
        child.try_wait().unwrap().is_none(),
        "the server died after it started listening"
    );
    let _ = child.kill();
    let _ = child.wait();
}
