//! The server example's admin listener (`ADMIN_ADDR`), over real HTTP against the compiled
//! example: `/metrics`, `/healthz`, `/readyz` (503 once the database is gone, on Postgres),
//! and the outbox page mounted at `/admin` with its cross-site protection; and demo-key mode
//! alone (no `LIVEFYRE_API_URL`), which runs the emulator in-process or uses one already
//! listening on `EMULATOR_ADDR`.

use crate::common;

use common::pg;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::example::Example;
use common::scratch::Scratch;
use tower_livefyre::Network;
use tower_livefyre::emulator::Emulator;

/// The examples' public demo key (`examples/support`).
const DEMO_KEY: &str = "tower-livefyre-demo-network-key";
const DEMO_USERS: [&str; 3] = ["ann.lee", "bob", "carla_m"];

/// One answer: status, the header block (lowercased names), and the body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// One HTTP/1.1 request on a connection of its own.
fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    Answer {
        status,
        headers: headers.to_owned(),
        body: body.to_owned(),
    }
}

/// A form `POST` with `headers`.
fn post(addr: SocketAddr, target: &str, headers: &[(&str, &str)], form: &str) -> Answer {
    let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    http(addr, "POST", target, &all, form)
}

fn get(addr: SocketAddr, target: &str) -> Answer {
    http(addr, "GET", target, &[], "")
}

/// The example in demo mode, its pings going nowhere (port 9), on `database_url`.
fn start(database_url: &str) -> (Example, SocketAddr) {
    let server = Example::start(
        "server",
        &[
            ("DATABASE_URL", database_url),
            ("LIVEFYRE_API_URL", "http://127.0.0.1:9"),
        ],
    );
    let admin = server
        .admin
        .expect("an `admin on http://ADDR` line before `listening on`");
    assert_ne!(
        admin, server.addr,
        "the admin listener is apart from the pull endpoint's"
    );
    (server, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_listener_serves_metrics_health_readiness_and_the_outbox_page() {
    let dir = Scratch::new("admin-page");
    let url = dir.sqlite_url("app.db");
    let (server, admin) = start(&url);
    assert!(
        server
            .banner
            .iter()
            .any(|line| line == &format!("admin on http://{admin}")),
        "{:?}",
        server.banner
    );

    let metrics = get(admin, "/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain"),
        "{}",
        metrics.headers
    );
    assert!(
        metrics
            .body
            .contains("# TYPE process_start_time_seconds gauge"),
        "{}",
        metrics.body
    );
    let start_time = metrics
        .body
        .lines()
        .find_map(|line| line.strip_prefix("process_start_time_seconds "))
        .expect("a sample line");
    assert!(start_time.parse::<f64>().unwrap() > 1.6e9, "{start_time}");

    let health = get(admin, "/healthz");
    assert_eq!((health.status, health.body.trim()), (200, "ok"));

    let ready = get(admin, "/readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);
    assert_eq!(ready.header("content-type"), Some("application/json"));
    let ready: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["checks"]["database"]["ok"], true);
    assert_eq!(ready["checks"]["outbox"]["ok"], true);

    // The pull endpoint's listener serves none of it.
    assert_eq!(get(server.addr, "/metrics").status, 404);
    assert_eq!(get(server.addr, "/admin").status, 404);

    // The page, at `/admin` and `/admin/`, and its JSON twin: the three demo users wait
    // (their pings go nowhere).
    for target in ["/admin", "/admin/"] {
        let page = get(admin, target);
        assert_eq!(page.status, 200, "{target}: {}", page.body);
        assert!(
            page.body.contains("<h1>Livefyre outbox</h1>"),
            "{}",
            page.body
        );
    }
    let json = get(admin, "/admin?format=json");
    let json: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    let waiting = json["pending"].as_u64().unwrap() + json["in_flight"].as_u64().unwrap();
    assert_eq!(waiting, 3, "{json}");

    // Park bob by hand, as a refusal would; the page lists him with a button.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "UPDATE livefyre_outbox SET parked_at = 1700000000000, park_kind = 'refused', \
         last_error = 'Livefyre answered 403 Forbidden', lease_until = NULL WHERE user_id = 'bob'",
    )
    .execute(&pool)
    .await
    .unwrap();
    let page = get(admin, "/admin/").body;
    assert!(page.contains("<td class=\"user\">bob</td>"), "{page}");
    assert!(page.contains("Livefyre answered 403 Forbidden"), "{page}");
    let start = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    let token = &page[start..start + page[start..].find('"').unwrap()];
    let form = format!("csrf={token}&user=bob");

    // Cross-site: refused, whatever the token.
    let refused = post(
        admin,
        "/admin/requeue",
        &[("Sec-Fetch-Site", "cross-site")],
        &form,
    );
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("cross-site request refused"),
        "{}",
        refused.body
    );
    let origin = format!("http://{admin}");
    let evil = post(
        admin,
        "/admin/requeue",
        &[("Origin", "http://evil.example")],
        &form,
    );
    assert_eq!(evil.status, 403, "{}", evil.body);
    let tokenless = post(
        admin,
        "/admin/requeue",
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", &origin)],
        "user=bob",
    );
    assert_eq!(tokenless.status, 403, "{}", tokenless.body);
    assert!(tokenless.body.contains("CSRF token"), "{}", tokenless.body);
    let parked: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM livefyre_outbox WHERE parked_at IS NOT NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(parked, 1, "nothing was requeued");

    // Same origin with the page's token: requeued, and sent back to the page under the mount.
    let done = post(
        admin,
        "/admin/requeue",
        &[("Sec-Fetch-Site", "same-origin"), ("Origin", &origin)],
        &form,
    );
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.header("location"), Some("./?requeued=1"));
    let back = get(admin, "/admin/?requeued=1");
    assert!(
        back.body.contains("Requeued 1 parked row."),
        "{}",
        back.body
    );
    assert!(
        !back.body.contains("<td class=\"user\">bob</td>"),
        "{}",
        back.body
    );
    // The page's own form posts to itself (`action="?"`): `/admin?` answers `?requeued=…`.
    let again = post(
        admin,
        "/admin?",
        &[("Sec-Fetch-Site", "same-origin")],
        &format!("csrf={token}&all=1"),
    );
    assert_eq!(again.status, 303, "{}", again.body);
    assert_eq!(again.header("location"), Some("?requeued=0"));
    pool.close().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_once_the_database_is_gone() {
    let Some((pool, url)) = pg::database().await else {
        return;
    };
    pool.close().await;
    let (server, admin) = start(&url);
    let ready = get(admin, "/readyz");
    assert_eq!(ready.status, 200, "{}", ready.body);

    // Drop the database under the running server: every connection is cut and none can
    // be made again.
    let (base, name) = url.rsplit_once('/').unwrap();
    let postgres = sqlx::PgPool::connect(&format!("{base}/postgres"))
        .await
        .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE {name} WITH (FORCE)"
    )))
    .execute(&postgres)
    .await
    .unwrap();
    postgres.close().await;

    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let answer = get(admin, "/readyz");
        if answer.status == 503 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(answer.status, 503, "{}", answer.body);
    let body: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(body["ready"], false);
    let failed = body["failed"].as_array().unwrap();
    assert!(failed.contains(&"database".into()), "{body}");
    assert!(body["checks"]["database"]["error"].is_string(), "{body}");
    // The process still lives.
    assert_eq!(get(admin, "/healthz").status, 200);
    drop(server);
}

/// The stdout line after the banner that starts with `prefix`, without it.
fn printed(server: &Example, prefix: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = server
            .stdout
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no line starting {prefix:?}"));
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.to_owned();
        }
    }
}

/// Demo mode with no `LIVEFYRE_API_URL`: the example starts the emulator itself (on the free
/// port `EMULATOR_ADDR=127.0.0.1:0` that the test harness sets, where a user gets
/// `127.0.0.1:3001`), registers there, and the seeded users' profiles reach it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_alone_runs_the_emulator_in_process_and_syncs_the_seeded_users() {
    let dir = Scratch::new("admin-demo");
    let url = dir.sqlite_url("app.db");
    let server = Example::start("server", &[("DATABASE_URL", &url)]);
    let page = printed(&server, "emulator page: ");
    let emulator: SocketAddr = page
        .strip_prefix("http://")
        .and_then(|rest| rest.strip_suffix("/_emulator/"))
        .unwrap_or_else(|| panic!("not an emulator page URL: {page}"))
        .parse()
        .unwrap();
    assert_ne!(emulator.port(), 3001, "the test asked for a free port");
    let admin = server.admin.unwrap();
    assert_eq!(
        printed(&server, "outbox admin page: "),
        format!("http://{admin}/admin (metrics: http://{admin}/metrics)")
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for id in DEMO_USERS {
        let profile = loop {
            let answer = get(emulator, &format!("/_emulator/profiles/{id}"));
            if answer.status == 200 || Instant::now() > deadline {
                break answer;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(profile.status, 200, "{id}: {}", profile.body);
        let profile: serde_json::Value = serde_json::from_str(&profile.body).unwrap();
        assert_eq!(profile["id"], id, "{profile}");
    }
    // Confirmed by their pulls: the outbox drains.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let json: serde_json::Value =
            serde_json::from_str(&get(admin, "/admin?format=json").body).unwrap();
        if json["pending"] == 0 && json["in_flight"] == 0 && json["awaiting_pull"] == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox did not drain: {json}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let output = server.stop();
    assert_eq!(
        output
            .stderr
            .matches("pull URL registration failed")
            .count(),
        0,
        "{}",
        output.stderr
    );
}

/// Something already listens on `EMULATOR_ADDR` (here an emulator of the test's own, as the
/// emulator example would): the example pings it instead of starting one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_uses_an_emulator_already_listening_on_emulator_addr() {
    let emulator = Emulator::start(Network::new("demo.fyre.co", DEMO_KEY).unwrap())
        .await
        .unwrap();
    let addr = emulator.local_addr().to_string();
    let dir = Scratch::new("admin-existing");
    let url = dir.sqlite_url("app.db");
    let server = Example::start(
        "server",
        &[("DATABASE_URL", &url), ("EMULATOR_ADDR", &addr)],
    );
    assert_eq!(
        printed(&server, "emulator page: "),
        format!("http://{addr}/_emulator/")
    );
    for id in DEMO_USERS {
        let id = id.parse().unwrap();
        emulator
            .wait_for_pull(&id, Duration::from_secs(20))
            .await
            .unwrap();
        assert!(emulator.remote_profile(&id).is_some(), "{id}");
    }
    drop(server);
    emulator.shutdown().await;
}
