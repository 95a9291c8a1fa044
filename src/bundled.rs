//! The bundled cassettes, compiled into the binary from `cassettes/` by `build.rs`.
//!
//! They cover every IVS and IVS Chat operation, success and modeled errors, authored from the
//! IVS and IVS Chat API references in `us-west-2` under account `123456789012` (the Chat ones,
//! `12-chat-rooms` and `errors-chat`, are `format: 2`, their requests `service: ivschat`). `replay` serves them when no
//! `--cassettes` directory is given, and [`cassettes`] parses them for anyone else.

use std::path::Path;

use crate::cassette::{Cassette, CassetteError};

include!(concat!(env!("OUT_DIR"), "/bundled.rs"));

/// The region every bundled cassette is authored in; answers to other regions are rewritten.
pub const BUNDLED_REGION: &str = "us-west-2";

/// The bundled cassettes' files: (path under `cassettes/`, YAML text), sorted by path.
pub fn files() -> &'static [(&'static str, &'static str)] {
    BUNDLED
}

/// Parses every bundled cassette.
pub fn cassettes() -> Result<Vec<Cassette>, CassetteError> {
    BUNDLED
        .iter()
        .map(|(path, text)| Cassette::from_yaml(text, Path::new(path)))
        .collect()
}
