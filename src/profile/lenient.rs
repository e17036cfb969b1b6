//! Lenient `deserialize_with` support: Livefyre's docs show booleans as
//! strings (`"true"`), and customers send `""` or `null` for "not set".

use std::{fmt, marker::PhantomData};

use serde::de::{Deserializer, Error, Unexpected, Visitor};

/// A value that may arrive as a JSON string instead of its native type.
pub(super) trait Lenient: Sized {
    /// Describes the accepted inputs in error messages.
    const EXPECTING: &'static str;
    /// Converts a JSON boolean; `None` rejects it.
    fn from_bool(_: bool) -> Option<Self> {
        None
    }
    /// Converts a non-empty JSON string; `None` rejects it.
    fn parse(s: &str) -> Option<Self>;
}

impl Lenient for bool {
    const EXPECTING: &'static str = r#"a boolean, "true", "false", "" or null"#;
    fn from_bool(b: bool) -> Option<Self> {
        Some(b)
    }
    fn parse(s: &str) -> Option<Self> {
        match s {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        }
    }
}

/// Deserializes `Option<T>`, treating `""` and `null` as `None`.
pub(super) fn option<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Lenient,
{
    deserializer.deserialize_option(OptionVisitor(PhantomData))
}

struct OptionVisitor<T>(PhantomData<T>);

impl<'de, T: Lenient> Visitor<'de> for OptionVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(T::EXPECTING)
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E: Error>(self, b: bool) -> Result<Self::Value, E> {
        match T::from_bool(b) {
            Some(value) => Ok(Some(value)),
            None => Err(E::invalid_type(Unexpected::Bool(b), &self)),
        }
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<Self::Value, E> {
        if s.is_empty() {
            return Ok(None);
        }
        match T::parse(s) {
            Some(value) => Ok(Some(value)),
            None => Err(E::invalid_value(Unexpected::Str(s), &self)),
        }
    }
}
