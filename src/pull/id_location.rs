//! Where the user id is in the pull request: a query parameter or a path segment.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::rejection::PullRejection;
use crate::query::{self, QueryError};
use crate::user_id::{UserId, UserIdError};

/// Longest raw (percent-encoded) id looked at, in bytes: three per byte of the longest id.
/// It bounds the decoding work; the id rule itself is [`UserId`]'s.
const MAX_RAW_ID_LEN: usize = 3 * UserId::MAX_LEN;

/// Where to find the id.
#[derive(Debug, Clone)]
pub(crate) enum IdLocation {
    /// `?<name>=<id>`.
    Query(String),
    /// The part of the path between `prefix` and `suffix`, as in `/users/{id}/pull`.
    Path { prefix: String, suffix: String },
}

/// A path template that is not usable; see [`PullService::id_from_path`](crate::PullService::id_from_path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path template {template:?} must start with `/` and contain `{{id}}` exactly once")]
pub struct PathTemplateError {
    template: String,
}

impl IdLocation {
    pub(crate) fn path(template: &str) -> Result<Self, PathTemplateError> {
        let error = || PathTemplateError {
            template: template.to_owned(),
        };
        let (prefix, suffix) = template.split_once("{id}").ok_or_else(error)?;
        if !prefix.starts_with('/') || suffix.contains("{id}") || template.contains('?') {
            return Err(error());
        }
        Ok(Self::Path {
            prefix: prefix.to_owned(),
            suffix: suffix.to_owned(),
        })
    }

    /// The id of the request to `uri`, checked by the [`UserId`] rule; borrowed unless it was
    /// percent-encoded, so that a profile held in memory is found without a copy.
    pub(crate) fn extract<'u>(&self, uri: &'u http::Uri) -> Result<Cow<'u, str>, PullRejection> {
        let raw = match self {
            Self::Query(name) => {
                query::single_raw_value(uri.query(), name).map_err(|error| match error {
                    QueryError::Duplicated => PullRejection::DuplicateId,
                    _ => PullRejection::MissingId,
                })?
            }
            Self::Path { prefix, suffix } => uri
                .path()
                .strip_prefix(prefix.as_str())
                .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                .filter(|raw| !raw.contains('/'))
                .ok_or(PullRejection::MissingId)?,
        };
        decode(raw).map_err(PullRejection::InvalidId)
    }
}

/// Percent-decodes a raw id and checks it. `+` is not decoded to a space: a space is no
/// more an id byte than `+` is.
fn decode(raw: &str) -> Result<Cow<'_, str>, UserIdError> {
    if raw.len() > MAX_RAW_ID_LEN {
        return Err(UserIdError::TooLong { len: raw.len() });
    }
    let decoded: Cow<'_, [u8]> = percent_decode_str(raw).into();
    UserId::check(&decoded)?;
    // Checked: ASCII only, so UTF-8.
    Ok(match decoded {
        Cow::Borrowed(_) => Cow::Borrowed(raw),
        Cow::Owned(bytes) => Cow::Owned(String::from_utf8(bytes).map_err(|error| {
            let index = error.utf8_error().valid_up_to();
            UserIdError::InvalidByte {
                index,
                byte: error.as_bytes()[index],
            }
        })?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_table() {
        assert_eq!(decode("ann.lee"), Ok(Cow::Borrowed("ann.lee")));
        assert!(matches!(decode("ann.lee"), Ok(Cow::Borrowed(_))));
        assert_eq!(decode("%61nn").as_deref(), Ok("ann"));
        assert_eq!(decode(""), Err(UserIdError::Empty));
        assert_eq!(
            decode("a+b"),
            Err(UserIdError::InvalidByte {
                index: 1,
                byte: b'+'
            })
        );
        assert_eq!(
            decode("a%2Fb"),
            Err(UserIdError::InvalidByte {
                index: 1,
                byte: b'/'
            })
        );
        assert_eq!(
            decode("%FF"),
            Err(UserIdError::InvalidByte {
                index: 0,
                byte: 0xff
            })
        );
        let long = "a".repeat(UserId::MAX_LEN + 1);
        assert_eq!(decode(&long), Err(UserIdError::TooLong { len: 257 }));
        // Encoded, 256 bytes of id are 768 raw bytes: accepted; one more raw byte is not.
        let encoded = "%61".repeat(UserId::MAX_LEN);
        assert_eq!(decode(&encoded).map(|id| id.len()), Ok(UserId::MAX_LEN));
        assert_eq!(
            decode(&format!("{encoded}a")),
            Err(UserIdError::TooLong { len: 769 })
        );
    }
}
