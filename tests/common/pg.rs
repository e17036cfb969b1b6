//! Postgres for the tests: `TOWER_LIVEFYRE_PG_URL` (a server URL whose user may create
//! databases), or else a throwaway cluster started here from the installed binaries
//! (`/usr/lib/postgresql/N/bin`), in a temporary directory on a loopback port; it stops when
//! the test process exits, however it exits. Each test gets a database of its own.
//!
//! Without Postgres the tests print a visible line saying they were skipped, and how to run
//! them; with `CI=true` they fail instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgPool, PgPoolOptions};

pub const URL_VAR: &str = "TOWER_LIVEFYRE_PG_URL";

/// The server URL, once per test process.
fn server_url() -> Result<String, String> {
    static URL: OnceLock<Result<String, String>> = OnceLock::new();
    URL.get_or_init(|| match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => start_cluster(),
    })
    .clone()
}

/// A fresh database on the server, or `None` (after saying so) when there is no Postgres.
#[allow(dead_code)] // each test binary uses one of the two
pub async fn pool() -> Option<PgPool> {
    Some(database().await?.0)
}

/// [`pool`], with the database's URL.
pub async fn database() -> Option<(PgPool, String)> {
    let server = match server_url() {
        Ok(url) => url,
        Err(reason) => return unavailable(&reason),
    };
    static N: AtomicUsize = AtomicUsize::new(0);
    let name = format!(
        "tower_livefyre_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let admin = connect(&server, 2).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap_or_else(|e| panic!("{URL_VAR}: cannot create a test database: {e}"));
    admin.close().await;
    let (base, _) = server
        .rsplit_once('/')
        .expect("a postgres:// URL with a database");
    let url = format!("{base}/{name}");
    Some((connect(&url, 20).await, url))
}

/// Connects, waiting (30 s at most) for a server that is still starting up.
async fn connect(url: &str, connections: u32) -> PgPool {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match PgPoolOptions::new()
            .max_connections(connections)
            .connect(url)
            .await
        {
            Ok(pool) => return pool,
            Err(e) if Instant::now() > deadline => {
                panic!("cannot connect to the test Postgres: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

fn unavailable<T>(reason: &str) -> Option<T> {
    if std::env::var("CI").is_ok_and(|ci| ci == "true") {
        panic!("CI=true and the Postgres tests cannot run: {reason}");
    }
    static SAID: Once = Once::new();
    SAID.call_once(|| {
        // Straight to stderr: libtest captures `eprintln!` of passing tests.
        let _ = writeln!(
            std::io::stderr(),
            "\nNOTE: the Postgres outbox tests were SKIPPED ({reason}).\n      \
             Run them with {URL_VAR}=postgres://USER@HOST:PORT/postgres, or install Postgres \
             (Debian: apt-get install postgresql) and they start a throwaway cluster.\n"
        );
    });
    None
}

/// The highest-versioned Debian Postgres, or what `pg_config` names.
fn bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    dirs.sort_by_key(|dir| {
        let version = dir.parent().and_then(Path::file_name);
        version.and_then(|v| v.to_str()?.parse::<u32>().ok())
    });
    if let Some(dir) = dirs.pop() {
        return Some(dir);
    }
    let out = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8(out.stdout).ok()?.trim());
    dir.join("initdb").exists().then_some(dir)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// Runs `script` with sh, as the `postgres` user when we are root (initdb refuses root).
fn sh(script: &str, as_postgres: bool) -> Command {
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--", "sh", "-c", script]);
        c
    } else {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    };
    command.stdin(Stdio::null());
    command
}

fn start_cluster() -> Result<String, String> {
    let bin = bin_dir().ok_or("no Postgres binaries found and TOWER_LIVEFYRE_PG_URL is unset")?;
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("tower-livefyre-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if root {
        let chown = Command::new("chown").arg("postgres").arg(&dir).status();
        if !chown.is_ok_and(|s| s.success()) {
            return Err("running as root and cannot chown the data directory to `postgres`".into());
        }
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let (bin, data) = (bin.display(), dir.display());
    let init = sh(
        &format!("{bin}/initdb -D {data}/data -U postgres -A trust -E UTF8 --no-sync >{data}/initdb.log 2>&1"),
        root,
    )
    .status()
    .map_err(|e| e.to_string())?;
    if !init.success() {
        return Err(format!("initdb failed; see {data}/initdb.log"));
    }
    // The server lives as long as this process holds the pipe to `cat`: when the test
    // process exits (even killed), `cat` sees EOF and the server is stopped and removed.
    let script = format!(
        "{bin}/postgres -D {data}/data -p {port} -h 127.0.0.1 -k {data} -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 \
         >{data}/postgres.log 2>&1 & pid=$!; cat >/dev/null; kill -INT $pid; wait $pid; rm -rf {data}"
    );
    let mut server = sh(&script, root);
    server.stdin(Stdio::piped());
    let child = server.spawn().map_err(|e| e.to_string())?;
    static SERVER: Mutex<Option<Child>> = Mutex::new(None);
    *SERVER.lock().unwrap() = Some(child);

    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!(
                "the throwaway cluster did not start; see {data}/postgres.log"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(format!("postgres://postgres@127.0.0.1:{port}/postgres"))
}
