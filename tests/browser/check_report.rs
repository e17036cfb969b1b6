//! `livefyre check --format html` of a broken endpoint, opened from a file.
//!
//! The `livefyre` binary is in the `cli` package: `cargo test --all-features` at the root
//! builds it with the cli's tests, and this test runs it from `target/<profile>/`.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use tower_livefyre::Profile;

use crate::common::browser::Browser;
use crate::common::{KEY, NETWORK, serve, uid};

/// The newest modification time of the files under `dir`.
fn newest(dir: &Path) -> SystemTime {
    let mut latest = SystemTime::UNIX_EPOCH;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let time = if path.is_dir() {
            newest(&path)
        } else {
            entry.metadata().unwrap().modified().unwrap()
        };
        latest = latest.max(time);
    }
    latest
}

/// `target/<profile>/livefyre`, built and not older than the sources it is built from.
fn livefyre() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let path = profile_dir.join("livefyre");
    let build = "run the tests with `cargo test --all-features` at the workspace root, which \
                 builds it, or `cargo build -p livefyre-cli` first";
    let built = std::fs::metadata(&path)
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|_| panic!("{} is missing: {build}", path.display()));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for sources in [root.join("cli/src"), root.join("src")] {
        assert!(
            newest(&sources) <= built,
            "{} is older than {}: {build}",
            path.display(),
            sources.display()
        );
    }
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_html_report_opens_and_shows_a_failed_check_of_a_broken_endpoint() {
    let Some(browser) =
        Browser::start("the_html_report_opens_and_shows_a_failed_check_of_a_broken_endpoint").await
    else {
        return;
    };
    // Broken: it serves the profile whatever the token, and echoes the token in a header.
    let tokens = Arc::new(Mutex::new(Vec::<String>::new()));
    let received = tokens.clone();
    let profile = serde_json::to_vec(&Profile::new(uid("ann.lee"), "Ann Lee")).unwrap();
    let endpoint = serve(tower::service_fn(move |request: Request<_>| {
        let query = request.uri().query().unwrap_or_default().to_owned();
        let token = form_urlencoded::parse(query.as_bytes())
            .find(|(name, _)| name == "lftoken")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_default();
        if !token.is_empty() {
            received.lock().unwrap().push(token.clone());
        }
        let response = Response::builder()
            .header("content-type", "application/json")
            .header("x-debug-token", token)
            .body(Full::new(Bytes::from(profile.clone())))
            .unwrap();
        async move { Ok::<_, Infallible>(response) }
    }))
    .await;

    let template = format!("{}/pull?id={{id}}", endpoint.url());
    let binary = livefyre();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(binary)
            .args([
                "check",
                &template,
                "--network",
                NETWORK,
                "--user",
                "ann.lee",
            ])
            .args(["--unknown-user", "nobody", "--format", "html"])
            .env_clear()
            .env("LIVEFYRE_NETWORK_KEY", KEY)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let html = String::from_utf8(output.stdout).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("check-report.html");
    std::fs::write(&file, &html).unwrap();

    browser.open(&Browser::file_url(&file)).await;
    let summary = browser.text("#summary").await;
    assert!(
        summary.contains("FAILED: a MUST check failed (exit 1)"),
        "{summary}"
    );
    assert!(summary.contains("26 checks"), "{summary}");
    let expired = browser.text(r#"tr[id="pull/token/expired"]"#).await;
    assert!(expired.contains("FAIL"), "{expired}");
    assert!(expired.contains("[MUST]"), "{expired}");
    assert!(
        expired.contains("docs/protocol.md#pull-token-expired"),
        "{expired}"
    );
    assert!(expired.contains("sent: GET http://"), "{expired}");
    let echo = browser.text(r#"tr[id="pull/no-token-echo"]"#).await;
    assert!(echo.contains("FAIL"), "{echo}");
    let tokens = tokens.lock().unwrap().clone();
    assert!(!tokens.is_empty());
    let source = browser.source().await;
    for token in &tokens {
        assert!(!source.contains(token.as_str()), "the report holds a token");
        let signature = token.rsplit('.').next().unwrap();
        assert!(
            signature.len() < 16 || !source.contains(signature),
            "a signature"
        );
    }

    browser.screenshot("check-report").await;
    browser.stop().await;
}
