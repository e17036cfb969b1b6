//! The `LftokenLayer` gate as a tower middleware: what reaches the inner service, what is
//! refused and how, and what is logged.

use crate::common;

use std::convert::Infallible;

use std::time::Duration;

use common::*;
use http::{Request, Response, StatusCode};
use tokio_test::{assert_pending, assert_ready_ok};
use tower::{Layer, ServiceExt, service_fn};
use tower_livefyre::{LftokenLayer, LftokenRejection, TokenError, token::LivefyreClaims};
use tower_test::mock;

type Mock = mock::Mock<Request<()>, Response<String>>;

fn get(uri: &str) -> Request<()> {
    Request::get(uri).body(()).unwrap()
}

/// Answers every request the gate lets through with 200 "inner".
fn gate(
    layer: LftokenLayer,
) -> impl tower::Service<Request<()>, Response = Response<String>, Error = Infallible> + Clone {
    layer.layer(service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new("inner".to_owned()))
    }))
}

#[tokio::test]
async fn every_refusal_is_403_with_an_empty_body_and_its_reason() {
    let token = valid_token();
    let expired = forge(HEADER, &claims_expiring("1396655083"), KEY);
    let sixty_kib = "a".repeat(60 * 1024);
    let cases: Vec<(String, LftokenRejection)> = vec![
        ("/pull?id=ann".into(), LftokenRejection::Missing),
        ("/pull".into(), LftokenRejection::Missing),
        ("/pull?id=ann&lftoken=".into(), LftokenRejection::Empty),
        ("/pull?id=ann&lftoken".into(), LftokenRejection::Empty),
        (
            format!("/pull?lftoken={token}&lftoken={token}"),
            LftokenRejection::Duplicated,
        ),
        (
            "/pull?lftoken=a&lftoken=b".into(),
            LftokenRejection::Duplicated,
        ),
        ("/pull?lftoken=%FF".into(), LftokenRejection::NotUtf8),
        (
            format!("/pull?lftoken={sixty_kib}"),
            LftokenRejection::TooLong { max: 4096 },
        ),
        (
            "/pull?lftoken=not-a-jwt".into(),
            TokenError::Malformed("expected three dot-separated parts").into(),
        ),
        (
            format!("/pull?lftoken={expired}"),
            TokenError::Expired.into(),
        ),
        (
            format!(
                "/pull?lftoken={}",
                forge(HEADER, &claims_expiring("4102444800"), "wrong")
            ),
            TokenError::BadSignature.into(),
        ),
        (
            format!(
                "/pull?lftoken={}",
                forge(r#"{"alg":"none"}"#, &claims_expiring("4102444800"), KEY)
            ),
            TokenError::UnsupportedAlgorithm.into(),
        ),
    ];
    let service = gate(LftokenLayer::new(network()));
    for (uri, reason) in cases {
        let response = service.clone().oneshot(get(&uri)).await.unwrap();
        let shown = &uri[..uri.len().min(60)];
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{shown}");
        assert!(response.body().is_empty(), "{shown}");
        assert_eq!(
            response.extensions().get::<LftokenRejection>(),
            Some(&reason),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn the_cap_is_configurable_and_checked_on_the_encoded_value() {
    let token = valid_token();
    let service = gate(LftokenLayer::new(network()).max_token_len(token.len()));
    let ok = service
        .clone()
        .oneshot(get(&format!("/p?lftoken={token}")))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    // The same token with one character percent-encoded is one byte too long as sent.
    let encoded = format!("%{:02X}{}", token.as_bytes()[0], &token[1..]);
    let refused = service
        .oneshot(get(&format!("/p?lftoken={encoded}")))
        .await
        .unwrap();
    assert_eq!(
        refused.extensions().get::<LftokenRejection>(),
        Some(&LftokenRejection::TooLong { max: token.len() })
    );
}

#[tokio::test]
async fn leeway_applies_through_the_layer() {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = forge(HEADER, &claims_expiring(&(now - 30).to_string()), KEY);
    let uri = format!("/p?lftoken={token}");
    let strict = gate(LftokenLayer::new(network()));
    assert_eq!(
        strict.oneshot(get(&uri)).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let lenient = gate(LftokenLayer::new(network()).leeway(Duration::from_secs(120)));
    assert_eq!(
        lenient.oneshot(get(&uri)).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refused_request_never_reaches_the_inner_service() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<()>, Response<String>, _>(LftokenLayer::new(network()));
    handle.allow(1);
    assert_ready_ok!(service.poll_ready());
    let response = service
        .call(get("/pull?id=ann&lftoken=nope"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_pending!(handle.poll_request());
}

#[tokio::test]
async fn backpressure_is_forwarded() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<()>, Response<String>, _>(LftokenLayer::new(network()));
    handle.allow(0);
    assert_pending!(service.poll_ready());
    handle.allow(1);
    assert_ready_ok!(service.poll_ready());
}

#[tokio::test]
async fn claims_arrive_in_extensions_and_the_token_leaves_the_uri() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<()>, Response<String>, _>(LftokenLayer::new(network()));
    handle.allow(1);
    assert_ready_ok!(service.poll_ready());
    let token = valid_token();
    let response = service.call(get(&format!(
        "/livefyre/pull?id=ann&lftoken={token}&x=%20y"
    )));

    let (request, send) = handle.next_request().await.unwrap();
    assert_eq!(request.uri(), "/livefyre/pull?id=ann&x=%20y");
    let claims = request.extensions().get::<LivefyreClaims>().unwrap();
    assert_eq!((claims.domain(), claims.user_id()), (NETWORK, "system"));
    send.send_response(Response::new("profile".to_owned()));
    assert_eq!(response.await.unwrap().body(), "profile");
}

#[tokio::test]
async fn a_token_alone_leaves_a_bare_path_and_stripping_can_be_turned_off() {
    let token = valid_token();
    for (strip, expected) in [
        (true, "/pull".to_owned()),
        (false, format!("/pull?lftoken={token}")),
    ] {
        let layer = LftokenLayer::new(network()).strip_token(strip);
        let (mut service, mut handle) =
            mock::spawn_layer::<Request<()>, Response<String>, _>(layer);
        handle.allow(1);
        assert_ready_ok!(service.poll_ready());
        let _response = service.call(get(&format!("/pull?lftoken={token}")));
        let (request, _send) = handle.next_request().await.unwrap();
        assert_eq!(request.uri().to_string(), expected);
    }
}

#[tokio::test]
async fn the_inner_error_passes_through() {
    let (mut service, mut handle) =
        mock::spawn_layer::<Request<()>, Response<String>, _>(LftokenLayer::new(network()));
    handle.allow(1);
    assert_ready_ok!(service.poll_ready());
    let response = service.call(get(&format!("/p?lftoken={}", valid_token())));
    let (_request, send) = handle.next_request().await.unwrap();
    send.send_error("database down");
    assert_eq!(response.await.unwrap_err().to_string(), "database down");
}

#[tokio::test]
async fn a_custom_rejection_response_is_used_and_keeps_the_reason() {
    let layer =
        LftokenLayer::new(network()).with_rejection_response(|reason: &LftokenRejection| {
            Response::builder()
                .status(StatusCode::UNAUTHORIZED)
                .header("x-reason", reason.to_string())
                .body("custom".to_owned())
                .unwrap()
        });
    let (mut service, mut handle) = mock::spawn_layer::<Request<()>, Response<String>, _>(layer);
    handle.allow(1);
    assert_ready_ok!(service.poll_ready());
    let response = service.call(get("/p?id=1")).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(response.body(), "custom");
    assert_eq!(response.headers()["x-reason"], "no lftoken query parameter");
    assert_eq!(
        response.extensions().get(),
        Some(&LftokenRejection::Missing)
    );
    assert_pending!(handle.poll_request());
}

/// A request body with no `Default`, `Clone` or `Body` impl still goes through.
#[tokio::test]
async fn any_request_body_type_works() {
    struct Opaque(#[allow(dead_code)] std::fs::File);
    let service = LftokenLayer::new(network()).layer(service_fn(|_: Request<Opaque>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let file = std::fs::File::open("Cargo.toml").unwrap();
    let request = Request::get(format!("/p?lftoken={}", valid_token()))
        .body(Opaque(file))
        .unwrap();
    assert_eq!(
        service.oneshot(request).await.unwrap().status(),
        StatusCode::OK
    );
}

/// The network, the layer, the service and a service over a mock, each formatted with `{:?}`
/// and `{:#?}`, name the network and hold neither its current nor its previous key.
#[test]
fn debug_output_never_holds_a_key() {
    let rotated = network().with_previous_key("old-secret").unwrap();
    let layer = LftokenLayer::new(rotated.clone());
    let service = layer.layer(service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let mocked: tower_livefyre::lftoken::Lftoken<Mock> =
        tower_livefyre::lftoken::Lftoken::new(mock::pair().0, rotated.clone());
    let shown = [
        format!("{rotated:?}"),
        format!("{rotated:#?}"),
        format!("{layer:?}"),
        format!("{layer:#?}"),
        format!("{service:?}"),
        format!("{service:#?}"),
        format!("{mocked:?}"),
        format!("{mocked:#?}"),
    ];
    // Each key as text, and as the list of its bytes that a derived `Debug` would print.
    let forms: Vec<String> = [KEY, "old-secret"]
        .into_iter()
        .flat_map(|key| {
            let bytes = format!("{:?}", key.as_bytes());
            [key.to_owned(), bytes[1..bytes.len() - 1].to_owned()]
        })
        .collect();
    for shown in shown {
        assert!(shown.contains(NETWORK), "{shown}");
        for form in &forms {
            assert!(!shown.contains(form.as_str()), "{shown}");
        }
    }
}
