//! The network and its key: the name from `--network`/`LIVEFYRE_NETWORK`, the key from
//! `--key-file` or `LIVEFYRE_NETWORK_KEY` only.

use std::fmt;
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

/// The network name: `--network`/`LIVEFYRE_NETWORK`, else `default`.
pub fn network_name(args: &NetworkArgs, default: Option<&str>) -> Result<String, CliError> {
    match (&args.network, default) {
        (Some(name), _) => Ok(name.clone()),
        (None, Some(default)) => Ok(default.to_owned()),
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
    let is_demo_network = network.eq_ignore_ascii_case(DEMO_NETWORK);
    let key = if let Some(path) = &args.key_file {
        read_key_file(path)?
    } else {
        match std::env::var_os(KEY_VAR) {
            Some(value) => {
                let value = value
                    .into_string()
                    .map_err(|_| CliError::Usage(format!("{KEY_VAR} is not valid UTF-8")))?;
                if value.is_empty() {
                    return Err(CliError::Usage(format!("{KEY_VAR} is set but empty")));
                }
                Key(value.into_bytes())
            }
            None if is_demo_network => Key(DEMO_KEY.as_bytes().to_vec()),
            None => return Ok(None),
        }
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

/// The network and a key, which must exist: a missing key is an error (fail closed).
pub fn credentials(args: &NetworkArgs, default: Option<&str>) -> Result<Credentials, CliError> {
    let name = network_name(args, default)?;
    let key = key(args, &name)?.ok_or_else(|| {
        CliError::Usage(format!(
            "no key for network {name}: set {KEY_VAR} or pass --key-file FILE"
        ))
    })?;
    let network = Network::new(name, key.bytes())
        .map_err(|error| CliError::Usage(format!("--network / key: {error}")))?;
    Ok(Credentials { network, key })
}

/// The file's contents less one trailing newline; its contents never appear in an error.
fn read_key_file(path: &Path) -> Result<Key, CliError> {
    let mut bytes = std::fs::read(path).map_err(|error| {
        CliError::Usage(format!("cannot read key file {}: {error}", path.display()))
    })?;
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
