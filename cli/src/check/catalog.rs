//! Every check: its fixed id, level, the section of `docs/protocol.md` that states its rule,
//! and what it asks.
//!
//! Ids are a contract (CI pipelines grep for them): never rename one; add new ones.

use serde::{Serialize, Serializer};

/// `docs/protocol.md`, shipped inside the binary so that `--explain` works after
/// `cargo install --path cli`.
pub const PROTOCOL_MD: &str = include_str!("../../../docs/protocol.md");

/// Where the document lives in the repository, as reports cite it.
pub const PROTOCOL_PATH: &str = "docs/protocol.md";

/// The same document in the repository on the web: the HTML report links each check to
/// `PROTOCOL_URL#ANCHOR`, so the links work wherever the file is opened.
pub const PROTOCOL_URL: &str =
    "https://github.com/tower-livefyre/tower-livefyre/blob/main/docs/protocol.md";

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

/// Defines [`CheckId`], one variant per check, with its id, level, anchor and title, and
/// [`CheckId::ALL`] in report order.
macro_rules! checks {
    ($($name:ident = $level:ident($id:literal, $anchor:literal, $title:literal);)*) => {
        /// One check. Serialized as its id, e.g. `pull/token/expired`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CheckId {
            $(
                #[doc = concat!("`", $id, "`: ", $title)]
                $name,
            )*
        }

        impl CheckId {
            /// All checks, in report order.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$name),*];

            /// The stable id, e.g. `pull/token/expired`.
            pub const fn id(self) -> &'static str {
                match self {
                    $(CheckId::$name => $id,)*
                }
            }

            /// MUST or SHOULD.
            pub const fn level(self) -> Level {
                match self {
                    $(CheckId::$name => Level::$level,)*
                }
            }

            /// The anchor of its section in `docs/protocol.md`, e.g. `pull-token-expired`.
            pub const fn anchor(self) -> &'static str {
                match self {
                    $(CheckId::$name => $anchor,)*
                }
            }

            /// What the check asks, in one line.
            pub const fn title(self) -> &'static str {
                match self {
                    $(CheckId::$name => $title,)*
                }
            }
        }
    };
}

checks! {
    TokenMissing = Must("pull/token/missing", "pull-token-missing", "no lftoken: 403 with an empty body");
    TokenEmpty = Must("pull/token/empty", "pull-token-empty", "empty lftoken: 403 with an empty body");
    TokenBadSignature = Must("pull/token/bad-signature", "pull-token-bad-signature", "random signature: 403 with an empty body");
    TokenOtherKey = Must("pull/token/other-key", "pull-token-other-key", "signed with another key: 403 with an empty body");
    TokenExpired = Must("pull/token/expired", "pull-token-expired", "expired a day ago: 403 with an empty body");
    TokenWrongDomain = Must("pull/token/wrong-domain", "pull-token-wrong-domain", "domain `not-NETWORK`: 403 with an empty body");
    TokenNotSystem = Must("pull/token/not-system", "pull-token-not-system", "a user's token, not the system token: 403 with an empty body");
    TokenAlgNone = Must("pull/token/alg-none", "pull-token-alg-none", "alg none without a signature: 403 with an empty body");
    TokenAlgHs512 = Must("pull/token/alg-hs512", "pull-token-alg-hs512", "HS512 with the right key: 403 with an empty body");
    TokenDuplicated = Must("pull/token/duplicated", "pull-token-duplicated", "lftoken given twice: 403 with an empty body");
    TokenHeaderOnly = Must("pull/token/header-only", "pull-token-header-only", "token in Authorization, not in the query: 403 with an empty body");
    FoundStatus = Must("pull/found/status", "pull-found-status", "known user, valid token: 200");
    FoundJson = Must("pull/found/json", "pull-found-json", "the answer is a JSON object served as application/json");
    FoundId = Must("pull/found/id", "pull-found-id", "`id` equals the requested id");
    FoundDisplayName = Must("pull/found/display-name", "pull-found-display-name", "`display_name` is a non-empty string");
    DocumentName = Must("pull/document/name", "pull-document-name", "`name` is an object of strings: formatted, first, middle, last");
    DocumentUrls = Must("pull/document/urls", "pull-document-urls", "image_url, profile_url, settings_url are absolute http(s) URLs");
    DocumentTags = Must("pull/document/tags", "pull-document-tags", "`tags`: strings of 1-63 characters of A-Z a-z 0-9 _");
    DocumentWebsites = Must("pull/document/websites", "pull-document-websites", "`websites`: at most 2 absolute http(s) URLs");
    DocumentEmailNotifications = Must("pull/document/email-notifications", "pull-document-email-notifications", "`email_notifications`: documented keys, values immediately/often/never");
    DocumentDisplayRules = Must("pull/document/display-rules", "pull-document-display-rules", "`display_rules`: an object of booleans");
    DocumentBooleans = Must("pull/document/booleans", "pull-document-booleans", "autofollow_conversations, moderator, gravatar_disabled are booleans");
    DocumentFields = Must("pull/document/fields", "pull-document-fields", "email, location, bio, nickname are strings; no unknown fields");
    UnknownStatus = Should("pull/unknown/status", "pull-unknown-status", "unknown user, valid token: 404");
    NoTokenEcho = Must("pull/no-token-echo", "pull-no-token-echo", "the token appears in no answer, body or header");
    TransportHttps = Should("transport/https", "transport-https", "https, except on loopback");
}

impl CheckId {
    /// The check with this id, if any.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|check| check.id() == id)
    }

    /// Where its rule is stated: `docs/protocol.md#pull-token-expired`.
    pub fn section(self) -> String {
        format!("{PROTOCOL_PATH}#{}", self.anchor())
    }

    /// The token checks: each sends a broken or misplaced token and expects a 403.
    pub fn is_token_check(self) -> bool {
        self.id().starts_with("pull/token/")
    }

    /// The text of its section in `docs/protocol.md`: from its anchor to the next heading.
    /// `None` only if the document lost the anchor (a test walks every id).
    pub fn rule(self) -> Option<&'static str> {
        section_text(PROTOCOL_MD, self.anchor())
    }
}

impl Serialize for CheckId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// The section of `markdown` that holds `<a id="ANCHOR"></a>`: from the heading line that
/// holds the anchor up to (not including) the next heading.
pub fn section_text<'a>(markdown: &'a str, anchor: &str) -> Option<&'a str> {
    let mark = format!("<a id=\"{anchor}\"></a>");
    let at = markdown.find(&mark)?;
    let start = markdown[..at].rfind('\n').map_or(0, |newline| newline + 1);
    let rest = &markdown[start..];
    let first_line_end = rest.find('\n').map_or(rest.len(), |newline| newline + 1);
    let end = rest[first_line_end..]
        .match_indices("\n#")
        .map(|(index, _)| first_line_end + index + 1)
        .next()
        .unwrap_or(rest.len());
    Some(rest[..end].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        for (index, check) in CheckId::ALL.iter().enumerate() {
            assert_eq!(CheckId::from_id(check.id()), Some(*check));
            assert_eq!(check.anchor(), check.id().replace('/', "-"));
            assert!(
                !CheckId::ALL[..index]
                    .iter()
                    .any(|other| other.id() == check.id()),
                "{}",
                check.id()
            );
        }
        assert_eq!(CheckId::from_id("pull/token"), None);
        assert_eq!(
            serde_json::to_string(&CheckId::TokenExpired).unwrap(),
            "\"pull/token/expired\""
        );
    }

    #[test]
    fn the_embedded_document_has_a_section_for_every_check() {
        for check in CheckId::ALL {
            let rule = check.rule().unwrap_or_else(|| panic!("{}", check.id()));
            assert!(rule.contains(check.id()), "{}: {rule}", check.id());
        }
    }

    #[test]
    fn a_section_ends_at_the_next_heading() {
        let markdown =
            "# A\n\n### `x` <a id=\"x\"></a>\n\nRule x.\n\n### `y` <a id=\"y\"></a>\nRule y.\n";
        assert_eq!(
            section_text(markdown, "x"),
            Some("### `x` <a id=\"x\"></a>\n\nRule x.")
        );
        assert_eq!(
            section_text(markdown, "y"),
            Some("### `y` <a id=\"y\"></a>\nRule y.")
        );
        assert_eq!(section_text(markdown, "z"), None);
    }
}
