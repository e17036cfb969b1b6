//! Every check: its fixed id, level, where the rule comes from, and what it asks.
//!
//! Ids are a contract (CI pipelines grep for them): never rename one; add new ones.

use serde::Serialize;

/// How binding a rule is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// A failure fails the run.
    Must,
    /// A failure is a `warn`; it fails the run only with `--strict`.
    Should,
}

impl Level {
    /// `MUST` or `SHOULD`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Must => "MUST",
            Self::Should => "SHOULD",
        }
    }
}

/// One check.
#[derive(Debug, Serialize)]
pub struct CheckDef {
    /// Stable id, e.g. `pull/token/expired`.
    pub id: &'static str,
    /// MUST or SHOULD.
    pub level: Level,
    /// The section of PROTOCOL.md the rule comes from.
    pub section: &'static str,
    /// What the check asks, in one line.
    pub title: &'static str,
}

/// Defines one static per check and [`CHECKS`], all of them in report order.
macro_rules! checks {
    ($($name:ident = $level:ident($id:literal, $section:literal, $title:literal);)*) => {
        $(
            #[doc = concat!("`", $id, "`: ", $title)]
            pub static $name: CheckDef = CheckDef {
                id: $id,
                level: Level::$level,
                section: $section,
                title: $title,
            };
        )*
        /// All checks, in report order.
        pub static CHECKS: &[&CheckDef] = &[$(&$name),*];
    };
}

checks! {
    TOKEN_MISSING = Must("pull/token/missing", "§5", "no lftoken: 403 with an empty body");
    TOKEN_EMPTY = Must("pull/token/empty", "§5", "empty lftoken: 403 with an empty body");
    TOKEN_BAD_SIGNATURE = Must("pull/token/bad-signature", "§2.6", "corrupted signature: 403 with an empty body");
    TOKEN_OTHER_KEY = Must("pull/token/other-key", "§2.4", "signed with another key: 403 with an empty body");
    TOKEN_EXPIRED = Must("pull/token/expired", "§2.6", "expired a day ago: 403 with an empty body");
    TOKEN_WRONG_DOMAIN = Must("pull/token/wrong-domain", "§2.6", "domain `not-NETWORK`: 403 with an empty body");
    TOKEN_NOT_SYSTEM = Must("pull/token/not-system", "§2.6", "a user's token, not the system token: 403 with an empty body");
    TOKEN_ALG_NONE = Must("pull/token/alg-none", "§2.6", "alg none without a signature: 403 with an empty body");
    TOKEN_ALG_HS512 = Must("pull/token/alg-hs512", "§2.6", "HS512 with the right key: 403 with an empty body");
    TOKEN_DUPLICATED = Must("pull/token/duplicated", "§5", "lftoken given twice: 403 with an empty body");
    TOKEN_HEADER_ONLY = Must("pull/token/header-only", "§5", "token in Authorization, not in the query: 403 with an empty body");
    FOUND_STATUS = Must("pull/found/status", "§5", "known user, valid token: 200");
    FOUND_JSON = Must("pull/found/json", "§5", "the answer is a JSON object served as application/json");
    FOUND_ID = Must("pull/found/id", "§6", "`id` equals the requested id");
    FOUND_DISPLAY_NAME = Must("pull/found/display-name", "§6", "`display_name` is a non-empty string");
    DOCUMENT_NAME = Must("pull/document/name", "§6", "`name` is an object of strings: formatted, first, middle, last");
    DOCUMENT_URLS = Must("pull/document/urls", "§6", "image_url, profile_url, settings_url are absolute http(s) URLs");
    DOCUMENT_TAGS = Must("pull/document/tags", "§6", "`tags`: strings of 1-63 characters of A-Z a-z 0-9 _");
    DOCUMENT_WEBSITES = Must("pull/document/websites", "§6", "`websites`: at most 2 absolute http(s) URLs");
    DOCUMENT_EMAIL_NOTIFICATIONS = Must("pull/document/email-notifications", "§6", "`email_notifications`: documented keys, values immediately/often/never");
    DOCUMENT_DISPLAY_RULES = Must("pull/document/display-rules", "§6", "`display_rules`: an object of booleans");
    DOCUMENT_BOOLEANS = Must("pull/document/booleans", "§6", "autofollow_conversations, moderator, gravatar_disabled are booleans");
    DOCUMENT_FIELDS = Must("pull/document/fields", "§6", "email, location, bio, nickname are strings; no unknown fields");
    UNKNOWN_STATUS = Should("pull/unknown/status", "§5", "unknown user, valid token: 404");
    NO_TOKEN_ECHO = Must("pull/no-token-echo", "§5", "the token appears in no answer, body or header");
    TRANSPORT_HTTPS = Should("transport/https", "§5", "https, except on loopback");
}
