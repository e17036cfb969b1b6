//! The raw-hyper and tonic/tonic-web examples, over real HTTP: each serves the pull endpoint,
//! and tonic's also serves gRPC and grpc-web on the same port.

use crate::common;

use common::example::{Example, Output};
use common::*;
use http::{Method, StatusCode};

const ENV: &[(&str, &str)] = &[("LIVEFYRE_NETWORK", NETWORK), ("LIVEFYRE_NETWORK_KEY", KEY)];

/// The pull endpoint's answers, as Livefyre and strangers see them.
async fn check_pull_endpoint(example: &Example) {
    let token = valid_token();
    let (status, headers, body) = fetch(
        Method::GET,
        &example.url(&format!("/livefyre/pull?id=ann.lee&lftoken={token}")),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    let profile: tower_livefyre::Profile = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (profile.id.as_str(), profile.display_name.as_str()),
        ("ann.lee", "Ann Lee")
    );

    for (method, uri, expected) in [
        (
            Method::GET,
            "/livefyre/pull?id=ann.lee".to_owned(),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!(
                "/livefyre/pull?id=ann.lee&lftoken={}",
                forge(HEADER, &claims_expiring("4102444800"), "wrong")
            ),
            StatusCode::FORBIDDEN,
        ),
        (
            Method::GET,
            format!("/livefyre/pull?id=nobody&lftoken={token}"),
            StatusCode::NOT_FOUND,
        ),
        (
            Method::GET,
            format!("/livefyre/pull?lftoken={token}"),
            StatusCode::BAD_REQUEST,
        ),
        (
            Method::POST,
            format!("/livefyre/pull?id=ann.lee&lftoken={token}"),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ] {
        let (status, _, body) = fetch(method.clone(), &example.url(&uri), &[], "").await;
        assert_eq!(status, expected, "{method} {}", &uri[..uri.len().min(40)]);
        assert!(body.is_empty(), "{method} {uri}");
    }
}

/// With a real key, nothing the example printed, from start to exit, holds a token or the key.
fn assert_printed_no_token(example: Example) {
    let Output { stdout, stderr } = example.stop();
    assert!(stdout.starts_with("listening on http://"), "{stdout}");
    for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(
            !text.contains("lftoken") && !text.contains("eyJ") && !text.contains(KEY),
            "a real key must print no token; {stream}:\n{text}"
        );
    }
}

#[tokio::test]
async fn raw_hyper_example_serves_the_pull_endpoint() {
    let example = Example::start("hyper", ENV);
    check_pull_endpoint(&example).await;
    let (status, _, _) = fetch(Method::GET, &example.url("/elsewhere"), &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_printed_no_token(example);
}

#[tokio::test]
async fn tonic_example_serves_grpc_grpc_web_and_the_pull_endpoint_on_one_port() {
    let example = Example::start("tonic_web", ENV);
    check_pull_endpoint(&example).await;

    // grpc-web over HTTP/1.1: one empty HealthCheckRequest frame (flag 0, length 0).
    let (status, headers, body) = fetch(
        Method::POST,
        &example.url("/grpc.health.v1.Health/Check"),
        &[
            ("content-type", "application/grpc-web+proto"),
            ("x-grpc-web", "1"),
        ],
        vec![0u8, 0, 0, 0, 0],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/grpc-web")
    );
    // First frame: a 2-byte HealthCheckResponse { status: SERVING (1) } = 08 01.
    assert_eq!(&body[..7], &[0, 0, 0, 0, 2, 0x08, 0x01], "{body:?}");
    // Then the trailers frame (flag 0x80) with grpc-status 0.
    assert_eq!(body[7], 0x80);
    assert!(
        String::from_utf8_lossy(&body[12..]).contains("grpc-status:0"),
        "{body:?}"
    );

    // Plain gRPC over HTTP/2 on the same port.
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = tonic::transport::Channel::from_shared(example.url(""))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = HealthClient::new(channel);
    let reply = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    assert_eq!(reply.into_inner().status, 1);
    assert_printed_no_token(example);
}

#[tokio::test]
async fn demo_mode_prints_a_curl_line_that_works() {
    let example = Example::start("hyper", &[]);
    let curl = std::iter::from_fn(|| {
        example
            .stdout
            .recv_timeout(std::time::Duration::from_secs(10))
            .ok()
    })
    .find(|line| line.contains("curl"))
    .expect("demo mode prints a curl line after `listening on`");
    let url = curl.split('\'').nth(1).unwrap();
    let (status, _, body) = fetch(Method::GET, url, &[], "").await;
    assert_eq!(status, StatusCode::OK, "{curl}");
    assert!(body.starts_with(br#"{"id":"ann.lee""#));
}
