//! `GET /_emulator/`: one server-rendered HTML page of everything the emulator holds — the
//! registered template, the remote profiles, the pull and ping logs and the ping faults in
//! force. Inline CSS, no script, nothing fetched from elsewhere; it reloads itself every 2 s.
//!
//! It never shows a token: the template and the pull URLs have every `lftoken` value
//! replaced, and every text shown is scrubbed of anything shaped like a JWT (an endpoint may
//! echo the token it got into a profile).

use std::time::{SystemTime, UNIX_EPOCH};

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::state::State;
use super::{PullOutcome, PullRecord};
use crate::network::Network;
use crate::url::REDACTED;

/// Most records of each log shown, newest first.
const SHOWN: usize = 200;

const CSS: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#1d1f21;background:#fafafa}\
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .4em}\
.muted{color:#666}code,pre{font:12px/1.35 ui-monospace,monospace}\
pre{margin:0;white-space:pre-wrap;word-break:break-all}\
table{border-collapse:collapse;width:100%;background:#fff}\
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f0f0f0}.ok{color:#17692b;font-weight:600}.bad{color:#a61b1b;font-weight:600}\
.none{color:#666;font-style:italic}";

/// The page, as of now.
pub(super) fn render(network: &Network, state: &State) -> String {
    let template = state.pulls.template();
    let profiles = state.pulls.profiles();
    let pulls = state.pulls.pull_log();
    let pings = state.pings.records();
    let faults = state.faults.describe();
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="refresh" content="2";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Livefyre emulator" }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "Livefyre emulator" }
                p.muted {
                    "Network " code { (network.name()) }
                    " · this page reloads every 2 s · JSON: "
                    a href="/_emulator/pulls" { "pulls" } ", "
                    a href="/_emulator/pings" { "pings" }
                }
                section #template {
                    h2 { "Pull URL template" }
                    @match &template {
                        Some(template) => code #template-url { (scrub(&template.redacted_template())) },
                        None => p.none { "None registered yet: POST / with actor_token and pull_profile_url." },
                    }
                }
                section #profiles {
                    h2 { "Remote profiles (" (profiles.len()) ")" }
                    @if profiles.is_empty() {
                        p.none { "No profile stored yet." }
                    } @else {
                        table {
                            tr { th { "id" } th { "display name" } th { "profile" } }
                            @for profile in &profiles {
                                tr.profile {
                                    td { code { (profile.id.as_str()) } }
                                    td { (scrub(&profile.display_name)) }
                                    td { pre { (scrub(&serde_json::to_string_pretty(profile).unwrap_or_default())) } }
                                }
                            }
                        }
                    }
                }
                section #pulls {
                    h2 { "Pulls (" (pulls.len()) ", newest first)" }
                    @if pulls.is_empty() {
                        p.none { "No pull yet." }
                    } @else {
                        table {
                            tr { th { "finished" } th { "id" } th { "status" } th { "outcome" } th { "reason" } th { "URL" } }
                            @for record in pulls.iter().rev().take(SHOWN) {
                                (pull_row(record))
                            }
                        }
                    }
                }
                section #pings {
                    h2 { "Pings (" (pings.len()) ", newest first)" }
                    @if pings.is_empty() {
                        p.none { "No ping yet." }
                    } @else {
                        table {
                            tr { th { "arrived" } th { "id" } th { "answer" } th { "took" } }
                            @for record in pings.iter().rev().take(SHOWN) {
                                tr.ping {
                                    td { (clock(record.arrived)) }
                                    td { code { (record.id.as_str()) } }
                                    td class=(if record.accepted() { "ok" } else { "bad" }) { (record.answer) }
                                    td { (millis(record.arrived, record.answered)) " ms" }
                                }
                            }
                        }
                    }
                }
                section #faults {
                    h2 { "Ping faults in force" }
                    @if faults.is_empty() {
                        p.none { "None: pings are answered normally." }
                    } @else {
                        table {
                            tr { th { "fault" } th { "for" } }
                            @for (fault, limit) in &faults {
                                tr.fault { td { (fault) } td { (limit) } }
                            }
                        }
                    }
                }
            }
        }
    };
    page.into_string()
}

fn pull_row(record: &PullRecord) -> Markup {
    let class = if record.outcome == PullOutcome::Stored {
        "ok"
    } else {
        "bad"
    };
    html! {
        tr.pull {
            td { (clock(record.time)) }
            td { code { (record.id.as_str()) } }
            td { @if let Some(status) = record.status { (status) } @else { "—" } }
            td class=(class) { (record.outcome) }
            td { @if let Some(reason) = &record.reason { (scrub(reason)) } }
            td { code { (scrub(&record.url)) } }
        }
    }
}

/// Milliseconds from `from` to `to` (0 if the clock went back).
fn millis(from: SystemTime, to: SystemTime) -> u128 {
    to.duration_since(from).map_or(0, |took| took.as_millis())
}

/// `YYYY-MM-DD HH:MM:SS.mmm` UTC.
fn clock(time: SystemTime) -> String {
    let since = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil-from-days, for days since 1970-01-01 (never negative here).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}.{:03}",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

/// `text` with everything shaped like a JWT (three base64url parts, the first starting with
/// `eyJ`, a JSON object's start) replaced by `REDACTED`.
fn scrub(text: &str) -> String {
    let base64url = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        out.push_str(&rest[..at]);
        let candidate = &rest[at..];
        let mut end = 0;
        let mut parts = 0;
        for part in candidate.split('.') {
            let len = part.find(|c: char| !base64url(c)).unwrap_or(part.len());
            end += len;
            parts += 1;
            if len < part.len() || parts == 3 {
                break;
            }
            // The dot.
            end += 1;
        }
        if parts >= 3 && !candidate[..end].ends_with('.') {
            out.push_str(REDACTED);
            rest = &candidate[end..];
        } else {
            out.push_str("eyJ");
            rest = &candidate[3..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwts_are_scrubbed_and_the_rest_kept() {
        assert_eq!(scrub("a eyJhb.eyJk.c2ln b"), "a REDACTED b");
        assert_eq!(scrub("eyJhb.eyJk.c2ln.more"), "REDACTED.more");
        assert_eq!(scrub("x=eyJhb.eyJk"), "x=eyJhb.eyJk");
        assert_eq!(scrub("eyJ"), "eyJ");
        assert_eq!(scrub("plain"), "plain");
        assert_eq!(scrub("héllo eyJ.a"), "héllo eyJ.a");
    }

    #[test]
    fn clock_is_utc_calendar_time() {
        let time = UNIX_EPOCH + std::time::Duration::from_millis(1_732_371_695_125);
        assert_eq!(clock(time), "2024-11-23 14:21:35.125");
        assert_eq!(clock(UNIX_EPOCH), "1970-01-01 00:00:00.000");
    }
}
