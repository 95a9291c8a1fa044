//! The background writer: each completed interaction is appended to its cassette, and the file
//! is rewritten shortly after (see "Writes" in the module doc of `record`).

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use super::slots::{Captured, Slot};
use super::{RecordError, RecordState};
use crate::cassette::{CassetteDir, Interaction};
use crate::http::{error_chain, Side};
use crate::normalize::Fingerprint;
use crate::redact;

/// written once rather than once each: every write serializes the whole cassette.
const WRITE_DELAY: Duration = Duration::from_millis(50);

impl RecordState {
    /// Adds a captured interaction of `operation`, which arrived at tick `arrived`, to its
    /// cassette, and writes the file after [`WRITE_DELAY`] in the background.
    pub(super) fn append_captured(
        self: &Arc<Self>,
        slot: &Arc<Slot>,
        operation: &str,
        arrived: u64,
        interaction: Interaction,
        fingerprint: Fingerprint,
    ) {
        let completed = self.clock.fetch_add(1, Ordering::SeqCst);
        let key = (
            operation.to_owned(),
            fingerprint,
            serde_json::to_string(&interaction.response).unwrap_or_default(),
        );
        {
            let mut data = slot.lock();
            data.new.push(Captured {
                arrived,
                completed,
                key,
                interaction,
            });
            data.generation += 1;
        }
        self.tally().op(operation).recorded += 1;
        let state = self.clone();
        let slot = slot.clone();
        tokio::spawn(async move {
            tokio::time::sleep(WRITE_DELAY).await;
            state.write(&slot).await
        });
    }

    /// Writes a cassette when it changed since the last write.
    async fn write(&self, slot: &Slot) {
        let mut written = slot.written.lock().await;
        let (generation, cassette) = {
            let data = slot.lock();
            if data.generation == *written {
                return;
            }
            (data.generation, data.cassette())
        };
        let path = slot.path.clone();
        let relative = PathBuf::from(format!("{}.yaml", slot.name));
        let (cell, root) = (self.options.cassette_dir.clone(), self.options.dir.clone());
        let result = tokio::task::spawn_blocking(move || {
            let findings = redact::scan(&cassette);
            if !findings.is_empty() {
                return Err(RecordError::SecretFound { path, findings });
            }
            // Every write goes through the folder opened once, directory by directory, so a
            // link planted after the cassette was opened, or swapped in during the write, is
            // refused or changes nothing.
            let dir = {
                let mut cell = cell.lock().unwrap_or_else(|p| p.into_inner());
                match &*cell {
                    Some(dir) => dir.clone(),
                    None => cell.insert(Arc::new(CassetteDir::open(&root)?)).clone(),
                }
            };
            dir.save(&relative, &cassette.to_yaml())
                .map(drop)
                .map_err(RecordError::from)
        })
        .await;
        match result {
            Ok(Ok(())) => {
                *written = generation;
                self.tally().written.insert(slot.path.clone());
            }
            Ok(Err(err)) => {
                let message = error_chain(&err);
                tracing::error!(side = %Side::Internal, cassette = %slot.name, "{message}");
                self.tally().write_errors.insert(slot.path.clone(), message);
            }
            Err(join) => {
                tracing::error!(side = %Side::Internal, cassette = %slot.name, error = %join, "cassette writer failed");
            }
        }
    }

    /// Writes every cassette that changed since its last write.
    pub(super) async fn flush(&self) {
        let slots: Vec<Arc<Slot>> = self.slots.lock().await.values().cloned().collect();
        for slot in slots {
            self.write(&slot).await;
        }
    }
}
