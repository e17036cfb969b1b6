//! The emulator's page after a registration, a ping and its pull.

use std::collections::HashMap;
use std::time::Duration;

use http::Method;
use tower_livefyre::emulator::{Emulator, FaultLimit, FaultPlan, PingFault, PullOutcome};
use tower_livefyre::{Profile, profile::Name, pull_endpoint};

use crate::common::browser::Browser;
use crate::common::{fetch, network, serve, uid};

fn form(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

#[tokio::test]
async fn the_emulator_page_shows_a_stored_profile_and_a_pull_after_a_ping() {
    let Some(browser) =
        Browser::start("the_emulator_page_shows_a_stored_profile_and_a_pull_after_a_ping").await
    else {
        return;
    };
    let ann = Profile::new(uid("ann.lee"), "Ann Lee")
        .with_name(Name::new().with_first("Ann").with_last("Lee"))
        .with_email("ann@example.com")
        .with_tags(["staff"]);
    let profiles: HashMap<String, Profile> = [("ann.lee".to_owned(), ann)].into();
    let endpoint = serve(pull_endpoint(network(), profiles)).await;
    let emulator = Emulator::start(network()).await.unwrap();
    let token = network().build_livefyre_token().unwrap();
    let form_type = [("content-type", "application/x-www-form-urlencoded")];

    let template = format!("{}/livefyre/pull?id={{id}}", endpoint.url());
    let registration = form(&[("actor_token", &token), ("pull_profile_url", &template)]);
    let (status, _, _) = fetch(
        Method::POST,
        &format!("{}/", emulator.url()),
        &form_type,
        registration,
    )
    .await;
    assert_eq!(status, 204);
    for id in ["ann.lee", "bob"] {
        let url = format!("{}/api/v3_0/user/{id}/refresh", emulator.url());
        let (status, _, _) =
            fetch(Method::POST, &url, &form_type, form(&[("lftoken", &token)])).await;
        assert_eq!(status, 200, "{id}");
    }
    let wait = Duration::from_secs(10);
    let pulled = emulator.wait_for_pull(&uid("ann.lee"), wait).await.unwrap();
    assert_eq!(pulled.outcome, PullOutcome::Stored);
    let unknown = emulator.wait_for_pull(&uid("bob"), wait).await.unwrap();
    assert_eq!(unknown.outcome, PullOutcome::NotFound);
    let outage = PingFault::Unavailable {
        retry_after: Some(2),
    };
    emulator.set_faults(FaultPlan::new().then(outage, FaultLimit::For(Duration::from_secs(600))));

    browser
        .open(&format!("{}/_emulator/", emulator.url()))
        .await;
    let profiles = browser.text("#profiles").await;
    assert!(profiles.contains("Remote profiles (1)"), "{profiles}");
    assert!(
        profiles.contains("ann.lee") && profiles.contains("Ann Lee"),
        "{profiles}"
    );
    let pulls = browser.text("#pulls").await;
    assert!(
        pulls.contains("stored") && pulls.contains("not_found"),
        "{pulls}"
    );
    assert!(pulls.contains("lftoken=REDACTED"), "{pulls}");
    let pings = browser.text("#pings").await;
    assert!(
        pings.contains("ann.lee") && pings.contains("200"),
        "{pings}"
    );
    let template_shown = browser.text("#template").await;
    assert!(template_shown.contains(&template), "{template_shown}");
    let faults = browser.text("#faults").await;
    assert!(
        faults.contains("unavailable (503, Retry-After: 2)"),
        "{faults}"
    );
    let source = browser.source().await;
    assert!(!source.contains(&token), "the page holds a token");

    browser.screenshot("emulator").await;
    browser.stop().await;
    emulator.shutdown().await;
}
