//! The lifetime of the tokens `livefyre ping` and `livefyre register` send: minutes, not the
//! 24 hours of `Network::build_livefyre_token`. A loopback server stands in for Livefyre and
//! keeps every request body.

use crate::common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use common::endpoint::network;
use common::*;

/// A stand-in for Livefyre's API host: answers every request `status`, keeps its body.
struct Livefyre {
    url: String,
    bodies: Arc<Mutex<Vec<String>>>,
}

impl Livefyre {
    fn start(status: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&bodies);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { break };
                let mut reader = BufReader::new(stream);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                kept.lock().unwrap().push(String::from_utf8(body).unwrap());
                let answer = format!(
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
                let _ = reader.get_mut().write_all(answer.as_bytes());
            }
        });
        Self { url, bodies }
    }

    /// How long the token under `name` in each request body lives from now, in seconds.
    fn lifetimes(&self, name: &str) -> Vec<f64> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        self.bodies
            .lock()
            .unwrap()
            .iter()
            .map(|body| {
                let (_, token) = form_urlencoded::parse(body.as_bytes())
                    .find(|(n, _)| n == name)
                    .unwrap_or_else(|| panic!("no {name} in {body:?}"));
                network().validate_livefyre_token(&token).unwrap().expires() - now
            })
            .collect()
    }
}

/// The bound: no token the CLI sends to Livefyre lives past ten minutes.
const AT_MOST: f64 = 600.0;

#[test]
fn ping_sends_tokens_of_minutes() {
    let api = Livefyre::start(200);
    let run = livefyre(&[
        "ping",
        USER,
        "bob",
        "--network",
        NETWORK,
        "--api-url",
        &api.url,
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let lifetimes = api.lifetimes("lftoken");
    assert_eq!(lifetimes.len(), 2);
    for lifetime in lifetimes {
        assert!(lifetime <= AT_MOST, "lives {lifetime} s");
    }
}

#[test]
fn register_sends_a_token_of_minutes() {
    let api = Livefyre::start(204);
    let run = livefyre(&[
        "register",
        "https://example.com/pull?id={id}",
        "--network",
        NETWORK,
        "--api-url",
        &api.url,
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let lifetimes = api.lifetimes("actor_token");
    assert_eq!(lifetimes.len(), 1);
    assert!(lifetimes[0] <= AT_MOST, "lives {} s", lifetimes[0]);
}
