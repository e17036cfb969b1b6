//! [`Scratch`]: a fresh directory for one test (a SQLite file, seed files, a working
//! directory), unique even across parallel tests and processes, removed on drop.
//!
//! ```ignore
//! let dir = Scratch::new("outbox");
//! let url = dir.sqlite_url("app.db");
//! let seed = dir.write("seed.json", "[]");
//! ```

use std::path::{Path, PathBuf};

/// A directory `tower-livefyre-<tag>-<random>` under the system temp dir (`tempfile`).
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new(tag: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("tower-livefyre-{tag}-"))
            .tempdir()
            .unwrap_or_else(|error| panic!("no scratch directory for {tag}: {error}"));
        Self(dir)
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// The `sqlite://` URL of `file` in this directory, created on first connect.
    pub fn sqlite_url(&self, file: &str) -> String {
        format!("sqlite://{}?mode=rwc", self.path().join(file).display())
    }

    /// Writes `contents` to `name` in this directory and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}
