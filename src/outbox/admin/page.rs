//! The admin page's two renderings of one snapshot: HTML (maud, every value escaped) and
//! JSON.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde_json::json;

use super::super::{AwaitingPull, OutboxStats, ParkedPing};

/// What one page shows, read from the outbox for one request.
pub(super) struct Snapshot {
    pub(super) stats: OutboxStats,
    pub(super) parked: Vec<ParkedPing>,
    pub(super) awaiting: Vec<AwaitingPull>,
    /// Rows listed at most, per list.
    pub(super) limit: u32,
    pub(super) read_only: bool,
}

/// The page's own style: inline, so the page fetches nothing.
const CSS: &str = "\
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d232a;background:#fbfbfa}\
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;margin:2rem 0 .5rem}\
table{border-collapse:collapse;width:100%;background:#fff}\
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e3e5e8;vertical-align:top}\
th{font-weight:600;background:#f1f3f5}td.num{text-align:right;font-variant-numeric:tabular-nums}\
.counts{display:flex;gap:1rem;flex-wrap:wrap}.count{background:#fff;border:1px solid #e3e5e8;border-radius:6px;padding:.6rem 1rem;min-width:9rem}\
.count b{display:block;font-size:1.6rem}.count.parked b{color:#b42318}\
.reason{font-family:ui-monospace,monospace;font-size:.85rem;white-space:pre-wrap;word-break:break-word}\
.kind{font-family:ui-monospace,monospace;font-size:.85rem;background:#f1f3f5;border-radius:4px;padding:0 .3rem}\
.notice{background:#ecfdf3;border:1px solid #abefc6;border-radius:6px;padding:.5rem 1rem}\
.muted{color:#667085}form{display:inline}button{font:inherit;cursor:pointer;padding:.2rem .7rem}\
";

/// A duration as an operator reads it: `42s`, `3m 12s`, `5h 03m`, `2d 04h`.
pub(super) fn age(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {:02}h", secs / 86400, secs % 86400 / 3600),
    }
}

fn since(time: SystemTime) -> Duration {
    SystemTime::now().duration_since(time).unwrap_or_default()
}

fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn age_ms(age: Option<Duration>) -> Option<u64> {
    age.map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX))
}

/// The HTML page. `token` is the CSRF token for its forms (none when read-only); `requeued`
/// the count a requeue just reported (from the redirect's query).
pub(super) fn html(snapshot: &Snapshot, token: Option<&str>, requeued: Option<u64>) -> Markup {
    let stats = &snapshot.stats;
    let buttons = token.filter(|_| !snapshot.read_only);
    let oldest = |age: Option<Duration>| age.map_or_else(|| "—".to_owned(), self::age);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { "Livefyre outbox" }
                style { (PreEscaped(CSS)) }
            }
            body {
                h1 { "Livefyre outbox" }
                @if let Some(count) = requeued {
                    p.notice role="status" { "Requeued " (count) " parked " (if count == 1 { "row" } else { "rows" }) "." }
                }
                div.counts {
                    div.count.pending { b { (stats.pending) } "pending" }
                    div.count.in-flight { b { (stats.in_flight) } "in flight" }
                    div.count.awaiting { b { (stats.awaiting_pull) } "awaiting pull" }
                    div.count.parked { b { (stats.parked) } "parked" }
                }
                table.ages {
                    tr { th { "oldest pending" } td.num { (oldest(stats.oldest_pending_age)) } }
                    tr { th { "oldest awaiting pull" } td.num { (oldest(stats.oldest_awaiting_pull_age)) } }
                    tr { th { "most attempts" } td.num { (stats.max_attempts) } }
                }
                h2 #parked { "Parked" }
                @if snapshot.parked.is_empty() {
                    p.muted { "Nothing is parked." }
                } @else {
                    @if let Some(token) = buttons {
                        p {
                            form method="post" action="?" {
                                input type="hidden" name="csrf" value=(token);
                                button type="submit" name="all" value="1" { "Requeue all parked" }
                            }
                        }
                    }
                    table.parked {
                        tr {
                            th { "user" } th { "kind" } th { "attempts" } th { "parked for" } th { "reason" }
                            @if buttons.is_some() { th {} }
                        }
                        @for row in &snapshot.parked {
                            tr {
                                td.user { (row.user_id) }
                                td { span.kind { (row.kind) } }
                                td.num { (row.attempts) }
                                td.num { (age(since(row.parked_at))) }
                                td.reason { (row.reason) }
                                @if let Some(token) = buttons {
                                    td {
                                        form method="post" action="?" {
                                            input type="hidden" name="csrf" value=(token);
                                            input type="hidden" name="user" value=(row.user_id);
                                            button type="submit" { "Requeue" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    (more(stats.parked, snapshot.parked.len(), snapshot.limit))
                }
                h2 #awaiting { "Awaiting their pull" }
                @if snapshot.awaiting.is_empty() {
                    p.muted { "No accepted ping awaits its pull." }
                } @else {
                    table.awaiting {
                        tr { th { "user" } th { "waiting for" } th { "unanswered pings" } }
                        @for row in &snapshot.awaiting {
                            tr {
                                td.user { (row.user_id) }
                                td.num { (age(row.age)) }
                                td.num { (row.unpulled_pings) }
                            }
                        }
                    }
                    (more(stats.awaiting_pull, snapshot.awaiting.len(), snapshot.limit))
                }
                p.muted {
                    a href="?format=json" { "JSON" }
                    @if snapshot.read_only { " · read-only" }
                }
            }
        }
    }
}

/// "Showing the first N of M" when a list was cut.
fn more(total: u64, shown: usize, limit: u32) -> Markup {
    html! {
        @if total > shown as u64 && shown >= limit as usize {
            p.muted { "Showing the first " (shown) " of " (total) "." }
        }
    }
}

/// The JSON twin: the fields of `outbox status` (the server example's command), plus the
/// awaiting rows and the mode.
pub(super) fn json(snapshot: &Snapshot) -> serde_json::Value {
    let stats = &snapshot.stats;
    let parked: Vec<_> = snapshot
        .parked
        .iter()
        .map(|row| {
            json!({
                "user_id": row.user_id,
                "attempts": row.attempts,
                "reason": row.reason,
                "kind": row.kind.as_str(),
                "parked_at_ms": millis(row.parked_at),
            })
        })
        .collect();
    let awaiting: Vec<_> = snapshot
        .awaiting
        .iter()
        .map(|row| {
            json!({
                "user_id": row.user_id,
                "since_ms": millis(row.since),
                "age_ms": age_ms(Some(row.age)),
                "unpulled_pings": row.unpulled_pings,
            })
        })
        .collect();
    json!({
        "pending": stats.pending,
        "in_flight": stats.in_flight,
        "awaiting_pull": stats.awaiting_pull,
        "parked": stats.parked,
        "oldest_pending_age_ms": age_ms(stats.oldest_pending_age),
        "oldest_awaiting_pull_age_ms": age_ms(stats.oldest_awaiting_pull_age),
        "max_attempts": stats.max_attempts,
        "parked_rows": parked,
        "awaiting_rows": awaiting,
        "read_only": snapshot.read_only,
    })
}

#[cfg(test)]
mod tests {
    use super::age;
    use std::time::Duration;

    #[test]
    fn ages_read_well() {
        for (secs, text) in [
            (0, "0s"),
            (59, "59s"),
            (192, "3m 12s"),
            (5 * 3600 + 180, "5h 03m"),
            (2 * 86400 + 4 * 3600, "2d 04h"),
        ] {
            assert_eq!(age(Duration::from_secs(secs)), text);
        }
    }
}
