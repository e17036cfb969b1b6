//! The four report formats of `livefyre check`.

mod human;
mod json;
mod junit;
mod tap;

use crate::args::Format;
use crate::check::{Answer, Exchange, Report};

/// `report` in `format`, ready to print.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Human => human::render(report),
        Format::Json => json::render(report),
        Format::Junit => junit::render(report),
        Format::Tap => tap::render(report),
    }
}

/// The request on one line: `GET URL [header: value]`.
fn sent_line(exchange: &Exchange) -> String {
    let mut line = format!("{} {}", exchange.sent.method, exchange.sent.url);
    for (name, value) in &exchange.sent.headers {
        line.push_str(&format!(" [{name}: {value}]"));
    }
    line
}

/// The answer on one line: status, type, size and the start of the body.
fn got_line(exchange: &Exchange) -> String {
    match &exchange.answer {
        Answer::Error(error) => format!("no answer: {error}"),
        Answer::Received(received) => {
            let mut line = received.status.to_string();
            if let Some(content_type) = &received.content_type {
                line.push_str(&format!(", {content_type}"));
            }
            line.push_str(&format!(", {} bytes", received.body_len));
            if received.body_len > 0 {
                line.push_str(&format!(": {}", one_line(&received.body)));
            }
            line
        }
    }
}

/// `text` without line breaks or other control characters.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
