//! The outbox admin page in a real browser: the counts and a parked row with its reason; the
//! requeue button makes the row due and the page shows it gone from the parked list; a form
//! on another origin that posts to the page is refused.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::response::Html;
use sqlx::sqlite::SqlitePoolOptions;
use tower_livefyre::outbox::Outbox;

use crate::common::browser::Browser;
use crate::common::scratch::Scratch;
use crate::common::uid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_shows_a_parked_row_requeues_it_and_refuses_a_cross_site_post() {
    let Some(browser) = Browser::start(
        "the_admin_page_shows_a_parked_row_requeues_it_and_refuses_a_cross_site_post",
    )
    .await
    else {
        return;
    };
    let dir = Scratch::new("admin-page");
    let url = dir.sqlite_url("app.db");
    let pool = SqlitePoolOptions::new().connect(&url).await.unwrap();
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    for id in ["ann.lee", "bob"] {
        outbox.enqueue(&mut tx, &uid(id)).await.unwrap();
    }
    tx.commit().await.unwrap();
    // ann's ping was refused: parked as the relay parks a 403.
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    sqlx::query(
        "UPDATE livefyre_outbox SET parked_at = $1, park_kind = 'refused', attempts = 1, \
         last_error = 'Livefyre answered 403 Forbidden: check the network key' \
         WHERE user_id = 'ann.lee'",
    )
    .bind(now_ms)
    .execute(&pool)
    .await
    .unwrap();

    let app = axum::Router::new().nest_service("/admin", outbox.admin());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = format!("http://{}/admin", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    browser.open(&admin).await;
    let counts = browser.text("div.counts").await;
    assert!(
        counts.contains("1\npending") && counts.contains("1\nparked"),
        "{counts:?}"
    );
    let parked = browser.text("table.parked").await;
    assert!(
        parked.contains("ann.lee")
            && parked.contains("refused")
            && parked.contains("403 Forbidden: check the network key"),
        "{parked}"
    );
    browser.screenshot("admin").await;

    browser.click_and_follow("table.parked form button").await;
    let notice = browser.text("p.notice").await;
    assert!(notice.contains("Requeued 1 parked row"), "{notice}");
    let page = browser.text("body").await;
    assert!(page.contains("Nothing is parked."), "{page}");
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.pending, stats.parked), (2, 0), "{stats:?}");

    // Park ann again, then post to the page from a form served by another origin.
    sqlx::query("UPDATE livefyre_outbox SET parked_at = $1 WHERE user_id = 'ann.lee'")
        .bind(now_ms)
        .execute(&pool)
        .await
        .unwrap();
    let forged = format!(
        "<!doctype html><form method=post action=\"{admin}/requeue\">\
         <input type=hidden name=all value=1><button id=go>go</button></form>"
    );
    let other = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let forged = forged.clone();
            async move { Html(forged) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere = format!("http://{}/", listener.local_addr().unwrap());
    let other = tokio::spawn(async move { axum::serve(listener, other).await.unwrap() });
    browser.open(&elsewhere).await;
    browser.click_and_follow("#go").await;
    let refused = browser.text("body").await;
    assert!(refused.to_lowercase().contains("cross-site"), "{refused}");
    assert_eq!(
        outbox.stats().await.unwrap().parked,
        1,
        "the forged requeue went through"
    );

    browser.stop().await;
    server.abort();
    other.abort();
}
