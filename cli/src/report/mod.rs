//! The five report formats of `livefyre check`.

mod html;
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
        Format::Html => html::render(report),
    }
}

/// The run's verdict in one sentence, as the human and HTML reports end and start.
fn verdict(report: &Report) -> &'static str {
    let summary = report.summary();
    if report.exit_code() == 0 {
        "OK: every MUST check passed"
    } else if summary.fail > 0 {
        "FAILED: a MUST check failed"
    } else if summary.inconclusive > 0 {
        "FAILED: a MUST check could not be verified (inconclusive)"
    } else {
        "FAILED: a warning, under --strict"
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

/// `text` without line breaks, control characters (C0, DEL, C1) or the bidirectional
/// overrides that reorder what a terminal shows.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn one_line_drops_what_a_terminal_would_obey() {
        assert_eq!(
            one_line("a\nb\u{1b}[31mc\u{9b}d\u{202e}e\u{7f}"),
            "a b [31mc d e "
        );
    }
}
