//! `pull/found/*` and, through [`document`], `pull/document/*`: what a
//! valid pull for the known user gets back.

use super::catalog::CheckId;
use super::document;
use super::probe::Exchange;
use super::result::{Finding, Outcome};

/// The longest display name Livefyre documents (D-UAT).
const MAX_DISPLAY_NAME_CHARS: usize = tower_livefyre::token::MAX_DISPLAY_NAME_CHARS;
/// The findings of every `pull/found/*` and `pull/document/*` check on the answer to a valid
/// pull for `user`, in catalog order.
pub(super) fn judge(user: &str, exchange: &Exchange) -> Vec<(CheckId, Vec<Finding>)> {
    let mut judged = Vec::new();
    let mut push = |check: CheckId, findings: Vec<Finding>| judged.push((check, findings));
    judge_into(user, exchange, &mut push);
    judged
}

fn judge_into(user: &str, exchange: &Exchange, push: &mut impl FnMut(CheckId, Vec<Finding>)) {
    let Some(received) = exchange.received() else {
        push(CheckId::FoundStatus, vec![Finding::no_answer(exchange)]);
        skip_all(push, "no answer to the pull");
        return;
    };
    if received.status != 200 {
        let hint = if received.status == 403 {
            "; it refused a valid system token: are --network and the key right?"
        } else {
            ""
        };
        push(
            CheckId::FoundStatus,
            vec![Finding::new(
                Outcome::Fail,
                format!(
                    "answered {}, not 200, for user {user:?}{hint}",
                    received.summary()
                ),
            )],
        );
        skip_all(push, "no 200 answer to read a profile from");
        return;
    }
    push(
        CheckId::FoundStatus,
        vec![Finding::new(Outcome::Pass, "200")],
    );

    let mut json_findings = Vec::new();
    let media_type = received
        .content_type
        .as_deref()
        .and_then(|value| value.split(';').next())
        .map(|media| media.trim().to_ascii_lowercase());
    if media_type.as_deref() != Some("application/json") {
        json_findings.push(Finding::new(
            Outcome::Fail,
            format!(
                "Content-Type is {}, not application/json",
                received
                    .content_type
                    .as_deref()
                    .map_or("missing".to_owned(), |t| format!("{t:?}"))
            ),
        ));
    }
    let document = match serde_json::from_slice::<serde_json::Value>(&received.full_body) {
        Ok(serde_json::Value::Object(document)) => Some(document),
        Ok(other) => {
            json_findings.push(Finding::new(
                Outcome::Fail,
                // Its kind, not its start: a cut-off echo of a token would escape redaction
                // (the answer's redacted excerpt is in the report beside it).
                format!(
                    "the body is JSON but not an object: it is {}",
                    json_kind(&other)
                ),
            ));
            None
        }
        Err(error) => {
            json_findings.push(Finding::new(
                Outcome::Fail,
                format!("the body is not JSON: {error}"),
            ));
            None
        }
    };
    push(CheckId::FoundJson, json_findings);
    let Some(document) = document else {
        skip_all_but_json(push, "no JSON object to read");
        return;
    };

    let id = match document.get("id") {
        Some(serde_json::Value::String(id)) if id == user => {
            Finding::new(Outcome::Pass, format!("{id:?}"))
        }
        Some(serde_json::Value::String(id)) => Finding::new(
            Outcome::Fail,
            format!("`id` is {id:?} but the pull asked for {user:?}"),
        ),
        Some(other) => Finding::new(Outcome::Fail, format!("`id` is not a string: {other}")),
        None => Finding::new(Outcome::Fail, "no `id` field"),
    };
    push(CheckId::FoundId, vec![id]);

    let display_name = match document.get("display_name") {
        Some(serde_json::Value::String(name)) if name.trim().is_empty() => {
            Finding::new(Outcome::Fail, "`display_name` is empty")
        }
        Some(serde_json::Value::String(name)) if name.chars().count() > MAX_DISPLAY_NAME_CHARS => {
            Finding::new(
                Outcome::Warn,
                format!(
                    "`display_name` has {} characters; Livefyre documents at most {MAX_DISPLAY_NAME_CHARS}",
                    name.chars().count()
                ),
            )
        }
        Some(serde_json::Value::String(name)) => Finding::new(Outcome::Pass, format!("{name:?}")),
        Some(other) => Finding::new(
            Outcome::Fail,
            format!("`display_name` is not a string: {other}"),
        ),
        None => Finding::new(Outcome::Fail, "no `display_name` field (it is required)"),
    };
    push(CheckId::FoundDisplayName, vec![display_name]);

    for (check, findings) in document::check(&document) {
        push(check, findings);
    }
}

/// Every found/document check but status, skipped.
fn skip_all(push: &mut impl FnMut(CheckId, Vec<Finding>), why: &str) {
    push(CheckId::FoundJson, vec![Finding::new(Outcome::Skip, why)]);
    skip_all_but_json(push, why);
}

fn skip_all_but_json(push: &mut impl FnMut(CheckId, Vec<Finding>), why: &str) {
    for check in CheckId::ALL.iter().filter(|check| {
        matches!(check, CheckId::FoundId | CheckId::FoundDisplayName)
            || check.id().starts_with("pull/document/")
    }) {
        push(*check, vec![Finding::new(Outcome::Skip, why)]);
    }
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::check::probe::{Answer, Received, Sent};

    /// A 200 `application/json` answer with `body`.
    fn answer(body: &'static str) -> Exchange {
        Exchange {
            sent: Sent {
                method: "GET",
                url: "http://x/pull?id=ann".to_owned(),
                headers: Vec::new(),
            },
            answer: Answer::Received(Received {
                status: 200,
                headers: Vec::new(),
                body_len: body.len(),
                body: String::new(),
                echoed_token: false,
                full_body: Bytes::from_static(body.as_bytes()),
                content_type: Some("application/json".to_owned()),
            }),
        }
    }

    #[test]
    fn a_body_that_is_not_an_object_is_named_by_its_kind_not_quoted() {
        // A token echoed as the whole body: no part of it may be quoted, even cut short.
        let judged = judge(
            "ann",
            &answer(r#""eyJhbGciOiJIUzI1NiJ9.eyJkb21haW4iOiJ4In0.sig""#),
        );
        let (check, findings) = &judged[1];
        assert_eq!(*check, CheckId::FoundJson);
        assert_eq!(
            findings[0].message,
            "the body is JSON but not an object: it is a string"
        );
        assert!(judged.iter().all(|(_, findings)| {
            findings
                .iter()
                .all(|finding| !finding.message.contains("eyJ"))
        }));
    }
}
