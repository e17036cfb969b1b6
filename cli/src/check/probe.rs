//! One request to the endpoint under check, and what is shown of it: the request with every
//! token replaced by a description, the answer with any of our tokens redacted.
//!
//! A failed exchange is recorded, never fatal by itself: [`Prober::send`] says whether the
//! endpoint was reached (an HTTP answer began: a body over the cap, a header hyper refuses)
//! or not (no connection, no answer in time), and only the run decides what that means.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;

use super::redact::Redactor;

/// Bodies are read up to this size: a profile is a few hundred bytes.
const MAX_BODY: usize = 64 * 1024;

/// How much of a body a report shows.
const BODY_EXCERPT: usize = 400;

/// The HTTP(S) client the checks share.
pub struct Prober {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    timeout: Duration,
    /// Every token sent so far, so that none is ever shown.
    redactor: Redactor,
}

/// A request to send: the real URL and headers, and how to show them.
pub struct Probe {
    /// The URL sent, token included.
    pub url: String,
    /// The URL as shown, each token replaced by `<…>`.
    pub shown_url: String,
    /// Extra request headers: name, value sent, value shown.
    pub headers: Vec<(&'static str, String, String)>,
    /// The tokens this request carries (to redact from the answer).
    pub tokens: Vec<String>,
}

/// What was sent and what came back, as reports show it.
#[derive(Debug, Clone, Serialize)]
pub struct Exchange {
    /// What was sent (tokens redacted).
    pub sent: Sent,
    /// What came back, or why nothing did.
    #[serde(flatten)]
    pub answer: Answer,
}

/// The request, tokens redacted.
#[derive(Debug, Clone, Serialize)]
pub struct Sent {
    /// Always `GET`: pulls are GETs.
    pub method: &'static str,
    /// The URL, tokens redacted.
    pub url: String,
    /// Headers we set, tokens redacted.
    pub headers: Vec<(String, String)>,
}

/// The answer, or the transport error.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// An HTTP answer.
    Received(Received),
    /// No HTTP answer: connection refused, TLS failure, timeout, …
    Error(String),
}

/// An HTTP answer as shown: tokens redacted, body cut short.
#[derive(Debug, Clone, Serialize)]
pub struct Received {
    /// Status code.
    pub status: u16,
    /// Headers, in order, values lossily decoded and redacted.
    pub headers: Vec<(String, String)>,
    /// Body length in bytes (of what was read, up to the cap).
    pub body_len: usize,
    /// The start of the body, lossily decoded and redacted.
    pub body: String,
    /// Whether any token we sent came back (in a header or the body).
    #[serde(skip)]
    pub echoed_token: bool,
    /// The whole body read (not shown; for the document checks).
    #[serde(skip)]
    pub full_body: Bytes,
    /// `Content-Type`, if any.
    #[serde(skip)]
    pub content_type: Option<String>,
}

impl Received {
    /// `403`, or `200 with a 190-byte body`.
    pub fn summary(&self) -> String {
        if self.body_len == 0 {
            self.status.to_string()
        } else {
            format!("{} with a {}-byte body", self.status, self.body_len)
        }
    }

    /// The status as an `http` type.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl Exchange {
    /// Every string of the exchange that a report shows, passed through `redactor`.
    pub fn redact(&mut self, redactor: &Redactor) {
        let redact = |text: &mut String| *text = redactor.redact(text);
        redact(&mut self.sent.url);
        for (name, value) in &mut self.sent.headers {
            redact(name);
            redact(value);
        }
        match &mut self.answer {
            Answer::Error(error) => redact(error),
            Answer::Received(received) => {
                for (name, value) in &mut received.headers {
                    redact(name);
                    redact(value);
                }
                redact(&mut received.body);
                if let Some(content_type) = &mut received.content_type {
                    redact(content_type);
                }
            }
        }
    }

    /// The answer, if there was one.
    pub fn received(&self) -> Option<&Received> {
        match &self.answer {
            Answer::Received(received) => Some(received),
            Answer::Error(_) => None,
        }
    }
}

/// An exchange that failed: why, and whether the endpoint was reached at all.
struct Failure {
    /// The reason, redacted.
    message: String,
    /// Whether an HTTP answer began (so the endpoint is there, this exchange went wrong).
    reached: bool,
}

impl Prober {
    /// A client with the ring rustls provider and the webpki roots, each answer bounded by
    /// `timeout`.
    pub fn new(timeout: Duration) -> Result<Self, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|error| format!("TLS setup: {error}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
            redactor: Redactor::default(),
        })
    }

    /// Every token sent so far: what reports must never show.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Sends `probe` and records the exchange, and whether the endpoint was reached: `false`
    /// only when no HTTP answer began (no connection, nothing within the timeout).
    pub async fn send(&mut self, probe: Probe) -> (Exchange, bool) {
        for token in &probe.tokens {
            self.redactor.add(token);
        }
        let sent = Sent {
            method: "GET",
            url: probe.shown_url.clone(),
            headers: probe
                .headers
                .iter()
                .map(|(name, _, shown)| ((*name).to_owned(), shown.clone()))
                .collect(),
        };
        match self.fetch(&probe).await {
            Ok((status, headers, body)) => {
                let received = self.received(status, &headers, body);
                (
                    Exchange {
                        sent,
                        answer: Answer::Received(received),
                    },
                    true,
                )
            }
            Err(failure) => (
                Exchange {
                    sent,
                    answer: Answer::Error(self.redactor.redact(&failure.message)),
                },
                failure.reached,
            ),
        }
    }

    async fn fetch(&self, probe: &Probe) -> Result<(StatusCode, HeaderMap, Bytes), Failure> {
        let mut request = Request::get(probe.url.as_str());
        for (name, value, _) in &probe.headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.body(Empty::new()).map_err(|error| Failure {
            message: format!("invalid request: {error}"),
            reached: false,
        })?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|error| Failure {
                    message: describe(&error),
                    // Not a connection failure: the endpoint answered something hyper refused,
                    // or closed the connection mid-answer.
                    reached: !error.is_connect(),
                })?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, MAX_BODY)
                .collect()
                .await
                .map_err(|error| Failure {
                    message: format!(
                        "answered {}, then reading the body failed: {error} (the cap is {} KiB)",
                        parts.status.as_u16(),
                        MAX_BODY / 1024
                    ),
                    reached: true,
                })?
                .to_bytes();
            Ok((parts.status, parts.headers, body))
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| Failure {
                message: format!("no answer within {:?}", self.timeout),
                reached: false,
            })?
    }

    fn received(&self, status: StatusCode, headers: &HeaderMap, body: Bytes) -> Received {
        let mut echoed_token = false;
        let headers = headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                let shown = self.redactor.redact(&value);
                echoed_token |= shown != value;
                (name.as_str().to_owned(), shown)
            })
            .collect::<Vec<_>>();
        let text = String::from_utf8_lossy(&body);
        let redacted = self.redactor.redact(&text);
        echoed_token |= redacted != text;
        let content_type = headers
            .iter()
            .find(|(name, _)| name == "content-type")
            .map(|(_, value)| value.clone());
        Received {
            status: status.as_u16(),
            headers,
            body_len: body.len(),
            body: excerpt(&redacted),
            echoed_token,
            full_body: body,
            content_type,
        }
    }
}

/// The error and its sources on one line (hyper's top-level message alone says little).
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

fn excerpt(text: &str) -> String {
    match text.char_indices().nth(BODY_EXCERPT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
