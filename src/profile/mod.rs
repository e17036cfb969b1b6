//! The user profile document a customer's server returns to Livefyre's
//! Ping-for-Pull profile request.
//!
//! Serialization is strict and compact: absent fields are omitted and booleans
//! are real JSON booleans. Deserialization is lenient in the way Livefyre's own
//! documentation is: booleans may arrive as `"true"`/`"false"`, and `""` or
//! `null` mean "not set"; the `id` must be a [`UserId`](crate::UserId). [`Profile::validate`](crate::Profile::validate) checks the
//! documented limits on tags, websites and URLs before a profile is sent.

/// Generates chainable `with_<field>` setters that store `Some(value)`; needed
/// because `#[non_exhaustive]` rules out struct literals outside the crate.
macro_rules! setters {
    ($ty:ident { $($setter:ident($field:ident: $arg:ty) => $value:expr;)* }) => {
        impl $ty {
            $(
                #[doc = concat!("Sets `", stringify!($field), "`.")]
                #[must_use]
                pub fn $setter(mut self, $field: $arg) -> Self {
                    self.$field = Some($value);
                    self
                }
            )*
        }
    };
}

pub(crate) mod document;
mod lenient;
mod parts;
mod rules;
pub(crate) mod validate;

pub use parts::{DisplayRules, EmailNotifications, Frequency, Name};
pub use rules::{MAX_TAG_LEN, MAX_WEBSITES, check_profile_url, is_valid_tag};
