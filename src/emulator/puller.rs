//! One pull: GET the expanded template with a fresh system token, judge the answer.

use std::error::Error as StdError;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_LENGTH, USER_AGENT};
use http::{Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::time::{Instant, timeout_at};

use super::{PullOutcome, PullRecord};
use crate::network::Network;
use crate::profile::document::Profile;
use crate::token::SYSTEM_USER;
use crate::url::PullUrlTemplate;
use crate::url::REDACTED;
use crate::user_id::UserId;

/// Lifetime of the system token each pull carries: the pull endpoint checks it when the
/// request arrives, so minutes are plenty, and a token an endpoint logs is worth minutes.
const PULL_TOKEN_TTL: Duration = Duration::from_secs(5 * 60);

const USER_AGENT_VALUE: &str = concat!("tower-livefyre-emulator/", env!("CARGO_PKG_VERSION"));

/// What every pull shares: the network (to mint tokens), the HTTP client, the limits.
pub(super) struct Puller {
    network: Network,
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
    max_body_bytes: usize,
}

impl Puller {
    pub(super) fn new(network: Network, timeout: Duration, max_body_bytes: usize) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        // No idle connections: nothing outlives the emulator, and each pull sees a fresh
        // connection as it would from Livefyre.
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        Self {
            network,
            client,
            timeout,
            max_body_bytes,
        }
    }

    /// Pulls `id`; the profile is `Some` exactly when the outcome is `stored`.
    pub(super) async fn pull(
        &self,
        id: &UserId,
        template: Option<&PullUrlTemplate>,
    ) -> (PullRecord, Option<Profile>) {
        let Some(template) = template else {
            let record = PullRecord::new(id, String::new(), PullOutcome::ConnectError);
            return (record.reason("no pull URL is registered"), None);
        };
        let shown_url = template.redacted(id);
        let token =
            self.network
                .build_user_auth_token(&UserId::SYSTEM, SYSTEM_USER, PULL_TOKEN_TTL);
        let Ok(token) = token else {
            let record = PullRecord::new(id, shown_url, PullOutcome::ConnectError);
            return (record.reason("could not sign the system token"), None);
        };
        let url = template.expand_with_token(id, &token);
        let (mut record, profile) = self.attempt(id, &url, shown_url).await;
        // Error texts come from other crates; make sure none ever carries the token.
        if let Some(reason) = &mut record.reason
            && reason.contains(token.as_str())
        {
            *reason = reason.replace(token.as_str(), REDACTED);
        }
        (record, profile)
    }

    async fn attempt(
        &self,
        id: &UserId,
        url: &str,
        shown: String,
    ) -> (PullRecord, Option<Profile>) {
        let failed = |outcome, reason: &str| {
            (
                PullRecord::new(id, shown.clone(), outcome).reason(reason),
                None,
            )
        };
        let Ok(uri) = url.parse::<Uri>() else {
            return failed(PullOutcome::ConnectError, "the pull URL is not a valid URL");
        };
        if !uri
            .scheme_str()
            .is_some_and(|s| s.eq_ignore_ascii_case("http"))
        {
            return failed(
                PullOutcome::ConnectError,
                "only http:// pull URLs are supported: the emulator's client has no TLS",
            );
        }
        let request = Request::get(uri)
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(ACCEPT, "application/json")
            .body(Empty::new());
        let Ok(request) = request else {
            return failed(PullOutcome::ConnectError, "the pull URL is not a valid URL");
        };

        // One deadline for the whole pull. A timeout too long to add to the clock (up to
        // `Duration::MAX`, "no timeout") has none, rather than panicking in the worker.
        let deadline = Instant::now().checked_add(self.timeout);
        let response = match within(deadline, self.client.request(request)).await {
            None => return failed(PullOutcome::Timeout, &self.timeout_reason()),
            Some(Err(error)) => return failed(PullOutcome::ConnectError, &error_chain(&error)),
            Some(Ok(response)) => response,
        };
        let status = response.status();
        let record = PullRecord::new(id, shown, PullOutcome::Stored).status(status.as_u16());
        let fail = |outcome, reason: Option<String>| {
            let mut record = record.clone();
            record.outcome = outcome;
            record.reason = reason;
            (record, None)
        };
        match status {
            StatusCode::OK => {}
            StatusCode::FORBIDDEN => return fail(PullOutcome::Forbidden, None),
            StatusCode::NOT_FOUND => return fail(PullOutcome::NotFound, None),
            other => {
                let reason = format!("expected 200, 403 or 404, got {other}");
                return fail(PullOutcome::HttpError, Some(reason));
            }
        }

        let too_large = || {
            format!(
                "the response body is larger than {} bytes",
                self.max_body_bytes
            )
        };
        let declared = response
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_body_bytes as u64) {
            return fail(PullOutcome::InvalidDocument, Some(too_large()));
        }
        let body = Limited::new(response.into_body(), self.max_body_bytes).collect();
        let body = match within(deadline, body).await {
            None => return fail(PullOutcome::Timeout, Some(self.timeout_reason())),
            Some(Err(error)) if error.is::<LengthLimitError>() => {
                return fail(PullOutcome::InvalidDocument, Some(too_large()));
            }
            Some(Err(error)) => {
                let reason = format!("the response body broke off: {}", error_chain(&*error));
                return fail(PullOutcome::ConnectError, Some(reason));
            }
            Some(Ok(collected)) => collected.to_bytes(),
        };

        match judge(id, &body) {
            Ok(profile) => (record, Some(profile)),
            Err(reason) => fail(PullOutcome::InvalidDocument, Some(reason)),
        }
    }

    fn timeout_reason(&self) -> String {
        format!("no complete answer within {:?}", self.timeout)
    }
}

/// Runs `future` until `deadline` (`None` when it passes first), or to completion when there
/// is no deadline.
async fn within<F: Future>(deadline: Option<Instant>, future: F) -> Option<F::Output> {
    match deadline {
        None => Some(future.await),
        // The timer rounds a deadline up to its next millisecond tick, which would give a
        // zero timeout time to succeed: a deadline already reached is checked here.
        Some(deadline) if deadline <= Instant::now() => None,
        Some(deadline) => timeout_at(deadline, future).await.ok(),
    }
}

/// The profile in a 200 body, or why it cannot be stored.
fn judge(id: &str, body: &[u8]) -> Result<Profile, String> {
    let profile: Profile = serde_json::from_slice(body)
        .map_err(|error| format!("the response is not a profile document: {error}"))?;
    profile.validate().map_err(|error| error.to_string())?;
    if profile.id != id {
        return Err(format!(
            "profile `id` is {:?} but {id:?} was requested",
            profile.id
        ));
    }
    Ok(profile)
}

/// An error and its sources, `outer: inner: …`, since hyper's top-level messages alone
/// ("client error (Connect)") do not say what happened.
fn error_chain(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::judge;

    #[test]
    fn judge_names_the_problem() {
        assert!(judge("ann", br#"{"id":"ann","display_name":"Ann"}"#).is_ok());
        let not_json = judge("ann", b"<html>").unwrap_err();
        assert!(not_json.contains("not a profile document"), "{not_json}");
        let other = judge("ann", br#"{"id":"bob","display_name":"Bob"}"#).unwrap_err();
        assert!(
            other.contains("`id`") && other.contains("\"bob\""),
            "{other}"
        );
        let image = br#"{"id":"ann","display_name":"Ann","image_url":"nope"}"#;
        assert!(judge("ann", image).unwrap_err().contains("image_url"));
    }
}
