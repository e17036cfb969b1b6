//! The outbox admin page through its public API (`Outbox::admin`, tower `oneshot`): the page
//! and its JSON twin, requeue one and all, cross-site and tokenless POSTs refused, read-only
//! mode, and HTML escaping.

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use sqlx::SqlitePool;
use sqlx::sqlite::SqlitePoolOptions;
use tower::ServiceExt;
use tower_livefyre::UserId;
use tower_livefyre::outbox::{AdminRejection, Outbox, OutboxAdmin};

const HOST: &str = "admin.test:3002";

/// An outbox with one pending user (`dan`), one awaiting its pull (`erin`, 2 pings), and two
/// parked: `ann.lee` (refused, with a hostile reason) and `bob` (never pulled).
async fn outbox() -> (SqlitePool, Outbox<sqlx::Sqlite>) {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await
        .unwrap();
    let outbox = Outbox::new(pool.clone());
    outbox.migrate().await.unwrap();
    let mut tx = pool.begin().await.unwrap();
    for id in ["ann.lee", "bob", "dan", "erin"] {
        outbox
            .enqueue(&mut tx, &UserId::new(id).unwrap())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let park = "UPDATE livefyre_outbox SET parked_at = 1700000000000, attempts = $1, \
                last_error = $2, park_kind = $3 WHERE user_id = $4";
    sqlx::query(park)
        .bind(3_i64)
        .bind("Livefyre answered 403 Forbidden: <script>alert('x')</script> & \"more\"")
        .bind("refused")
        .bind("ann.lee")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(park)
        .bind(1_i64)
        .bind("Livefyre accepted 3 pings but never pulled")
        .bind("never_pulled")
        .bind("bob")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE livefyre_outbox SET awaiting_since = 1700000000000, unpulled_pings = 2 \
         WHERE user_id = 'erin'",
    )
    .execute(&pool)
    .await
    .unwrap();
    (pool, outbox)
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header(header::HOST, HOST)
        .body(Full::default())
        .unwrap()
}

/// A same-origin form POST as a browser sends it.
fn post(uri: &str) -> http::request::Builder {
    Request::post(uri)
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

fn browser_post(uri: &str, form: &str) -> Request<Full<Bytes>> {
    post(uri)
        .header("sec-fetch-site", "same-origin")
        .header(header::ORIGIN, format!("http://{HOST}"))
        .body(Full::from(form.to_owned()))
        .unwrap()
}

async fn call(
    admin: &OutboxAdmin<sqlx::Sqlite>,
    request: Request<Full<Bytes>>,
) -> Response<String> {
    let response = admin.clone().oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Response::from_parts(parts, String::from_utf8(body.to_vec()).unwrap())
}

/// The page's CSRF token, read from its first form.
async fn token(admin: &OutboxAdmin<sqlx::Sqlite>) -> String {
    let page = call(admin, get("/")).await.into_body();
    let start = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    page[start..start + page[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn page_shows_counts_parked_rows_with_reason_and_kind_and_awaiting_rows() {
    let (_pool, outbox) = outbox().await;
    let page = call(&outbox.admin(), get("/")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(headers[header::X_FRAME_OPTIONS], "DENY");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    let html = page.into_body();
    for expected in [
        "<b>1</b>pending",
        "<b>0</b>in flight",
        "<b>1</b>awaiting pull",
        "<b>2</b>parked",
        "<td class=\"user\">bob</td>",
        "<span class=\"kind\">never_pulled</span>",
        "Livefyre accepted 3 pings but never pulled",
        "<span class=\"kind\">refused</span>",
        "<td class=\"user\">erin</td>",
        "Requeue all parked",
        "name=\"user\" value=\"ann.lee\"",
        "action=\"?\"",
    ] {
        assert!(html.contains(expected), "{expected:?} missing from\n{html}");
    }
    // No script, no asset from elsewhere.
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("src="), "{html}");
    assert!(!html.contains("<link"), "{html}");
}

#[tokio::test]
async fn a_hostile_reason_is_escaped() {
    let (_pool, outbox) = outbox().await;
    let html = call(&outbox.admin(), get("/")).await.into_body();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(
        html.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;more&quot;"),
        "{html}"
    );
}

#[tokio::test]
async fn json_twin_holds_the_same_data() {
    let (_pool, outbox) = outbox().await;
    let admin = outbox.admin();
    for request in [
        get("/?format=json"),
        Request::get("/")
            .header(header::ACCEPT, "application/json")
            .body(Full::default())
            .unwrap(),
    ] {
        let response = call(&admin, request).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let json: serde_json::Value = serde_json::from_str(response.body()).unwrap();
        assert_eq!(json["pending"], 1);
        assert_eq!(json["in_flight"], 0);
        assert_eq!(json["awaiting_pull"], 1);
        assert_eq!(json["parked"], 2);
        assert!(json["oldest_pending_age_ms"].is_u64());
        assert!(json["oldest_awaiting_pull_age_ms"].as_u64().unwrap() > 0);
        assert_eq!(json["read_only"], false);
        let parked = json["parked_rows"].as_array().unwrap();
        assert_eq!(parked.len(), 2);
        let bob = parked.iter().find(|row| row["user_id"] == "bob").unwrap();
        assert_eq!(bob["kind"], "never_pulled");
        assert_eq!(bob["attempts"], 1);
        assert_eq!(bob["reason"], "Livefyre accepted 3 pings but never pulled");
        assert_eq!(bob["parked_at_ms"], 1_700_000_000_000_u64);
        let awaiting = json["awaiting_rows"].as_array().unwrap();
        assert_eq!(awaiting.len(), 1);
        assert_eq!(awaiting[0]["user_id"], "erin");
        assert_eq!(awaiting[0]["unpulled_pings"], 2);
        assert_eq!(awaiting[0]["since_ms"], 1_700_000_000_000_u64);
    }
}

#[tokio::test]
async fn awaiting_lists_the_rows_awaiting_their_pull() {
    let (_pool, outbox) = outbox().await;
    let rows = outbox.awaiting(10).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].user_id, "erin");
    assert_eq!(rows[0].unpulled_pings, 2);
    assert!(rows[0].age.as_secs() > 0);
    assert!(outbox.awaiting(0).await.unwrap().is_empty());
}

#[tokio::test]
async fn requeue_one_then_all_and_redirect_back_relatively() {
    let (_pool, outbox) = outbox().await;
    let admin = outbox.admin();
    let token = token(&admin).await;

    let response = call(&admin, browser_post("/", &format!("csrf={token}&user=bob"))).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.body()
    );
    assert_eq!(response.headers()[header::LOCATION], "?requeued=1");
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.parked, stats.pending), (1, 2));
    let page = call(&admin, get("/?requeued=1")).await.into_body();
    assert!(page.contains("Requeued 1 parked row."), "{page}");
    assert!(!page.contains("<td class=\"user\">bob</td>"), "{page}");

    // The route the example documents, `…/requeue`, redirects to its parent.
    let response = call(
        &admin,
        browser_post("/requeue", &format!("csrf={token}&all=1")),
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        response.body()
    );
    assert_eq!(response.headers()[header::LOCATION], "./?requeued=1");
    let stats = outbox.stats().await.unwrap();
    assert_eq!((stats.parked, stats.pending), (0, 3));

    // Neither a user nor `all`: nothing is guessed.
    let response = call(&admin, browser_post("/", &format!("csrf={token}"))).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = call(
        &admin,
        browser_post("/", &format!("csrf={token}&user=no%20spaces")),
    )
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn cross_site_and_tokenless_posts_are_refused() {
    let (_pool, outbox) = outbox().await;
    let admin = outbox.admin();
    let token = token(&admin).await;
    let form = format!("csrf={token}&all=1");
    let cases = [
        (
            post("/").header("sec-fetch-site", "cross-site"),
            form.clone(),
            AdminRejection::CrossSite,
        ),
        (
            post("/requeue").header("sec-fetch-site", "same-site"),
            form.clone(),
            AdminRejection::CrossSite,
        ),
        // No fetch metadata: the Origin must name the Host.
        (
            post("/").header(header::ORIGIN, "http://evil.example"),
            form.clone(),
            AdminRejection::CrossSite,
        ),
        (post("/"), form.clone(), AdminRejection::CrossSite),
        (
            post("/").header(header::ORIGIN, "null"),
            form.clone(),
            AdminRejection::CrossSite,
        ),
        (
            post("/").header("sec-fetch-site", "same-origin"),
            "all=1".to_owned(),
            AdminRejection::MissingToken,
        ),
        (
            post("/").header(header::ORIGIN, format!("http://{HOST}")),
            "csrf=1700000000.AAAA&all=1".to_owned(),
            AdminRejection::BadToken,
        ),
        (
            post("/").header("sec-fetch-site", "same-origin"),
            // A token of another process (another random key).
            format!("csrf={}&all=1", self::token(&outbox.admin()).await),
            AdminRejection::BadToken,
        ),
    ];
    for (request, body, reason) in cases {
        let request = request.body(Full::<Bytes>::from(body)).unwrap();
        let response = admin.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(response.extensions().get::<AdminRejection>(), Some(&reason));
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(String::from_utf8_lossy(&body).trim(), reason.to_string());
    }
    assert_eq!(
        outbox.stats().await.unwrap().parked,
        2,
        "nothing was requeued"
    );

    // A client without fetch metadata whose Origin is the Host is let through.
    let request = post("/")
        .header(header::ORIGIN, format!("http://{HOST}"))
        .body(Full::from(form.clone()))
        .unwrap();
    assert_eq!(call(&admin, request).await.status(), StatusCode::SEE_OTHER);
    // A shared key makes one process accept another's forms.
    let (_pool, outbox) = self::outbox().await;
    let one = outbox.admin().csrf_key("shared");
    let two = outbox.admin().csrf_key("shared");
    let form = format!("csrf={}&user=bob", self::token(&one).await);
    assert_eq!(
        call(&two, browser_post("/", &form)).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn read_only_shows_no_buttons_and_refuses_posts() {
    let (_pool, outbox) = outbox().await;
    let writable = outbox.admin();
    let token = token(&writable).await;
    let admin = outbox.admin().csrf_key("k").read_only(true);
    let html = call(&admin, get("/")).await.into_body();
    assert!(html.contains("never_pulled"), "{html}");
    assert!(!html.contains("<form"), "{html}");
    assert!(!html.contains("<button"), "{html}");
    let json: serde_json::Value =
        serde_json::from_str(call(&admin, get("/?format=json")).await.body()).unwrap();
    assert_eq!(json["read_only"], true);
    for uri in ["/", "/requeue"] {
        let request = browser_post(uri, &format!("csrf={token}&all=1"));
        let response = admin.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[header::ALLOW], "GET, HEAD");
        assert_eq!(
            response.extensions().get::<AdminRejection>(),
            Some(&AdminRejection::ReadOnly)
        );
    }
    assert_eq!(outbox.stats().await.unwrap().parked, 2);
}

#[tokio::test]
async fn other_paths_and_methods() {
    let (_pool, outbox) = outbox().await;
    let admin = outbox.admin();
    assert_eq!(
        call(&admin, get("/nope")).await.status(),
        StatusCode::NOT_FOUND
    );
    let response = call(&admin, get("/requeue")).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "POST");
    let request = Request::delete("/").body(Full::default()).unwrap();
    let response = call(&admin, request).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()[header::ALLOW], "GET, HEAD, POST");
}
