//! `GET /_emulator/`: the HTML page shows what the emulator holds, escaped, and no token.

use tower_livefyre::Profile;
use tower_livefyre::emulator::{FaultLimit, FaultPlan, PingFault, PullOutcome};

use super::support::*;

#[tokio::test]
async fn the_page_lists_a_stored_profile_and_a_pull_after_a_ping() {
    let (emulator, server) = pinged_setup(KEY).await;
    server.serve_profile(&Profile::new(uid("ann"), "Ann Lee"));
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);
    let outage = PingFault::Unavailable {
        retry_after: Some(2),
    };
    emulator.set_faults(FaultPlan::new().then(outage, FaultLimit::Pings(3)));

    for path in ["/_emulator/", "/_emulator"] {
        let page = get(format!("{}{path}", emulator.url())).await;
        assert_eq!(page.status, 200, "{path}");
        assert_eq!(
            page.headers["content-type"], "text/html; charset=utf-8",
            "{path}"
        );
        let body = &page.body;
        assert!(
            body.contains(r#"<meta http-equiv="refresh" content="2">"#),
            "{body}"
        );
        assert!(!body.contains("<script"), "{body}");
        // The template, the profile, the pull (with its outcome) and the ping (with its answer).
        assert!(body.contains(&server.template()), "{body}");
        assert!(body.contains("Ann Lee"), "{body}");
        assert!(body.contains("Remote profiles (1)"), "{body}");
        assert!(body.contains(r#"<td class="ok">stored</td>"#), "{body}");
        assert!(body.contains(r#"<td class="ok">200</td>"#), "{body}");
        assert!(body.contains("lftoken=REDACTED"), "{body}");
        assert!(
            body.contains("unavailable (503, Retry-After: 2)") && body.contains("3 more ping(s)"),
            "{body}"
        );
    }
    let post = post(format!("{}/_emulator/", emulator.url()), "").await;
    assert_eq!(post.status, 405);
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_hostile_profile_is_escaped() {
    let (emulator, server) = pinged_setup(KEY).await;
    let hostile = r#"<script>alert("x")</script><img src=x onerror=alert(1)>"#;
    server.serve_profile(&Profile::new(uid("ann"), hostile));
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);
    let page = get(format!("{}/_emulator/", emulator.url())).await;
    let body = &page.body;
    assert!(!body.contains("<script"), "{body}");
    assert!(!body.contains("<img"), "{body}");
    assert!(body.contains("&lt;script&gt;"), "{body}");
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn no_token_appears_even_when_the_template_had_one() {
    let (emulator, server) = pinged_setup(KEY).await;
    let secret = token();
    // A profile echoing a token into a URL.
    server.serve(
        "ann",
        format!(
            r#"{{"id":"ann","display_name":"Ann","image_url":"http://i.example/{secret}.png"}}"#
        ),
    );
    assert_eq!(pull_of(&emulator, "ann").await.outcome, PullOutcome::Stored);
    // Then a template carrying a token of its own (the pull endpoint refuses the pull of
    // two tokens: the log still shows its URL).
    let template = format!("{}&lftoken={secret}", server.template());
    assert_eq!(register(&emulator, &template).await.status, 204);
    let record = pull_of(&emulator, "bob").await;
    assert!(!record.url.contains(&secret), "{}", record.url);

    let page = get(format!("{}/_emulator/", emulator.url())).await;
    assert_eq!(page.status, 200);
    let body = &page.body;
    let signature = secret.rsplit('.').next().unwrap();
    assert!(!body.contains(&secret), "{body}");
    assert!(!body.contains(signature), "{body}");
    for pulled in server.seen() {
        // Every token the endpoint received, too.
        let received = pulled.rsplit("lftoken=").next().unwrap();
        assert!(!body.contains(received), "{body}");
    }
    assert!(body.contains("lftoken=REDACTED"), "{body}");
    emulator.shutdown().await;
}
