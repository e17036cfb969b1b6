//! Every row of the behaviour table through `pull_endpoint` (gate + `PullService`).

use crate::common;

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use tower::{Layer, ServiceExt};
use tower_livefyre::pull::PathTemplateError;
use tower_livefyre::{
    BoxError, LftokenLayer, LftokenRejection, Profile, ProfileError, ProfileSource, PullRejection,
    PullService, UserId, UserIdError, pull_endpoint, source::profile_source_fn,
};

/// A source over fixed profiles that counts its lookups and can misbehave on request.
#[derive(Clone, Default)]
struct Users {
    calls: Arc<AtomicUsize>,
}

impl ProfileSource for Users {
    type Error = BoxError;

    async fn profile(&self, id: &UserId) -> Result<Option<Profile>, BoxError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match id.as_str() {
            "ann" => Ok(Some(
                Profile::new("ann".parse().unwrap(), "Ann Lee").with_email("ann@example.com"),
            )),
            "broken" => Err("connection to the user database refused".into()),
            "slow" => {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                Ok(None)
            }
            "invalid" => Ok(Some(
                Profile::new("invalid".parse().unwrap(), "In Valid")
                    .with_image_url("ftp://x/y.png"),
            )),
            "other" => Ok(Some(Profile::new(
                "someone-else".parse().unwrap(),
                "Someone",
            ))),
            name if name.starts_with("user") => {
                Ok(Some(Profile::new(id.clone(), format!("User {name}"))))
            }
            _ => Ok(None),
        }
    }
}

/// The rejection a row expects, or `None` for the profile.
type Expected = Option<fn(&PullRejection) -> bool>;

async fn send(
    service: &tower_livefyre::lftoken::Lftoken<PullService<Users>>,
    method: Method,
    uri: &str,
) -> (Response<Full<Bytes>>, Bytes) {
    let request = Request::builder().method(method).uri(uri).body(()).unwrap();
    let response = service.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = body.clone().collect().await.unwrap().to_bytes();
    (Response::from_parts(parts, body), bytes)
}

fn pull_uri(query: &str) -> String {
    format!("/livefyre/pull?{query}&lftoken={}", valid_token())
}

#[tokio::test(start_paused = true)]
async fn the_behaviour_table() {
    let users = Users::default();
    let endpoint = LftokenLayer::new(network())
        .layer(PullService::new(users.clone()).timeout(Duration::from_secs(5)));
    let token = valid_token();
    let bad_signature = forge(HEADER, &claims_expiring("4102444800"), "wrong");

    // Refused by the gate: the source is never asked.
    for uri in [
        "/livefyre/pull?id=ann".to_owned(),
        "/livefyre/pull?id=ann&lftoken=".to_owned(),
        format!("/livefyre/pull?id=ann&lftoken={token}&lftoken={token}"),
        "/livefyre/pull?id=ann&lftoken=%FF".to_owned(),
        format!("/livefyre/pull?id=ann&lftoken={bad_signature}"),
        format!("/livefyre/pull?id=ann&lftoken={}", "a".repeat(5000)),
    ] {
        let (response, body) = send(&endpoint, Method::GET, &uri).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(body.is_empty());
        assert!(response.extensions().get::<LftokenRejection>().is_some());
    }
    let (response, _) = send(&endpoint, Method::POST, "/livefyre/pull?id=ann").await;
    assert_eq!(
        response.status(),
        StatusCode::FORBIDDEN,
        "the gate comes before the method check"
    );
    assert_eq!(users.calls.load(Ordering::SeqCst), 0);

    let cases: Vec<(Method, String, StatusCode, Expected)> = vec![
        (
            Method::POST,
            pull_uri("id=ann"),
            StatusCode::METHOD_NOT_ALLOWED,
            Some(|r| matches!(r, PullRejection::MethodNotAllowed)),
        ),
        (
            Method::PUT,
            pull_uri("id=ann"),
            StatusCode::METHOD_NOT_ALLOWED,
            Some(|r| matches!(r, PullRejection::MethodNotAllowed)),
        ),
        (
            Method::GET,
            pull_uri("x=1"),
            StatusCode::BAD_REQUEST,
            Some(|r| matches!(r, PullRejection::MissingId)),
        ),
        (
            Method::GET,
            pull_uri("id="),
            StatusCode::BAD_REQUEST,
            Some(|r| matches!(r, PullRejection::InvalidId(UserIdError::Empty))),
        ),
        (
            Method::GET,
            pull_uri("id=ann&id=bob"),
            StatusCode::BAD_REQUEST,
            Some(|r| matches!(r, PullRejection::DuplicateId)),
        ),
        (
            Method::GET,
            pull_uri("id=%FF"),
            StatusCode::BAD_REQUEST,
            Some(|r| {
                matches!(
                    r,
                    PullRejection::InvalidId(UserIdError::InvalidByte {
                        index: 0,
                        byte: 0xff
                    })
                )
            }),
        ),
        (
            Method::GET,
            pull_uri("id=..%2Fetc%2Fpasswd"),
            StatusCode::BAD_REQUEST,
            Some(|r| {
                matches!(
                    r,
                    PullRejection::InvalidId(UserIdError::InvalidByte {
                        index: 2,
                        byte: b'/'
                    })
                )
            }),
        ),
        (
            Method::GET,
            pull_uri("id=ann%27%20OR%201%3D1"),
            StatusCode::BAD_REQUEST,
            Some(|r| matches!(r, PullRejection::InvalidId(UserIdError::InvalidByte { .. }))),
        ),
        (
            Method::GET,
            pull_uri(&format!("id={}", "a".repeat(300))),
            StatusCode::BAD_REQUEST,
            Some(|r| {
                matches!(
                    r,
                    PullRejection::InvalidId(UserIdError::TooLong { len: 300 })
                )
            }),
        ),
        (
            Method::GET,
            pull_uri("id=nobody"),
            StatusCode::NOT_FOUND,
            Some(|r| matches!(r, PullRejection::NotFound)),
        ),
        (
            Method::GET,
            pull_uri("id=broken"),
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(|r| matches!(r, PullRejection::SourceFailed(_))),
        ),
        (
            Method::GET,
            pull_uri("id=slow"),
            StatusCode::GATEWAY_TIMEOUT,
            Some(|r| matches!(r, PullRejection::Timeout(_))),
        ),
        (
            Method::GET,
            pull_uri("id=invalid"),
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(|r| {
                matches!(
                    r,
                    PullRejection::InvalidProfile(ProfileError::InvalidUrl { .. })
                )
            }),
        ),
        (
            Method::GET,
            pull_uri("id=other"),
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(|r| matches!(r, PullRejection::IdMismatch)),
        ),
        (Method::GET, pull_uri("id=ann"), StatusCode::OK, None),
        (Method::HEAD, pull_uri("id=ann"), StatusCode::OK, None),
    ];
    for (method, uri, status, reason) in cases {
        let (response, body) = send(&endpoint, method.clone(), &uri).await;
        let shown = format!("{method} {}", &uri[..uri.find("lftoken").unwrap()]);
        assert_eq!(response.status(), status, "{shown}");
        match reason {
            Some(matches) => {
                assert!(body.is_empty(), "{shown}");
                let rejection = response.extensions().get::<PullRejection>().expect(&shown);
                assert!(matches(rejection), "{shown}: {rejection:?}");
                if status == StatusCode::METHOD_NOT_ALLOWED {
                    assert_eq!(response.headers()["allow"], "GET, HEAD");
                }
            }
            None => {
                assert_eq!(
                    response.headers()["content-type"],
                    "application/json",
                    "{shown}"
                );
                assert_eq!(response.headers()["cache-control"], "no-store", "{shown}");
                assert_eq!(
                    body,
                    r#"{"id":"ann","display_name":"Ann Lee","email":"ann@example.com"}"#
                );
            }
        }
    }
}

/// Two hundred found pulls (and fifty unknown ids) in flight at once on a multi-thread
/// runtime. The source holds every found lookup at a barrier until all two hundred have
/// arrived, so the test only finishes if they truly overlap, and each must still get its own
/// user's profile.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_pulls_are_all_answered_correctly() {
    const FOUND: usize = 200;
    let all_in_flight = Arc::new(tokio::sync::Barrier::new(FOUND));
    let source = profile_source_fn(move |id: UserId| {
        let all_in_flight = Arc::clone(&all_in_flight);
        async move {
            if id.starts_with("user") {
                all_in_flight.wait().await;
                Ok::<_, Infallible>(Some(Profile::new(id.clone(), format!("User {id}"))))
            } else {
                tokio::task::yield_now().await;
                Ok(None)
            }
        }
    });
    let endpoint = pull_endpoint(network(), source);
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..FOUND + FOUND / 4 {
        let endpoint = endpoint.clone();
        tasks.spawn(async move {
            let id = if n % 5 == 0 {
                format!("missing{n}")
            } else {
                format!("user{n}")
            };
            let request = Request::get(pull_uri(&format!("id={id}")))
                .body(())
                .unwrap();
            let response = endpoint.oneshot(request).await.unwrap();
            let status = response.status();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (n, id, status, body)
        });
    }
    // A guard against a hang (pulls that never overlap), not a timed assertion.
    let answers = tokio::time::timeout(Duration::from_secs(120), tasks.join_all())
        .await
        .expect("the two hundred lookups were never all in flight at once");
    assert_eq!(answers.len(), FOUND + FOUND / 4);
    for (n, id, status, body) in answers {
        if n % 5 == 0 {
            assert_eq!(status, StatusCode::NOT_FOUND, "{id}");
        } else {
            assert_eq!(status, StatusCode::OK, "{id}");
            let profile: Profile = serde_json::from_slice(&body).unwrap();
            assert_eq!(profile.id, id);
            assert_eq!(profile.display_name, format!("User {id}"));
        }
    }
}

#[tokio::test]
async fn the_id_can_come_from_another_parameter_or_the_path() {
    let users = HashMap::from([(
        "ann".to_owned(),
        Profile::new("ann".parse().unwrap(), "Ann Lee"),
    )]);
    let token = valid_token();

    let by_query =
        LftokenLayer::new(network()).layer(PullService::new(users.clone()).id_from_query("user"));
    let ok = by_query
        .clone()
        .oneshot(
            Request::get(format!("/p?user=ann&lftoken={token}"))
                .body(())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let missing = by_query
        .oneshot(
            Request::get(format!("/p?id=ann&lftoken={token}"))
                .body(())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);

    let by_path = LftokenLayer::new(network()).layer(
        PullService::new(Arc::new(users))
            .id_from_path("/users/{id}/pull")
            .unwrap(),
    );
    for (path, status) in [
        ("/users/ann/pull", StatusCode::OK),
        ("/users/an%6E/pull", StatusCode::OK),
        ("/users/bob/pull", StatusCode::NOT_FOUND),
        ("/users//pull", StatusCode::BAD_REQUEST),
        ("/users/a/b/pull", StatusCode::BAD_REQUEST),
        ("/users/a%2Fb/pull", StatusCode::BAD_REQUEST),
        ("/other/ann/pull", StatusCode::BAD_REQUEST),
    ] {
        let request = Request::get(format!("{path}?lftoken={token}"))
            .body(())
            .unwrap();
        assert_eq!(
            by_path.clone().oneshot(request).await.unwrap().status(),
            status,
            "{path}"
        );
    }

    let source = HashMap::<String, Profile>::new();
    for template in ["users/{id}", "/users/", "/{id}/{id}", "/users?id={id}"] {
        let error: PathTemplateError = PullService::new(source.clone())
            .id_from_path(template)
            .unwrap_err();
        assert!(error.to_string().contains(template), "{error}");
    }
}

#[tokio::test]
async fn closure_sources_work_and_their_errors_are_500() {
    let source = profile_source_fn(|id: UserId| async move {
        if id == "ann" {
            Ok(Some(Profile::new(id, "Ann")))
        } else {
            Err(std::io::Error::other("disk on fire"))
        }
    });
    let endpoint = pull_endpoint(network(), source);
    let token = valid_token();
    let ok = endpoint
        .clone()
        .oneshot(
            Request::get(format!("/p?id=ann&lftoken={token}"))
                .body(())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let failed = endpoint
        .oneshot(
            Request::get(format!("/p?id=bob&lftoken={token}"))
                .body(())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let reason = failed.extensions().get::<PullRejection>().unwrap();
    assert!(reason.to_string().contains("disk on fire"), "{reason}");
}

/// The endpoint over real HTTP twice: as a hyper service (`TowerToHyperService` over
/// `Request<Incoming>`) and as an axum `route_service`; both answer the table's main rows.
#[tokio::test]
async fn the_endpoint_serves_through_hyper_and_an_axum_route() {
    let users = HashMap::from([(
        "ann".to_owned(),
        Profile::new("ann".parse().unwrap(), "Ann Lee").with_email("ann@example.com"),
    )]);
    let hyper_server = serve(pull_endpoint(network(), users.clone())).await;
    let router =
        axum::Router::new().route_service("/livefyre/pull", pull_endpoint(network(), users));
    let axum_server = serve(router).await;
    let token = valid_token();
    for (stack, served) in [("hyper", &hyper_server), ("axum", &axum_server)] {
        let url = |query: &str| format!("{}/livefyre/pull?{query}", served.url());
        let (status, headers, body) = fetch(
            Method::GET,
            &url(&format!("id=ann&lftoken={token}")),
            &[],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{stack}");
        assert_eq!(headers["content-type"], "application/json", "{stack}");
        assert_eq!(headers["cache-control"], "no-store", "{stack}");
        assert_eq!(
            body, r#"{"id":"ann","display_name":"Ann Lee","email":"ann@example.com"}"#,
            "{stack}"
        );
        for (method, query, expected) in [
            (Method::GET, "id=ann".to_owned(), StatusCode::FORBIDDEN),
            (
                Method::GET,
                format!("id=bob&lftoken={token}"),
                StatusCode::NOT_FOUND,
            ),
            (
                Method::POST,
                format!("id=ann&lftoken={token}"),
                StatusCode::METHOD_NOT_ALLOWED,
            ),
        ] {
            let (status, _, body) = fetch(method, &url(&query), &[], "").await;
            assert_eq!(status, expected, "{stack} {query:.12}");
            assert!(body.is_empty(), "{stack} {query:.12}");
        }
    }
}

/// The in-memory path (`ProfileSource::profile_ref`, taken by the `HashMap` source) answers
/// exactly as a looked-up source with the same profiles does, row by row.
#[tokio::test]
async fn in_memory_sources_answer_as_looked_up_ones_do() {
    let profiles = HashMap::from([
        (
            "ann".to_owned(),
            Profile::new("ann".parse().unwrap(), "Ann Lee").with_email("ann@example.com"),
        ),
        (
            "invalid".to_owned(),
            Profile::new("invalid".parse().unwrap(), "In Valid").with_image_url("ftp://x/y.png"),
        ),
        (
            "other".to_owned(),
            Profile::new("someone-else".parse().unwrap(), "Someone"),
        ),
    ]);
    assert!(profiles.profile_ref("ann").is_some());
    let copies = profiles.clone();
    let looked_up = profile_source_fn(move |id: UserId| {
        let found = copies.get(id.as_str()).cloned();
        async move { Ok::<_, Infallible>(found) }
    });
    assert!(looked_up.profile_ref("ann").is_none());

    let in_memory = pull_endpoint(network(), profiles);
    let looked_up = pull_endpoint(network(), looked_up);
    for (query, status) in [
        ("id=ann", StatusCode::OK),
        ("id=invalid", StatusCode::INTERNAL_SERVER_ERROR),
        ("id=other", StatusCode::INTERNAL_SERVER_ERROR),
        ("id=nobody", StatusCode::NOT_FOUND),
    ] {
        let mut answers = Vec::new();
        for endpoint in [
            in_memory.clone().boxed_clone(),
            looked_up.clone().boxed_clone(),
        ] {
            let request = Request::get(pull_uri(query)).body(()).unwrap();
            let response = endpoint.oneshot(request).await.unwrap();
            assert_eq!(response.status(), status, "{query}");
            let reason = response
                .extensions()
                .get::<PullRejection>()
                .map(|r| r.to_string());
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.unwrap().to_bytes();
            answers.push((headers, reason, body));
        }
        assert_eq!(answers[0], answers[1], "{query}");
    }
}
