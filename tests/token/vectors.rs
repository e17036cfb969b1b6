//! The interop vectors of `tests/data/lftokens.json` (tokens minted by PyJWT, node
//! jsonwebtoken and Livefyre's documentation), through the validation function and the layer.

use std::convert::Infallible;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::{Request, Response, StatusCode};
use serde::Deserialize;
use tower::{Layer, ServiceExt, service_fn};
use tower_livefyre::{LftokenLayer, LftokenRejection, Network, TokenError};

#[derive(Deserialize)]
struct Vector {
    name: String,
    network: String,
    key: String,
    token: String,
    valid: bool,
    /// For an invalid vector, the kind of refusal it must get (see [`kind`]).
    error: Option<String>,
    now: Option<u64>,
}

fn vectors() -> Vec<Vector> {
    let vectors: Vec<Vector> = serde_json::from_str(include_str!("../data/lftokens.json")).unwrap();
    assert!(vectors.len() >= 15, "the vector file lost entries");
    assert!(vectors.iter().any(|v| v.valid) && vectors.iter().any(|v| !v.valid));
    for vector in &vectors {
        assert_eq!(
            vector.error.is_none(),
            vector.valid,
            "vector {}: an expected error exactly when invalid",
            vector.name
        );
    }
    vectors
}

/// The kind of a refusal as the vector file names it: the variant, with the claim for claim
/// errors (`MissingClaim:expires`); a malformed token's prose detail is left out.
fn kind(error: &TokenError) -> String {
    match error {
        TokenError::MissingClaim(claim) => format!("MissingClaim:{claim}"),
        TokenError::MistypedClaim(claim) => format!("MistypedClaim:{claim}"),
        other => {
            let debug = format!("{other:?}");
            let variant = debug.split(['(', ' ', '{']).next().unwrap_or_default();
            variant.to_owned()
        }
    }
}

fn now_of(vector: &Vector) -> SystemTime {
    vector.now.map_or_else(SystemTime::now, |secs| {
        UNIX_EPOCH + Duration::from_secs(secs)
    })
}

#[test]
fn every_vector_through_validation() {
    for vector in vectors() {
        let network = Network::new(&vector.network, &vector.key).unwrap();
        let result =
            network.validate_livefyre_token_at(&vector.token, now_of(&vector), Duration::ZERO);
        assert_eq!(
            result.as_ref().err().map(kind),
            vector.error,
            "vector {}: {result:?}",
            vector.name
        );
    }
}

#[tokio::test]
async fn every_vector_through_the_layer() {
    for vector in vectors() {
        let network = Network::new(&vector.network, &vector.key).unwrap();
        let mut layer = LftokenLayer::new(network);
        if let Some(secs) = vector.now {
            layer = layer.clock(move || UNIX_EPOCH + Duration::from_secs(secs));
        }
        let service = layer.layer(service_fn(|_: Request<()>| async {
            Ok::<_, Infallible>(Response::new("inner".to_owned()))
        }));
        let request = Request::get(format!("/pull?id=ann&lftoken={}", vector.token))
            .body(())
            .unwrap();
        let response = service.oneshot(request).await.unwrap();
        if vector.valid {
            assert_eq!(response.status(), StatusCode::OK, "vector {}", vector.name);
            assert_eq!(response.body(), "inner", "vector {}", vector.name);
        } else {
            assert_eq!(
                response.status(),
                StatusCode::FORBIDDEN,
                "vector {}",
                vector.name
            );
            assert!(response.body().is_empty(), "vector {}", vector.name);
            let reason = match response.extensions().get::<LftokenRejection>() {
                Some(LftokenRejection::Invalid(error)) => Some(kind(error)),
                other => panic!("vector {}: refused for {other:?}", vector.name),
            };
            assert_eq!(reason, vector.error, "vector {}", vector.name);
        }
    }
}
