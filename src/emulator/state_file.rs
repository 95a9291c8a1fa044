//! `--state-file PATH`: the emulator's state kept on disk, so a developer's local IVS keeps its
//! channels across restarts.
//!
//! The file is the state document (`snapshot.rs`, of every account) plus `signingKey`, the
//! emulator's Real-Time token key as base64 PKCS#8 DER, so that participant tokens issued before
//! a restart verify after it. The key is only ever in this file, never in `GET /_ivs-vcr/state`.
//!
//! - Load, at start: a missing file is an empty emulator (the first save creates it, and its
//!   folder is made at once, so an unwritable path fails the start, not the shutdown); a file
//!   that is not JSON, of a newer version, or refused by a restore's checks stops the start with
//!   an error naming the file, the problem and what to do (exit code 2), and nothing is loaded.
//! - Save, on graceful shutdown (SIGINT, SIGTERM, after in-flight requests are done) and on
//!   `POST /_ivs-vcr/state/save`: written whole to a temporary file in the same directory
//!   (mode 0600: it holds a private key), synced, renamed over the file, and the directory
//!   synced. A reader, or a kill at any moment, sees the old file or the new one, never a part;
//!   SIGKILL loses what changed since the last save. Saves are serialized, so an older snapshot
//!   never replaces a newer one.
//!
//! The path comes from the operator's command line only; no request names one.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

use super::snapshot::RestoreError;
use super::Emulator;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a state file could not be loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateFileError {
    /// The file exists but cannot be read.
    #[error("cannot read the state file `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not JSON.
    #[error("the state file `{}` is not JSON (damaged, or not written by ivs-vcr); move the file away to start empty, or put back a good copy", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the JSON parser found.
        #[source]
        source: serde_json::Error,
    },
    /// The document was refused; nothing of it was loaded.
    #[error("the state file `{}` was not loaded: {reason}; {}", path.display(), what_to_do(*newer))]
    Refused {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
        /// True when the file is of a newer format version.
        newer: bool,
    },
    /// The file could not be written.
    #[error("cannot write the state file `{}`", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
}

fn what_to_do(newer: bool) -> &'static str {
    if newer {
        "run the newer ivs-vcr that wrote it, or move the file away to start empty"
    } else {
        "move the file away to start empty, or fix what is named"
    }
}

/// A state file's document and key, read and parsed.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub doc: Value,
    pub signer: Option<crate::jwt::Signer>,
}

/// Reads a state file: `None` when there is none yet.
pub(crate) fn read(path: &Path) -> Result<Option<Loaded>, StateFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            // The first save creates the file; its folder is made now, so that a path the
            // first save could not write fails the start rather than the shutdown.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|source| StateFileError::Write {
                    path: path.to_owned(),
                    source,
                })?;
            }
            return Ok(None);
        }
        Err(source) => {
            return Err(StateFileError::Read {
                path: path.to_owned(),
                source,
            })
        }
    };
    let mut doc: Value =
        serde_json::from_slice(&bytes).map_err(|source| StateFileError::Corrupt {
            path: path.to_owned(),
            source,
        })?;
    let refused = |reason: String| StateFileError::Refused {
        path: path.to_owned(),
        newer: false,
        reason,
    };
    let signer = match doc.as_object_mut().and_then(|m| m.remove("signingKey")) {
        None => None,
        Some(Value::String(text)) => Some(
            B64.decode(text.as_bytes())
                .map_err(|_| "`signingKey` is not base64".to_owned())
                .and_then(|der| crate::jwt::Signer::from_pkcs8_der(&der))
                .map_err(|e| refused(format!("`signingKey`: {e}")))?,
        ),
        Some(_) => return Err(refused("`signingKey` must be a base64 string".into())),
    };
    Ok(Some(Loaded { doc, signer }))
}

/// The error of a document the emulator refused at load.
pub(crate) fn refused(path: &Path, err: &RestoreError) -> StateFileError {
    StateFileError::Refused {
        path: path.to_owned(),
        newer: matches!(err, RestoreError::Newer { .. }),
        reason: err.to_string(),
    }
}

/// Writes the emulator's whole state to `path` atomically (see the module doc); the bytes
/// written.
pub(crate) fn save(emulator: &Emulator, path: &Path) -> Result<u64, StateFileError> {
    // One save at a time, in the order they took their snapshots.
    static SAVING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _saving = SAVING.lock().unwrap_or_else(|p| p.into_inner());
    let mut doc = emulator.snapshot(None);
    if let Value::Object(map) = &mut doc {
        map.insert(
            "signingKey".into(),
            B64.encode(emulator.signer.pkcs8_der()).into(),
        );
    }
    // Invariant: a JSON value serializes.
    let bytes = serde_json::to_vec_pretty(&doc).expect("JSON serializes");
    crate::cassette::write_atomically_private(path, &bytes).map_err(|source| {
        StateFileError::Write {
            path: path.to_owned(),
            source,
        }
    })?;
    Ok(bytes.len() as u64)
}
