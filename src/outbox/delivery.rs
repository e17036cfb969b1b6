//! One attempt: a single ping through [`PingClient`], and the verdict on its answer.

use std::time::Duration;

use http::StatusCode;

use crate::ping::client::PingClient;

use crate::ping::error::PingError;

use crate::user_id::UserId;

/// What Livefyre's answer to one ping means for the row.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Livefyre accepted the ping (answered 200).
    Accepted,
    /// Worth another attempt later: Livefyre or the network is having a bad time.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Livefyre refused it, and retrying cannot help until someone changes something (key,
    /// network, proxy): park it.
    Park { reason: String },
    /// The row's id is not a Livefyre user id (written to the table by hand): park it unsent.
    Unsendable { reason: String },
}

/// Sends one ping (the relay's client makes a single attempt) and classifies the result.
/// A row whose id is not a [`UserId`] (written to the table by hand) is parked unsent.
pub(crate) async fn deliver(client: &PingClient, user_id: &str) -> Verdict {
    match user_id.parse::<UserId>() {
        Ok(user_id) => classify(client.sync_user(&user_id).await),
        Err(invalid) => Verdict::Unsendable {
            reason: format!("invalid Livefyre user id: {invalid}"),
        },
    }
}

/// The one place a ping's result becomes a row's fate.
pub(crate) fn classify(result: Result<(), PingError>) -> Verdict {
    let error = match result {
        Ok(()) => return Verdict::Accepted,
        Err(error) => error,
    };
    let reason = error.to_string();
    match &error {
        // The emulator's (and a fresh network's) "no pull URL registered yet": it resolves
        // itself once the registration succeeds, so it must never park a row.
        PingError::Status { status, .. } if *status == StatusCode::CONFLICT => Verdict::Retry {
            retry_after: error.retry_after(),
            reason,
        },
        // A local failure to sign says nothing about this row: retry it once that is fixed.
        PingError::Token(_) => Verdict::Retry {
            reason,
            retry_after: None,
        },
        // A wrong key or network (403), another 4xx: the same answer every time. The rule is
        // `PingError::is_permanent`, the one the client's own retries follow.
        _ if error.is_permanent() => Verdict::Park { reason },
        // 408, 429, 5xx, timeouts, connection failures: retry with backoff, no sooner than
        // Livefyre asked.
        _ => Verdict::Retry {
            retry_after: error.retry_after(),
            reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> Result<(), PingError> {
        Err(PingError::Status {
            status: StatusCode::from_u16(code).unwrap(),
            attempts: 1,
            retry_after: None,
        })
    }

    fn kind(outcome: Verdict) -> &'static str {
        match outcome {
            Verdict::Accepted => "delivered",
            Verdict::Retry { .. } => "retry",
            Verdict::Park { .. } => "park",
            Verdict::Unsendable { .. } => "unsendable",
        }
    }

    #[tokio::test]
    async fn a_row_with_an_invalid_id_is_parked_unsent() {
        // Port 9 (discard) on loopback: a request would fail to connect and be retried.
        let network = crate::network::Network::new("labs.fyre.co", "key").unwrap();
        let client = PingClient::new(network)
            .unwrap()
            .base_url("http://127.0.0.1:9")
            .unwrap();
        match deliver(&client, "ann lee").await {
            Verdict::Unsendable { reason } => assert!(reason.contains("index 3"), "{reason}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn outcomes() {
        let table = [
            (Ok(()), "delivered"),
            (Err(PingError::Forbidden { attempts: 1 }), "park"),
            (status(400), "park"),
            (status(404), "park"),
            (status(301), "park"),
            (status(408), "retry"),
            (status(409), "retry"),
            (status(422), "park"),
            (status(429), "retry"),
            (
                Err(PingError::Token(crate::token::error::TokenError::Signing)),
                "retry",
            ),
            (status(500), "retry"),
            (status(503), "retry"),
            (
                Err(PingError::Timeout {
                    timeout: Duration::from_secs(1),
                    attempts: 1,
                }),
                "retry",
            ),
            (
                Err(PingError::Connect {
                    attempts: 1,
                    source: "refused".into(),
                }),
                "retry",
            ),
        ];
        for (result, expected) in table {
            let shown = format!("{result:?}");
            assert_eq!(kind(classify(result)), expected, "{shown}");
        }
    }

    #[test]
    fn retries_wait_at_least_what_livefyre_asked() {
        for code in [409, 429, 503] {
            let asked = Err(PingError::Status {
                status: StatusCode::from_u16(code).unwrap(),
                attempts: 1,
                retry_after: Some(Duration::from_secs(30)),
            });
            let Verdict::Retry { retry_after, .. } = classify(asked) else {
                panic!("{code} must retry");
            };
            assert_eq!(retry_after, Some(Duration::from_secs(30)), "{code}");
        }
    }

    #[test]
    fn park_reasons_say_why() {
        let Verdict::Park { reason } = classify(Err(PingError::Forbidden { attempts: 1 })) else {
            panic!("403 must park");
        };
        assert!(reason.contains("403"), "{reason}");
    }
}
