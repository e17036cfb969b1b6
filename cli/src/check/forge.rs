//! The tokens the checks send: a valid system token and one broken copy per token check.
//!
//! The library builds the valid, expired, wrong-domain, other-key and user tokens; only the
//! ones it refuses to make (`alg: none`, HS512, a random signature) are put together here.
//!
//! Every token the endpoint could use lives for the run's timeout plus [`LIFETIME_MARGIN`],
//! not the libraries' 24 hours: the endpoint under check, or anything between it and us,
//! may keep what it is sent. A fresh one is built for each request.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rustls::crypto::ring::default_provider;
use sha2::Sha512;
use tower_livefyre::{Network, UserId, token::SYSTEM_USER};

use crate::error::CliError;
use crate::key::Credentials;

/// How long ago the expired token expired: far beyond any sensible leeway.
const EXPIRED_AGO: Duration = Duration::from_secs(86_400);

/// How much longer than one answer may take a token lives: the time to build and send it.
pub const LIFETIME_MARGIN: Duration = Duration::from_secs(30);

/// The length of an HMAC-SHA256 signature.
const SIGNATURE_LEN: usize = 32;

/// Builds the tokens for one run.
pub struct Forge<'a> {
    credentials: &'a Credentials,
    /// How long a token that the endpoint could use lives.
    lifetime: Duration,
}

impl<'a> Forge<'a> {
    /// Tokens for `credentials`' network that live for `timeout` plus [`LIFETIME_MARGIN`].
    pub fn new(credentials: &'a Credentials, timeout: Duration) -> Self {
        Self {
            credentials,
            lifetime: timeout.saturating_add(LIFETIME_MARGIN),
        }
    }

    fn network(&self) -> &Network {
        &self.credentials.network
    }

    /// A short-lived system token for `network`.
    fn system_token(&self, network: &Network) -> Result<String, CliError> {
        network
            .build_user_auth_token(&UserId::SYSTEM, SYSTEM_USER, self.lifetime)
            .map_err(token_error)
    }

    /// A valid system token, as Livefyre sends on each pull.
    pub fn valid(&self) -> Result<String, CliError> {
        self.system_token(self.network())
    }

    /// Valid header and claims under a random signature: nothing about the real signature
    /// can be learnt from it (a copy with one character changed could be undone in 64 tries).
    pub fn bad_signature(&self) -> Result<String, CliError> {
        let valid = self.valid()?;
        let (signed, _) = valid.rsplit_once('.').ok_or_else(|| {
            CliError::Usage("the library built a token without a signature".to_owned())
        })?;
        let mut random = [0u8; SIGNATURE_LEN];
        default_provider()
            .secure_random
            .fill(&mut random)
            .map_err(|_| CliError::Failed("the system random source failed".to_owned()))?;
        let mut token = format!("{signed}.");
        URL_SAFE_NO_PAD.encode_string(random, &mut token);
        Ok(token)
    }

    /// A system token for the same network signed with another key.
    pub fn other_key(&self) -> Result<String, CliError> {
        let mut key = self.credentials.key.bytes().to_vec();
        key.extend_from_slice(b"-not-the-network-key");
        let other = Network::new(self.network().name(), key)
            .map_err(|error| CliError::Usage(error.to_string()))?;
        self.system_token(&other)
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
        let other = Network::new(name, self.credentials.key.bytes())
            .map_err(|error| CliError::Usage(error.to_string()))?;
        self.system_token(&other)
    }

    /// A valid user auth token for `user`, not the system user.
    pub fn not_system(&self, user: &UserId) -> Result<String, CliError> {
        self.network()
            .build_user_auth_token(user, user, self.lifetime)
            .map_err(token_error)
    }

    /// Valid system claims under `{"alg":"none"}` and an empty signature.
    pub fn alg_none(&self) -> String {
        let mut token = self.unsigned(r#"{"alg":"none","typ":"JWT"}"#);
        token.push('.');
        token
    }

    /// Valid system claims signed with HMAC-SHA512 and the right key, as short-lived as the
    /// rest: a lax validator (PyJWT, Node, Ruby and C# take any HMAC) accepts it as a valid
    /// credential.
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
            + self.lifetime.as_secs();
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
