//! `livefyre check` against the real `examples/server.rs` (the README's main command) passes
//! every MUST check, with exit 0.

use crate::common;

use std::process::Command;

use common::process::{Listening, example_path};
use common::*;

#[test]
fn check_passes_every_must_against_the_server_example() {
    let dir = std::env::temp_dir().join(format!("livefyre-cli-server-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut command = Command::new(example_path("server"));
    for name in [
        "LIVEFYRE_NETWORK",
        "LIVEFYRE_NETWORK_KEY",
        "PROFILES_SEED",
        "RUST_LOG",
    ] {
        command.env_remove(name);
    }
    command
        .env("LISTEN_ADDR", "127.0.0.1:0")
        // Its admin listener too: never the fixed default another process may hold.
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}?mode=rwc", dir.join("users.db").display()),
        )
        // Its start-up registration goes nowhere: nothing listens on port 9 of loopback.
        .env("LIVEFYRE_API_URL", "http://127.0.0.1:9")
        .current_dir(&dir)
        .stdin(std::process::Stdio::null());
    let server = Listening::start(command);

    // Demo mode on both sides: no key set, network demo.fyre.co.
    let template = format!("{}/livefyre/pull?id={{id}}", server.url());
    let run = livefyre_env(
        &[
            "check",
            &template,
            "--network",
            "demo.fyre.co",
            "--user",
            "ann.lee",
            "--format",
            "json",
        ],
        &[],
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}{}", run.stdout, run.stderr));
    let failed: Vec<&serde_json::Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["level"] == "MUST" && check["outcome"] != "pass")
        .collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(report["summary"]["total"], 26);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("PUBLIC DEMO KEY"), "{}", run.stderr);
}
