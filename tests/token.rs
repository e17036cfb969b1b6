//! Livefyre tokens through the public API: building and validating them (`build_validate`),
//! the interop vectors of `tests/data/lftokens.json` (`vectors`), and the `LftokenLayer` gate
//! as a tower middleware (`layer`).

mod common;

// The modules live in `token/`, beside this file: a binary root here (not `token/main.rs`)
// finds `common/` without a `#[path]`.
mod token {

    mod build_validate;
    mod layer;
    mod vectors;
}
