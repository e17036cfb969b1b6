//! The query handling of the `lftoken` gate and of `PullService`'s id extraction, through the
//! public API, on arbitrary bytes used as a query string (and as a path).
//!
//! Oracles: the gate answers exactly 200 or 403, and 200 exactly when the query holds one
//! `lftoken` pair (names and values form-decoded) whose value is the valid token; the inner
//! service never sees `lftoken`. The pull answers 200 or 400, and 200 only for one
//! well-formed Livefyre user id, which the profile then carries.

#![no_main]

use std::convert::Infallible;
use std::sync::OnceLock;
use std::time::{Duration, UNIX_EPOCH};

use http::{Request, Response, StatusCode, Uri};
use http_body_util::BodyExt;
use libfuzzer_sys::fuzz_target;
use tower::{Layer, ServiceExt, service_fn};
use tower_livefyre::{
    LftokenLayer, Network, Profile, UserId, source::profile_source_fn, token::LivefyreClaims,
};
use tower_livefyre::{PullService, pull::PathTemplateError};

const NOW: u64 = 1_700_000_000;

struct Fixture {
    network: Network,
    token: String,
    runtime: tokio::runtime::Runtime,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let network = Network::new("labs.fyre.co", "labs-network-key-for-tests").unwrap();
        let token = network
            .build_user_auth_token_at(
                &UserId::SYSTEM,
                "system",
                Duration::from_secs(86_400),
                UNIX_EPOCH + Duration::from_secs(NOW),
            )
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        Fixture {
            network,
            token,
            runtime,
        }
    })
}

/// `(name, value)` pairs of `query`, form-decoded by `form_urlencoded` (lossy: bad UTF-8
/// becomes U+FFFD, which never equals an ASCII name or token).
fn decoded_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(n, v)| (n.into_owned(), v.into_owned()))
        .collect()
}

fn is_user_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn check_gate(fixture: &Fixture, uri: Uri) {
    let pairs = decoded_pairs(uri.query());
    let tokens: Vec<&String> = pairs
        .iter()
        .filter(|(n, _)| n == "lftoken")
        .map(|(_, v)| v)
        .collect();
    let should_pass = tokens.len() == 1 && *tokens[0] == fixture.token;

    let inner = service_fn(|request: Request<()>| async move {
        assert!(request.extensions().get::<LivefyreClaims>().is_some());
        let left = decoded_pairs(request.uri().query());
        assert!(
            left.iter().all(|(n, _)| n != "lftoken"),
            "lftoken reached the inner service: {}",
            request.uri()
        );
        Ok::<_, Infallible>(Response::new(String::from("inner")))
    });
    let gate = LftokenLayer::new(fixture.network.clone())
        .clock(|| UNIX_EPOCH + Duration::from_secs(NOW))
        .layer(inner);
    let request = Request::get(uri.clone()).body(()).unwrap();
    let response = futures_executor::block_on(gate.oneshot(request)).unwrap();
    match response.status() {
        StatusCode::OK => assert!(should_pass, "accepted {uri}"),
        StatusCode::FORBIDDEN => {
            assert!(!should_pass, "refused {uri}");
            assert!(response.body().is_empty());
        }
        other => panic!("gate answered {other} for {uri}"),
    }
}

/// The path-template pull (`/users/{id}/pull`) of `uri`.
fn check_path_pull(
    fixture: &Fixture,
    service: PullService<impl tower_livefyre::ProfileSource>,
    uri: Uri,
) {
    let (status, body) = answer(fixture, service, &uri);
    match status {
        StatusCode::OK => {
            let profile: Profile = serde_json::from_slice(&body).unwrap();
            assert!(is_user_id(&profile.id), "id {:?} from {uri}", profile.id);
            let segment = uri
                .path()
                .strip_prefix("/users/")
                .and_then(|rest| rest.strip_suffix("/pull"))
                .unwrap_or_else(|| panic!("200 for the path of {uri}"));
            assert!(!segment.contains('/'), "{uri}");
            let decoded = percent_encoding::percent_decode_str(segment)
                .decode_utf8()
                .unwrap();
            assert_eq!(decoded, profile.id.as_str(), "{uri}");
        }
        StatusCode::BAD_REQUEST => assert!(body.is_empty()),
        other => panic!("pull answered {other} for {uri}"),
    }
}

/// The status and body `service` answers a GET of `uri` with.
fn answer(
    fixture: &Fixture,
    service: PullService<impl tower_livefyre::ProfileSource>,
    uri: &Uri,
) -> (StatusCode, Vec<u8>) {
    let request = Request::get(uri.clone()).body(()).unwrap();
    fixture.runtime.block_on(async {
        let response = service.oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            response
                .into_body()
                .collect()
                .await
                .unwrap()
                .to_bytes()
                .to_vec(),
        )
    })
}

fn source() -> impl tower_livefyre::ProfileSource {
    profile_source_fn(
        |id: UserId| async move { Ok::<_, Infallible>(Some(Profile::new(id, "Fuzz"))) },
    )
}

fn pull_by_query(fixture: &Fixture, uri: Uri) {
    let pairs = decoded_pairs(uri.query());
    let ids: Vec<&String> = pairs
        .iter()
        .filter(|(n, _)| n == "id")
        .map(|(_, v)| v)
        .collect();
    let service = PullService::new(source()).timeout(Duration::from_secs(1));
    let (status, body) = answer(fixture, service, &uri);
    match status {
        StatusCode::OK => {
            assert_eq!(ids.len(), 1, "200 without exactly one id: {uri}");
            let profile: Profile = serde_json::from_slice(&body).unwrap();
            assert_eq!(&profile.id, ids[0], "{uri}");
            assert!(is_user_id(&profile.id), "{uri}");
        }
        StatusCode::BAD_REQUEST => {
            assert!(body.is_empty());
            let valid = ids.len() == 1 && is_user_id(ids[0]) && ids[0].len() <= 256;
            // A valid id may still be refused when its raw (encoded) form is over 256 bytes.
            assert!(
                !valid || uri.query().unwrap_or_default().len() > 256,
                "refused {uri}"
            );
        }
        other => panic!("pull answered {other} for {uri}"),
    }
}

fn pull_by_path(fixture: &Fixture, uri: Uri) -> Result<(), PathTemplateError> {
    let service = PullService::new(source())
        .timeout(Duration::from_secs(1))
        .id_from_path("/users/{id}/pull")?;
    check_path_pull(fixture, service, uri);
    Ok(())
}

fn with_prefix(prefix: &[u8], data: &[u8], suffix: &[u8]) -> Option<Uri> {
    let mut bytes = Vec::with_capacity(prefix.len() + data.len() + suffix.len());
    bytes.extend_from_slice(prefix);
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(suffix);
    Uri::try_from(bytes).ok()
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    if let Some(uri) = with_prefix(b"/pull?", data, b"") {
        check_gate(fixture, uri.clone());
        pull_by_query(fixture, uri);
    }
    let token = format!("&lftoken={}", fixture.token);
    if let Some(uri) = with_prefix(b"/pull?", data, token.as_bytes()) {
        check_gate(fixture, uri);
    }
    if let Some(uri) = with_prefix(b"/users/", data, b"/pull") {
        pull_by_path(fixture, uri).unwrap();
    }
    // The input as a whole URI: any form (origin, absolute, authority, `*`).
    if let Some(uri) = with_prefix(b"", data, b"") {
        check_gate(fixture, uri.clone());
        pull_by_path(fixture, uri).unwrap();
    }
});
