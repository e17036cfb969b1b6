//! `outbox status` and `outbox requeue [ID...]`: the outbox seen from the command line.

use std::error::Error;

use http_body_util::BodyExt;
use sqlx::Any;
use tower::ServiceExt;
use tower_livefyre::UserId;
use tower_livefyre::outbox::Outbox;

/// The most parked (and awaiting) rows `status` lists.
const PARKED_LISTED: u32 = 1000;

pub async fn run(outbox: &Outbox<Any>, args: &[String]) -> Result<(), Box<dyn Error>> {
    match args.split_first() {
        Some((command, [])) if command == "status" => status(outbox).await,
        Some((command, ids)) if command == "requeue" => requeue(outbox, ids).await,
        _ => Err("usage: server outbox status | server outbox requeue [ID...]".into()),
    }
}

/// One JSON object on stdout: the counts per state, the ages, the parked rows and the rows
/// awaiting their pull: the admin page's JSON twin, so both say the same thing.
async fn status(outbox: &Outbox<Any>) -> Result<(), Box<dyn Error>> {
    let admin = outbox.admin().read_only(true).list_limit(PARKED_LISTED);
    let request =
        http::Request::get("/?format=json").body(http_body_util::Empty::<bytes::Bytes>::new())?;
    let response = admin.oneshot(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    if !status.is_success() {
        return Err(format!("the outbox could not be read ({status})").into());
    }
    println!("{}", String::from_utf8_lossy(&body));
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
