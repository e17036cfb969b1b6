//! Headless Chromium for the browser tests, driven over WebDriver (`fantoccini` talking to
//! Debian's `chromedriver`, which starts `chromium`).
//!
//! ```ignore
//! let Some(browser) = Browser::start("my_test").await else { return };
//! browser.open(&url).await;
//! assert!(browser.text("#summary").await.contains("FAILED"));
//! browser.click_and_follow("button#requeue").await;
//! browser.screenshot("my-page").await;
//! browser.stop().await;
//! ```
//!
//! Where the browser is missing, [`Browser::start`] prints
//! `SKIPPED: <test>: chromium not found; install it with: apt-get install -y chromium` to
//! stderr and returns `None`, so the test returns without passing silently; with `CI=true`
//! it panics instead: in CI the browser tests must run. The browser is found at
//! `/usr/bin/chromium` (or `$CHROMIUM`), the driver at `/usr/bin/chromedriver` (or
//! `$CHROMEDRIVER`).
//!
//! Each browser gets a fresh empty profile directory and the flags that keep Chromium from
//! calling out (no background networking, component updates, sync or QUIC), and is stopped
//! by [`Browser::stop`], or on drop if a test panics first.

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

use super::scratch::Scratch;
use hyper_util::client::legacy::connect::HttpConnector;

/// The flags every browser is started with (`--user-data-dir` and the window size are added).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
];

/// The window the pages are shown (and screenshotted) in.
const WINDOW: (u32, u32) = (1280, 1100);

/// How long the driver may take to listen, and a page to load or an element to appear.
const PATIENCE: Duration = Duration::from_secs(30);

/// A headless Chromium session; stop it with [`Browser::stop`].
pub struct Browser {
    client: Option<Client>,
    driver: Child,
    /// Removed on drop, after `Drop::drop` has ended the processes that use it.
    profile: Scratch,
}

/// Whether browser tests must run rather than be skipped: `CI=true`.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| value == "true")
}

/// `$VAR` if set, else `default`, if the file exists.
fn program(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from);
    path.is_file().then_some(path)
}

/// Says the test is skipped, or fails it under `CI=true`.
fn unavailable(test: &str, what: &str, package: &str) {
    let line = format!("{test}: {what} not found; install it with: apt-get install -y {package}");
    assert!(!in_ci(), "CI=true, so the browser tests must run: {line}");
    // Straight to the process's stderr: the test harness captures `eprintln!` of passing
    // tests, and this line must be seen.
    let _ = writeln!(std::io::stderr(), "SKIPPED: {line}");
}

/// The port of chromedriver's "ChromeDriver was started successfully on port N." line;
/// `None` if its stdout ends first. The rest of its stdout is read to the end on a thread
/// of its own, so the driver never blocks on a full pipe.
async fn driver_port(stdout: std::process::ChildStdout) -> Option<u16> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let port = lines.by_ref().map_while(Result::ok).find_map(|line| {
            line.strip_prefix("ChromeDriver was started successfully on port ")
                .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok())
        });
        let _ = sender.send(port);
        lines.for_each(drop);
    });
    receiver.await.ok().flatten()
}

impl Browser {
    /// Starts headless Chromium for `test`; `None` (after the SKIPPED line) when Chromium or
    /// its driver is missing and `CI` is not `true`.
    pub async fn start(test: &str) -> Option<Browser> {
        let Some(chromium) = program("CHROMIUM", "/usr/bin/chromium") else {
            unavailable(test, "chromium", "chromium");
            return None;
        };
        let Some(chromedriver) = program("CHROMEDRIVER", "/usr/bin/chromedriver") else {
            unavailable(test, "chromedriver", "chromium-driver");
            return None;
        };

        let profile = Scratch::new("chromium");

        // The driver picks its own free port and says which: a port chosen here and released
        // before the driver binds it can be taken meanwhile by another test's listener (the
        // session request then meets that server, not the driver).
        let mut driver = Command::new(&chromedriver)
            .arg("--port=0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{}: {error}", chromedriver.display()));
        let stdout = driver.stdout.take().expect("piped");
        let mut browser = Browser {
            client: None,
            driver,
            profile,
        };
        let port = tokio::time::timeout(PATIENCE, driver_port(stdout))
            .await
            .unwrap_or_else(|_| panic!("chromedriver did not say its port within {PATIENCE:?}"))
            .unwrap_or_else(|| panic!("chromedriver exited before it listened"));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));

        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&f| f.to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            browser.profile.path().display()
        ));
        args.push(format!("--window-size={},{}", WINDOW.0, WINDOW.1));
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), "chrome".into());
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({ "binary": chromium, "args": args }),
        );
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://{addr}"))
            .await
            .unwrap_or_else(|error| {
                panic!("no WebDriver session with {}: {error}", chromium.display())
            });
        browser.client = Some(client);
        Some(browser)
    }

    fn client(&self) -> &Client {
        self.client.as_ref().expect("the browser is running")
    }

    /// Loads `url` (`http://…` or `file://…`) and waits for it to load.
    pub async fn open(&self, url: &str) {
        self.client()
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("loading {url}: {error}"));
    }

    /// `file://` URL of a local file.
    pub fn file_url(path: &Path) -> String {
        format!("file://{}", std::fs::canonicalize(path).unwrap().display())
    }

    async fn find(&self, selector: &str) -> fantoccini::elements::Element {
        let wait = self.client().wait().at_most(PATIENCE);
        wait.for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|error| panic!("no element {selector:?}: {error}"))
    }

    /// The text the browser shows for the first element matching the CSS `selector`
    /// (waiting for it to appear).
    pub async fn text(&self, selector: &str) -> String {
        self.find(selector)
            .await
            .text()
            .await
            .unwrap_or_else(|error| panic!("text of {selector:?}: {error}"))
    }

    /// The whole page's source, as the browser holds it now.
    pub async fn source(&self) -> String {
        self.client().source().await.unwrap()
    }

    /// Clicks the first element matching `selector` (a link or a form's button) and waits
    /// until the browser has left the current page and loaded the next one.
    ///
    /// WebDriver's click returns once the click is dispatched, not when the navigation it
    /// starts is done: reading the page right after it can read the old one.
    pub async fn click_and_follow(&self, selector: &str) {
        let before = self.client().current_url().await.unwrap();
        self.find(selector)
            .await
            .click()
            .await
            .unwrap_or_else(|error| panic!("clicking {selector:?}: {error}"));
        let deadline = Instant::now() + PATIENCE;
        loop {
            let now = self.client().current_url().await.unwrap();
            let state = self
                .client()
                .execute("return document.readyState", vec![])
                .await
                .ok()
                .and_then(|value| value.as_str().map(str::to_owned));
            if now != before && state.as_deref() == Some("complete") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {selector:?} on {before} did not navigate within {PATIENCE:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Submits the form matching `selector` as its submit button would.
    pub async fn submit(&self, selector: &str) {
        let form = self
            .client()
            .form(Locator::Css(selector))
            .await
            .unwrap_or_else(|error| panic!("no form {selector:?}: {error}"));
        form.submit()
            .await
            .unwrap_or_else(|error| panic!("submitting {selector:?}: {error}"));
    }

    /// A PNG of the window into `target/screenshots/NAME.png`, and into `docs/NAME.png` too
    /// when `UPDATE_SCREENSHOTS=1` (so normal runs leave the work tree alone). Returns the
    /// path under `target/`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client().screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = root.join("target").join("screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|value| value == "1") {
            std::fs::write(root.join("docs").join(format!("{name}.png")), &png).unwrap();
        }
        path
    }

    /// Ends the session (Chromium quits), stops the driver and removes the profile.
    pub async fn stop(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        // Drop does the rest.
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // A session not closed (a test panicked) leaves Chromium running: its processes are
        // the ones started with this profile directory, ended by their ids.
        let marker = format!("--user-data-dir={}", self.profile.path().display());
        if let Ok(entries) = std::fs::read_dir("/proc") {
            for entry in entries.flatten() {
                let Some(pid) = entry
                    .file_name()
                    .to_str()
                    .and_then(|n| n.parse::<u32>().ok())
                else {
                    continue;
                };
                let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
                if String::from_utf8_lossy(&cmdline).contains(&marker) {
                    let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
                }
            }
        }
    }
}
