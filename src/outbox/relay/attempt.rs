//! One attempt: a claimed row becomes its [`Outcome`]. Logs it, never with a token (the
//! errors hold none).

use tokio::time::Instant;

use super::{Settings, millis};
use crate::outbox::delivery::{Verdict, deliver};
use crate::outbox::park_kind::ParkKind;
use crate::outbox::store::{Claim, Outcome};
use crate::ping::client::PingClient;

/// The outcome for `row`: a ping through `client`, cut short when the row's lease ends at
/// `lease_end` (so that no two pings for one user are ever in flight at once), or no ping at
/// all when confirmation gave up on it.
pub(super) async fn attempt(
    client: PingClient,
    settings: Settings,
    row: Claim,
    lease_end: Instant,
) -> Outcome {
    let confirmation = settings.confirmation;
    if settings.confirm && row.awaiting {
        if row.unpulled_pings >= confirmation.max_unpulled_pings {
            let reason = format!(
                "Livefyre accepted {} pings but never pulled; check the registered pull URL \
                 (`livefyre check`) and that the pull endpoint confirms pulls \
                 (Outbox::confirm_pulls)",
                row.unpulled_pings
            );
            tracing::error!(
                target: "tower_livefyre::outbox",
                user_id = row.user_id,
                generation = row.generation,
                pings = row.unpulled_pings,
                "no pull followed the accepted pings; row parked until requeued or changed"
            );
            return Outcome::Park {
                row,
                reason,
                kind: ParkKind::NeverPulled,
            };
        }
        tracing::warn!(
            target: "tower_livefyre::outbox",
            user_id = row.user_id,
            generation = row.generation,
            unpulled_pings = row.unpulled_pings,
            deadline_ms = millis(confirmation.deadline),
            "no pull within the deadline; pinging again"
        );
    }
    let failures = u32::try_from(row.attempts.saturating_add(1)).unwrap_or(u32::MAX);
    let verdict = match tokio::time::timeout_at(lease_end, deliver(&client, &row.user_id)).await {
        Ok(verdict) => verdict,
        Err(_) => Verdict::Retry {
            reason: format!(
                "no answer within the relay's lease ({} ms); the ping was cancelled",
                millis(settings.lease)
            ),
            retry_after: None,
        },
    };
    match verdict {
        Verdict::Accepted if settings.confirm => {
            tracing::info!(
                target: "tower_livefyre::outbox",
                user_id = row.user_id,
                generation = row.generation,
                "ping accepted; awaiting its pull"
            );
            Outcome::AwaitPull(row)
        }
        Verdict::Accepted => {
            tracing::info!(
                target: "tower_livefyre::outbox",
                user_id = row.user_id,
                generation = row.generation,
                "ping delivered"
            );
            Outcome::Delivered(row)
        }
        Verdict::Retry {
            reason,
            retry_after,
        } => {
            let delay = settings.backoff.delay(failures, retry_after);
            tracing::warn!(
                target: "tower_livefyre::outbox",
                user_id = row.user_id,
                attempts = failures,
                delay_ms = millis(delay),
                %reason,
                "ping failed; retrying later"
            );
            Outcome::Retry {
                row,
                reason,
                delay_ms: millis(delay),
            }
        }
        Verdict::Park { reason } => park(row, reason, ParkKind::Refused, failures),
        Verdict::Unsendable { reason } => park(row, reason, ParkKind::InvalidUserId, failures),
    }
}

fn park(row: Claim, reason: String, kind: ParkKind, failures: u32) -> Outcome {
    tracing::error!(
        target: "tower_livefyre::outbox",
        user_id = row.user_id,
        attempts = failures,
        %kind,
        %reason,
        "ping failed for good; row parked until requeued or changed"
    );
    Outcome::Park { row, reason, kind }
}

/// A queued row too old to start within its lease: it goes back to the table, due as it
/// was, for the next claim (this relay's or another's).
pub(super) fn give_back(row: Claim) -> Outcome {
    tracing::debug!(
        target: "tower_livefyre::outbox",
        user_id = row.user_id,
        "row queued for half its lease; given back for the next claim"
    );
    Outcome::Release(row)
}
