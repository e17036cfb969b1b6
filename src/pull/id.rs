//! Where the user id is in the pull request: a query parameter or a path segment.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;

use super::PullRejection;
use crate::query::{self, QueryError};
use crate::token::is_valid_user_id;

/// Longest raw id accepted, in bytes.
pub(crate) const MAX_ID_LEN: usize = 256;

/// Where to find the id.
#[derive(Debug, Clone)]
pub(crate) enum IdLocation {
    /// `?<name>=<id>`.
    Query(String),
    /// The part of the path between `prefix` and `suffix`, as in `/users/{id}/pull`.
    Path { prefix: String, suffix: String },
}

/// A path template that is not usable; see [`PullService::id_from_path`](super::PullService::id_from_path).
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

    /// The id of the request to `uri`, checked to be a Livefyre user id; borrowed unless it
    /// was percent-encoded.
    pub(crate) fn extract<'u>(&self, uri: &'u http::Uri) -> Result<Cow<'u, str>, PullRejection> {
        let id = match self {
            Self::Query(name) => {
                query::single_value(uri.query(), name, MAX_ID_LEN).map_err(|error| match error {
                    QueryError::Missing => PullRejection::MissingId,
                    QueryError::Empty => PullRejection::EmptyId,
                    QueryError::Duplicated => PullRejection::DuplicateId,
                    QueryError::NotUtf8 => PullRejection::InvalidId,
                    QueryError::TooLong => PullRejection::IdTooLong { max: MAX_ID_LEN },
                })?
            }
            Self::Path { prefix, suffix } => {
                let raw = uri
                    .path()
                    .strip_prefix(prefix.as_str())
                    .and_then(|rest| rest.strip_suffix(suffix.as_str()))
                    .filter(|raw| !raw.contains('/'))
                    .ok_or(PullRejection::MissingId)?;
                if raw.is_empty() {
                    return Err(PullRejection::EmptyId);
                }
                if raw.len() > MAX_ID_LEN {
                    return Err(PullRejection::IdTooLong { max: MAX_ID_LEN });
                }
                percent_decode_str(raw)
                    .decode_utf8()
                    .map_err(|_| PullRejection::InvalidId)?
            }
        };
        // Ids reach user-written lookups (SQL, files, HTTP): only Livefyre's charset passes.
        if is_valid_user_id(&id) {
            Ok(id)
        } else {
            Err(PullRejection::InvalidId)
        }
    }
}
