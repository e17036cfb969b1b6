//! `outbox status` and `outbox requeue [ID...]`: the outbox seen from the command line.

use std::error::Error;

use serde_json::json;
use sqlx::Any;
use tower_livefyre::UserId;
use tower_livefyre::outbox::Outbox;

/// The most parked rows `status` lists.
const PARKED_LISTED: u32 = 1000;

pub async fn run(outbox: &Outbox<Any>, args: &[String]) -> Result<(), Box<dyn Error>> {
    match args.split_first() {
        Some((command, [])) if command == "status" => status(outbox).await,
        Some((command, ids)) if command == "requeue" => requeue(outbox, ids).await,
        _ => Err("usage: server outbox status | server outbox requeue [ID...]".into()),
    }
}

/// One JSON object on stdout: the counts per state, the ages, and the parked rows.
async fn status(outbox: &Outbox<Any>) -> Result<(), Box<dyn Error>> {
    let stats = outbox.stats().await?;
    let parked = outbox.parked(PARKED_LISTED).await?;
    let millis = |age: Option<std::time::Duration>| {
        age.map(|age| u64::try_from(age.as_millis()).unwrap_or(u64::MAX))
    };
    let parked: Vec<_> = parked
        .iter()
        .map(|row| {
            json!({
                "user_id": row.user_id,
                "attempts": row.attempts,
                "reason": row.reason,
                "kind": row.kind.as_str(),
            })
        })
        .collect();
    let report = json!({
        "pending": stats.pending,
        "in_flight": stats.in_flight,
        "awaiting_pull": stats.awaiting_pull,
        "parked": stats.parked,
        "oldest_pending_age_ms": millis(stats.oldest_pending_age),
        "oldest_awaiting_pull_age_ms": millis(stats.oldest_awaiting_pull_age),
        "max_attempts": stats.max_attempts,
        "parked_rows": parked,
    });
    println!("{report}");
    Ok(())
}

/// Requeues every parked row, or the ones named; prints how many.
async fn requeue(outbox: &Outbox<Any>, ids: &[String]) -> Result<(), Box<dyn Error>> {
    let ids = ids
        .iter()
        .map(|id| id.parse::<UserId>().map_err(|e| format!("{id:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let requeued = if ids.is_empty() {
        outbox.requeue_all().await?
    } else {
        let mut requeued = 0;
        for id in &ids {
            requeued += u64::from(outbox.requeue(id).await?);
        }
        requeued
    };
    println!("requeued {requeued} parked rows");
    Ok(())
}
