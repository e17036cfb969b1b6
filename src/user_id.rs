//! [`UserId`]: the one home of Livefyre's user id rule.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

/// A Livefyre user id: one or more of `A-Z a-z 0-9 _ . -`, at most [`UserId::MAX_LEN`] bytes.
///
/// Every id that crosses this crate's API is a `UserId`, so it is checked once, where it
/// enters, and never again. The bytes it allows are all RFC 3986 *unreserved*, so an id is a
/// valid URL path segment and query value as it is.
///
/// It derefs to `str`, borrows as `str` (a `HashMap<UserId, _>` is looked up with a `&str`),
/// compares with `str`, and (de)serializes as a JSON string; deserializing checks the rule.
///
/// # Example
///
/// ```
/// use tower_livefyre::{UserId, UserIdError};
///
/// let id: UserId = "ann.lee".parse()?;
/// assert_eq!(id, "ann.lee");
/// assert_eq!(id.len(), 7); // a `str` method, through `Deref`
///
/// assert_eq!(UserId::new(""), Err(UserIdError::Empty));
/// assert_eq!(UserId::new("ann\n"), Err(UserIdError::InvalidByte { index: 3, byte: b'\n' }));
/// assert!(serde_json::from_str::<UserId>(r#""a/b""#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserId(
    // `Cow` so that constants such as `UserId::SYSTEM` need no allocation. `Hash`, `Eq` and
    // `Ord` of a `Cow<str>` are those of the `str`, as `Borrow<str>` requires.
    Cow<'static, str>,
);

/// Why a string is not a Livefyre user id.
///
/// No variant holds the input, so an error never echoes an arbitrarily long or hostile value.
///
/// ```
/// use tower_livefyre::{UserId, UserIdError};
///
/// let error = UserId::new("x".repeat(300)).unwrap_err();
/// assert_eq!(error, UserIdError::TooLong { len: 300 });
/// assert_eq!(error.to_string(), "user id is 300 bytes long, more than the 256 allowed");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserIdError {
    /// The id is empty.
    #[error("user id is empty")]
    Empty,
    /// The id is longer than [`UserId::MAX_LEN`] bytes.
    #[error("user id is {len} bytes long, more than the {max} allowed", max = UserId::MAX_LEN)]
    TooLong {
        /// Its length in bytes (for an id read from a URL, before percent-decoding when it
        /// was already too long then).
        len: usize,
    },
    /// The id has a byte outside `A-Z a-z 0-9 _ . -`.
    #[error(
        "user id has byte {byte:#04x} at index {index}: only A-Z, a-z, 0-9, `_`, `.` and `-` are allowed"
    )]
    InvalidByte {
        /// Where the first such byte is.
        index: usize,
        /// The byte.
        byte: u8,
    },
}

impl UserId {
    /// The user id of the system token, `system`.
    ///
    /// ```
    /// use tower_livefyre::UserId;
    /// use tower_livefyre::token::SYSTEM_USER;
    ///
    /// assert_eq!(UserId::SYSTEM, SYSTEM_USER);
    /// ```
    pub const SYSTEM: UserId = UserId(Cow::Borrowed("system"));

    /// Longest user id, in bytes.
    ///
    /// ```
    /// use tower_livefyre::UserId;
    ///
    /// assert!(UserId::new("a".repeat(UserId::MAX_LEN)).is_ok());
    /// assert!(UserId::new("a".repeat(UserId::MAX_LEN + 1)).is_err());
    /// ```
    pub const MAX_LEN: usize = 256;

    /// Checks `id` and wraps it.
    ///
    /// # Errors
    ///
    /// The [`UserIdError`] naming the first broken rule: empty, too long, a byte outside
    /// `[A-Za-z0-9_.-]`.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::UserId;
    ///
    /// let id = UserId::new(format!("user-{}", 42))?;
    /// assert_eq!(id.as_str(), "user-42");
    /// # Ok::<(), tower_livefyre::UserIdError>(())
    /// ```
    pub fn new(id: impl Into<String>) -> Result<Self, UserIdError> {
        let id = id.into();
        Self::check(id.as_bytes())?;
        Ok(Self(Cow::Owned(id)))
    }

    /// Wraps an id literal without copying it, like `http::HeaderValue::from_static`.
    ///
    /// For ids written in the source. In a `const`, an invalid literal fails the build;
    /// ids from elsewhere go through [`new`](Self::new) or `parse`, which return an error.
    ///
    /// # Panics
    ///
    /// If `id` is not a valid user id.
    ///
    /// # Example
    ///
    /// ```
    /// use tower_livefyre::UserId;
    ///
    /// const ANN: UserId = UserId::from_static("ann");
    /// assert_eq!(ANN, "ann");
    /// ```
    #[must_use]
    pub const fn from_static(id: &'static str) -> Self {
        match Self::check(id.as_bytes()) {
            Ok(()) => Self(Cow::Borrowed(id)),
            Err(_) => panic!("UserId::from_static: not a Livefyre user id"),
        }
    }

    /// The rule itself, on bytes: the one place in the crate that decides what an id is.
    pub(crate) const fn check(id: &[u8]) -> Result<(), UserIdError> {
        if id.is_empty() {
            return Err(UserIdError::Empty);
        }
        if id.len() > UserId::MAX_LEN {
            return Err(UserIdError::TooLong { len: id.len() });
        }
        let mut index = 0;
        while index < id.len() {
            let byte = id[index];
            if !(byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-')) {
                return Err(UserIdError::InvalidByte { index, byte });
            }
            index += 1;
        }
        Ok(())
    }

    /// Wraps an id that [`check`](Self::check) accepted, without checking it again.
    pub(crate) fn from_checked(id: String) -> Self {
        debug_assert!(Self::check(id.as_bytes()).is_ok());
        Self(Cow::Owned(id))
    }

    /// The id as a string slice.
    ///
    /// ```
    /// let id: tower_livefyre::UserId = "ann".parse()?;
    /// assert_eq!(id.as_str(), "ann");
    /// # Ok::<(), tower_livefyre::UserIdError>(())
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned `String` (no copy unless it was built from a `&'static str`).
    ///
    /// ```
    /// let id: tower_livefyre::UserId = "ann".parse()?;
    /// let owned: String = id.into_string();
    /// assert_eq!(owned, "ann");
    /// # Ok::<(), tower_livefyre::UserIdError>(())
    /// ```
    #[must_use]
    pub fn into_string(self) -> String {
        self.0.into_owned()
    }
}

impl Deref for UserId {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for UserId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for UserId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl FromStr for UserId {
    type Err = UserIdError;

    fn from_str(id: &str) -> Result<Self, UserIdError> {
        // Check before copying: a refused id costs no allocation.
        Self::check(id.as_bytes())?;
        Ok(Self(Cow::Owned(id.to_owned())))
    }
}

impl TryFrom<String> for UserId {
    type Error = UserIdError;

    fn try_from(id: String) -> Result<Self, UserIdError> {
        Self::new(id)
    }
}

impl TryFrom<&str> for UserId {
    type Error = UserIdError;

    fn try_from(id: &str) -> Result<Self, UserIdError> {
        id.parse()
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.into_string()
    }
}

impl PartialEq<str> for UserId {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for UserId {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for UserId {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<UserId> for str {
    fn eq(&self, other: &UserId) -> bool {
        *self == *other.0
    }
}

impl PartialEq<UserId> for &str {
    fn eq(&self, other: &UserId) -> bool {
        **self == *other.0
    }
}

impl PartialEq<UserId> for String {
    fn eq(&self, other: &UserId) -> bool {
        **self == *other.0
    }
}

impl serde::Serialize for UserId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for UserId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = UserId;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Livefyre user id (1 to 256 of A-Z, a-z, 0-9, `_`, `.`, `-`)")
            }

            fn visit_str<E: serde::de::Error>(self, id: &str) -> Result<UserId, E> {
                id.parse().map_err(E::custom)
            }

            fn visit_string<E: serde::de::Error>(self, id: String) -> Result<UserId, E> {
                UserId::new(id).map_err(E::custom)
            }
        }

        deserializer.deserialize_string(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        let long = "a".repeat(UserId::MAX_LEN);
        for good in [
            "a",
            "ann.lee",
            "A-Z_0.9",
            "system",
            "...",
            "-",
            long.as_str(),
        ] {
            assert_eq!(UserId::new(good).as_deref().ok(), Some(good), "{good:?}");
        }
        let too_long = "a".repeat(UserId::MAX_LEN + 1);
        let cases: &[(&str, UserIdError)] = &[
            ("", UserIdError::Empty),
            (&too_long, UserIdError::TooLong { len: 257 }),
            (
                "ann lee",
                UserIdError::InvalidByte {
                    index: 3,
                    byte: b' ',
                },
            ),
            (
                "ann\n",
                UserIdError::InvalidByte {
                    index: 3,
                    byte: b'\n',
                },
            ),
            (
                "a/b",
                UserIdError::InvalidByte {
                    index: 1,
                    byte: b'/',
                },
            ),
            (
                "a%2F",
                UserIdError::InvalidByte {
                    index: 1,
                    byte: b'%',
                },
            ),
            (
                "zoë",
                UserIdError::InvalidByte {
                    index: 2,
                    byte: 0xc3,
                },
            ),
            (
                "a+b",
                UserIdError::InvalidByte {
                    index: 1,
                    byte: b'+',
                },
            ),
            ("\0", UserIdError::InvalidByte { index: 0, byte: 0 }),
        ];
        for (bad, error) in cases {
            assert_eq!(UserId::new(*bad), Err(*error), "{bad:?}");
            assert_eq!(bad.parse::<UserId>(), Err(*error), "{bad:?}");
            assert_eq!(UserId::try_from(*bad), Err(*error), "{bad:?}");
        }
    }

    #[test]
    fn errors_never_echo_the_input() {
        let huge = format!("{}\n", "x".repeat(10_000));
        let message = UserId::new(huge).unwrap_err().to_string();
        assert!(message.len() < 100, "{message}");
    }

    #[test]
    fn serde_round_trip_and_validation() {
        let id: UserId = serde_json::from_str(r#""ann.lee""#).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""ann.lee""#);
        let error = serde_json::from_str::<UserId>(r#""ann lee""#).unwrap_err();
        assert!(error.to_string().contains("index 3"), "{error}");
        assert!(serde_json::from_str::<UserId>("42").is_err());
    }

    #[test]
    fn hash_map_lookup_by_str() {
        let map = std::collections::HashMap::from([(UserId::SYSTEM, 1)]);
        assert_eq!(map.get("system"), Some(&1));
    }
}
