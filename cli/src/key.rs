//! The network and its key: the name from `--network`/`LIVEFYRE_NETWORK`, the key from
//! `--key-file` or `LIVEFYRE_NETWORK_KEY` only.

use std::fmt;
use std::fs::File;
use std::io::Read as _;
use std::path::Path;

use tower_livefyre::Network;

use crate::args::NetworkArgs;
use crate::error::CliError;

/// The network the examples and the emulator use by default.
pub const DEMO_NETWORK: &str = "demo.fyre.co";

/// The public demo key of `examples/server.rs` and `examples/emulator.rs`: known to everyone,
/// so used only for [`DEMO_NETWORK`] and always with a warning.
pub const DEMO_KEY: &str = "tower-livefyre-demo-network-key";

const KEY_VAR: &str = "LIVEFYRE_NETWORK_KEY";

/// A network key. `Debug` does not show it.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl Key {
    /// The raw bytes, used as the HMAC key (never base64-decoded, as in every Livefyre library).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

/// The network with its key, and the key itself for the tokens the library will not forge.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The network, keyed.
    pub network: Network,
    /// Its key.
    pub key: Key,
}

/// The most a key file may hold: a network key is one short line.
const MAX_KEY_FILE: u64 = 4 * 1024;

/// A key given by the user, and where it came from.
struct Configured {
    key: Key,
    source: String,
}

/// The key from `--key-file`, else `LIVEFYRE_NETWORK_KEY`; `None` when neither is given.
fn configured_key(args: &NetworkArgs) -> Result<Option<Configured>, CliError> {
    if let Some(path) = &args.key_file {
        return Ok(Some(Configured {
            key: read_key_file(path)?,
            source: format!("--key-file {}", path.display()),
        }));
    }
    let Some(value) = std::env::var_os(KEY_VAR) else {
        return Ok(None);
    };
    let value = value
        .into_string()
        .map_err(|_| CliError::Usage(format!("{KEY_VAR} is not valid UTF-8")))?;
    if value.is_empty() {
        return Err(CliError::Usage(format!("{KEY_VAR} is set but empty")));
    }
    Ok(Some(Configured {
        key: Key(value.into_bytes()),
        source: KEY_VAR.to_owned(),
    }))
}

/// The network name: `--network`/`LIVEFYRE_NETWORK`, else `default`, which only the public
/// demo key (or no key) may fall back to: a real key is never used for a network nobody
/// named (fail closed).
fn network_name(
    args: &NetworkArgs,
    default: Option<&str>,
    configured: Option<&Configured>,
) -> Result<String, CliError> {
    match (&args.network, default) {
        (Some(name), _) => Ok(name.clone()),
        (None, Some(default)) => match configured {
            Some(configured) if configured.key.bytes() != DEMO_KEY.as_bytes() => {
                Err(CliError::Usage(format!(
                    "a network key is given ({}) but no network: pass --network NAME or set \
                     LIVEFYRE_NETWORK (only the public demo key defaults to {default})",
                    configured.source
                )))
            }
            _ => Ok(default.to_owned()),
        },
        (None, None) => Err(CliError::Usage(
            "no network: pass --network NAME or set LIVEFYRE_NETWORK".to_owned(),
        )),
    }
}

/// The key from `--key-file`, else `LIVEFYRE_NETWORK_KEY`, else (for the demo network only)
/// the public demo key. `Ok(None)` when there is none.
///
/// The same rule as the examples: the public demo key serves [`DEMO_NETWORK`] alone, always
/// with a warning on stderr; given for any other network it is an error.
pub fn key(args: &NetworkArgs, network: &str) -> Result<Option<Key>, CliError> {
    resolve(configured_key(args)?, network)
}

fn resolve(configured: Option<Configured>, network: &str) -> Result<Option<Key>, CliError> {
    let is_demo_network = network.eq_ignore_ascii_case(DEMO_NETWORK);
    let key = match configured {
        Some(configured) => configured.key,
        None if is_demo_network => Key(DEMO_KEY.as_bytes().to_vec()),
        None => return Ok(None),
    };
    if key.bytes() == DEMO_KEY.as_bytes() {
        if !is_demo_network {
            return Err(CliError::Usage(format!(
                "the key is the public demo key, which only serves {DEMO_NETWORK}: use the key \
                 of {network}"
            )));
        }
        eprintln!("WARNING: {KEY_VAR}: using the PUBLIC DEMO KEY, known to everyone.");
        eprintln!(
            "WARNING: anyone can forge pull tokens for it: set your own key outside your laptop."
        );
    }
    Ok(Some(key))
}

/// The network and a key, which must exist: a missing key is an error (fail closed), and so
/// is a real key with no network named when `default` would be used.
pub fn credentials(args: &NetworkArgs, default: Option<&str>) -> Result<Credentials, CliError> {
    let configured = configured_key(args)?;
    let name = network_name(args, default, configured.as_ref())?;
    let key = resolve(configured, &name)?.ok_or_else(|| {
        CliError::Usage(format!(
            "no key for network {name}: set {KEY_VAR} or pass --key-file FILE"
        ))
    })?;
    let network = Network::new(name, key.bytes())
        .map_err(|error| CliError::Usage(format!("--network / key: {error}")))?;
    Ok(Credentials { network, key })
}

/// The file's contents less one trailing newline, at most [`MAX_KEY_FILE`] bytes; its
/// contents never appear in an error. A file others may read gets a warning.
fn read_key_file(path: &Path) -> Result<Key, CliError> {
    let cannot_read = |error: std::io::Error| {
        CliError::Usage(format!("cannot read key file {}: {error}", path.display()))
    };
    let file = File::open(path).map_err(cannot_read)?;
    warn_if_others_can_read(path, &file);
    let mut bytes = Vec::new();
    file.take(MAX_KEY_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot_read)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(CliError::Usage(format!(
            "key file {} is larger than {} KiB: a network key is one short line",
            path.display(),
            MAX_KEY_FILE / 1024
        )));
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(CliError::Usage(format!(
            "key file {} is empty",
            path.display()
        )));
    }
    Ok(Key(bytes))
}

/// A warning on stderr when the group or others have any access to the key file.
#[cfg(unix)]
fn warn_if_others_can_read(path: &Path, file: &File) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(metadata) = file.metadata() {
        let mode = metadata.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            eprintln!(
                "WARNING: key file {} is accessible to group or others (mode {mode:03o}): \
                 chmod 600 it",
                path.display()
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_others_can_read(_: &Path, _: &File) {}
