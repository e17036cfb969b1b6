//! Livefyre tokens through the public API: building and validating them (`build_validate`),
//! the interop vectors of `tests/data/lftokens.json` (`vectors`), and the `LftokenLayer` gate
//! as a tower middleware (`layer`).

#[path = "../common/mod.rs"]
mod common;

mod build_validate;
mod layer;
mod vectors;
