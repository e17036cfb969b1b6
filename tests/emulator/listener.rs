//! The emulator's listener against slow and many clients: a body that stops arriving gets
//! 408 and a closed connection, half a request line gets a closed connection, and past the
//! connection cap new clients wait until an open connection closes. Also the lifetime of the
//! tokens it pulls with.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tower_livefyre::emulator::Emulator;

use super::support::*;

/// Short limits for the tests; the defaults are 10 s.
const SHORT: Duration = Duration::from_millis(300);

/// Reads until the server closes the connection, failing the test past `within`.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> String {
    let mut all = Vec::new();
    match tokio::time::timeout(within, stream.read_to_end(&mut all)).await {
        Ok(_) => String::from_utf8_lossy(&all).into_owned(),
        Err(_) => panic!("the connection was still open after {within:?}"),
    }
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_answered_408_and_the_connection_closed() {
    let emulator = Emulator::builder(network())
        .body_read_timeout(SHORT)
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    let head = "POST /api/v3_0/user/ann/refresh HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 400\r\n\r\n";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(b"lftoken=eyJ").await.unwrap();

    let answer = read_until_closed(&mut stream, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer:?}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn half_a_request_line_gets_the_connection_closed() {
    let emulator = Emulator::builder(network())
        .header_read_timeout(SHORT)
        .start()
        .await
        .unwrap();
    let mut stream = TcpStream::connect(emulator.local_addr()).await.unwrap();
    stream.write_all(b"GET /_emulator/pu").await.unwrap();
    read_until_closed(&mut stream, WAIT).await;

    // And a connection that sends nothing at all.
    let mut silent = TcpStream::connect(emulator.local_addr()).await.unwrap();
    read_until_closed(&mut silent, WAIT).await;
    emulator.shutdown().await;
}

#[tokio::test]
async fn past_the_connection_cap_a_client_waits_until_a_connection_closes() {
    let emulator = Emulator::builder(network())
        .max_connections(2)
        .start()
        .await
        .unwrap();
    let addr = emulator.local_addr();
    let first = TcpStream::connect(addr).await.unwrap();
    let _second = TcpStream::connect(addr).await.unwrap();

    // The third connects (the kernel's backlog takes it) but is not served...
    let mut third = TcpStream::connect(addr).await.unwrap();
    let request = "GET /_emulator/pulls HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    third.write_all(request.as_bytes()).await.unwrap();
    let mut byte = [0u8; 1];
    let early = tokio::time::timeout(SHORT, third.read(&mut byte)).await;
    assert!(early.is_err(), "served past the cap: {early:?}");

    // ...until one of the first two closes.
    drop(first);
    let answer = read_until_closed(&mut third, WAIT).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer:?}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn pulls_carry_tokens_of_minutes() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve("ann", r#"{"id":"ann","display_name":"Ann"}"#);
    pull_of(&emulator, "ann").await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let seen = server.seen();
    let query = seen[0].split_once('?').unwrap().1;
    let token = form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "lftoken")
        .unwrap()
        .1
        .into_owned();
    let expires = network().validate_livefyre_token(&token).unwrap().expires();
    assert!(expires <= now + 600.0, "lives {} s", expires - now);
    emulator.shutdown().await;
}
