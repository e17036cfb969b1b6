//! The tokens the checks send: a valid system token and one broken copy per token check.
//!
//! The library builds the valid, expired, wrong-domain, other-key and user tokens; only the
//! ones it refuses to make (`alg: none`, HS512, a corrupted signature) are put together here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha512;
use tower_livefyre::{DEFAULT_TOKEN_TTL, Network, SYSTEM_USER, UserId};

use crate::error::CliError;
use crate::key::Credentials;

/// How long ago the expired token expired: far beyond any sensible leeway.
const EXPIRED_AGO: Duration = Duration::from_secs(86_400);

/// Builds the tokens for one run.
pub struct Forge<'a> {
    credentials: &'a Credentials,
}

impl<'a> Forge<'a> {
    /// Tokens for `credentials`' network.
    pub fn new(credentials: &'a Credentials) -> Self {
        Self { credentials }
    }

    fn network(&self) -> &Network {
        &self.credentials.network
    }

    /// A valid system token, as Livefyre sends on each pull.
    pub fn valid(&self) -> Result<String, CliError> {
        self.network().build_livefyre_token().map_err(token_error)
    }

    /// A valid token with one signature character changed.
    pub fn bad_signature(&self) -> Result<String, CliError> {
        let mut token = self.valid()?;
        let at = token.rfind('.').map_or(0, |dot| dot + 1);
        // Any other base64url character at the start of the signature changes its first
        // byte's top bits, so the signature still decodes but no longer matches.
        let replacement = if token[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        token.replace_range(at..at + 1, replacement);
        Ok(token)
    }

    /// A system token for the same network signed with another key.
    pub fn other_key(&self) -> Result<String, CliError> {
        let mut key = self.credentials.key.bytes().to_vec();
        key.extend_from_slice(b"-not-the-network-key");
        Network::new(self.network().name(), key)
            .map_err(|error| CliError::Usage(error.to_string()))?
            .build_livefyre_token()
            .map_err(token_error)
    }

    /// A system token that expired a day ago.
    pub fn expired(&self) -> Result<String, CliError> {
        let issued = SystemTime::now()
            .checked_sub(EXPIRED_AGO + Duration::from_secs(60))
            .unwrap_or(UNIX_EPOCH);
        self.network()
            .build_user_auth_token_at(
                &UserId::SYSTEM,
                SYSTEM_USER,
                Duration::from_secs(60),
                issued,
            )
            .map_err(token_error)
    }

    /// A system token, with the right key, for the network `not-<network>`: it ends with the
    /// same suffix, so a suffix or substring comparison lets it in.
    pub fn wrong_domain(&self) -> Result<String, CliError> {
        let name = format!("not-{}", self.network().name());
        Network::new(name, self.credentials.key.bytes())
            .map_err(|error| CliError::Usage(error.to_string()))?
            .build_livefyre_token()
            .map_err(token_error)
    }

    /// A valid user auth token for `user`, not the system user.
    pub fn not_system(&self, user: &UserId) -> Result<String, CliError> {
        self.network()
            .build_user_auth_token(user, user, DEFAULT_TOKEN_TTL)
            .map_err(token_error)
    }

    /// Valid system claims under `{"alg":"none"}` and an empty signature.
    pub fn alg_none(&self) -> String {
        let mut token = self.unsigned(r#"{"alg":"none","typ":"JWT"}"#);
        token.push('.');
        token
    }

    /// Valid system claims signed with HMAC-SHA512 and the right key.
    pub fn alg_hs512(&self) -> Result<String, CliError> {
        let mut token = self.unsigned(r#"{"alg":"HS512","typ":"JWT"}"#);
        let mut mac = Hmac::<Sha512>::new_from_slice(self.credentials.key.bytes())
            .map_err(|_| CliError::Usage("the key cannot be used for HMAC".to_owned()))?;
        mac.update(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
        Ok(token)
    }

    /// `header.claims` with valid system claims.
    fn unsigned(&self, header: &str) -> String {
        let expires = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs()
            + DEFAULT_TOKEN_TTL.as_secs();
        let claims = serde_json::json!({
            "domain": self.network().name(),
            "user_id": SYSTEM_USER,
            "display_name": SYSTEM_USER,
            "expires": expires,
        });
        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims.to_string(), &mut token);
        token
    }
}

fn token_error(error: tower_livefyre::TokenError) -> CliError {
    CliError::Usage(format!("cannot build a token: {error}"))
}
