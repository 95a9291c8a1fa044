//! The cassettes being recorded: opening one under the record mode, and the deterministic order
//! of what was captured (see "Determinism" in the module doc of `record`).

use std::path::PathBuf;
use std::sync::Mutex;

use super::{RecordMode, RecordState};
use crate::cassette::{Cassette, CassetteError, Interaction, Provenance, ProvenanceKind};
use crate::matcher::{Index, MatchLevel, SequenceEnd};
use crate::normalize::Fingerprint;
use crate::redact;

/// One cassette being recorded or replayed.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) name: String,
    pub(super) path: PathBuf,
    /// The interactions the file held at start, for modes that replay them.
    pub(super) replay: Option<Index>,
    /// A copy of the file's interactions, indexed like `replay`, to answer from.
    pub(super) replay_cassette: Option<Cassette>,
    /// False when nothing is forwarded (mode `none`, or `once` with an existing file).
    pub(super) forward: bool,
    pub(super) data: Mutex<SlotData>,
    /// The generation last written; held while writing, so writes are serialized.
    pub(super) written: tokio::sync::Mutex<u64>,
}

#[derive(Debug)]
pub(super) struct SlotData {
    /// The header and the interactions kept from the file.
    pub(super) base: Cassette,
    /// Interactions recorded in this run, unordered.
    pub(super) new: Vec<Captured>,
    /// Bumped on every change.
    pub(super) generation: u64,
}

/// A captured interaction and what orders it.
#[derive(Debug, Clone)]
pub(super) struct Captured {
    pub(super) arrived: u64,
    pub(super) completed: u64,
    pub(super) key: (String, Fingerprint, String),
    pub(super) interaction: Interaction,
}

impl RecordState {
    /// Opens a cassette under the record mode: what is replayed, what is kept, what is forwarded.
    pub(super) fn open_slot(&self, name: &str) -> Result<Slot, CassetteError> {
        let path = self.options.confined_path_of(name)?;
        let existing = if path.exists() {
            Some(Cassette::load_limited(
                &path,
                self.options.record.limits,
                &mut |_| {},
            )?)
        } else {
            None
        };
        let mode = self.options.record.mode;
        let replays = matches!(
            mode,
            RecordMode::Once | RecordMode::NewEpisodes | RecordMode::None
        );
        let forward = !matches!(
            (mode, &existing),
            (RecordMode::None, _) | (RecordMode::Once, Some(_))
        );
        let replay_cassette = existing.clone().filter(|_| replays);
        let replay = replay_cassette.as_ref().map(|c| {
            Index::build(
                std::slice::from_ref(c),
                MatchLevel::Exact,
                SequenceEnd::RepeatLast,
            )
        });
        let mut base = match existing {
            Some(mut existing) => {
                if mode == RecordMode::All {
                    existing.interactions.clear();
                }
                existing.format = existing.needed_format();
                existing.ivs_vcr_version = env!("CARGO_PKG_VERSION").to_owned();
                existing.name = name.to_owned();
                existing.provenance.kind = ProvenanceKind::Recorded;
                existing.provenance.source = self.options.endpoint.template().to_owned();
                if existing.provenance.recorded_on.is_none() {
                    existing.provenance.recorded_on = Some(crate::clock::today());
                }
                existing
            }
            None => Cassette::new(
                name,
                Provenance {
                    kind: ProvenanceKind::Recorded,
                    source: self.options.endpoint.template().to_owned(),
                    model: None,
                    recorded_on: Some(crate::clock::today()),
                },
            ),
        };
        if self.options.record.scrub_account && !base.matching.scrub_account {
            base.matching.scrub_account = true;
            for interaction in &mut base.interactions {
                redact::request(&mut interaction.request, true);
                redact::response(interaction.request.service, &mut interaction.response, true);
            }
        }
        Ok(Slot {
            name: name.to_owned(),
            path,
            replay,
            replay_cassette,
            forward,
            data: Mutex::new(SlotData {
                base,
                new: Vec::new(),
                generation: 0,
            }),
            written: tokio::sync::Mutex::new(0),
        })
    }
}

impl Slot {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, SlotData> {
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl SlotData {
    /// The cassette to write: the kept interactions, then this run's in a deterministic order.
    pub(super) fn cassette(&self) -> Cassette {
        let mut cassette = self.base.clone();
        cassette
            .interactions
            .extend(order(&self.new).into_iter().map(|c| c.interaction.clone()));
        cassette.format = cassette.needed_format();
        cassette
    }
}

/// Orders captured interactions: groups of time-overlapping ones in arrival order, each group
/// sorted by content (see the module doc).
fn order(captured: &[Captured]) -> Vec<&Captured> {
    let mut by_arrival: Vec<&Captured> = captured.iter().collect();
    by_arrival.sort_by_key(|c| c.arrived);
    let mut out = Vec::with_capacity(captured.len());
    let mut group: Vec<&Captured> = Vec::new();
    let mut group_end = 0;
    for c in by_arrival {
        if !group.is_empty() && c.arrived > group_end {
            group.sort_by(|a, b| a.key.cmp(&b.key).then(a.arrived.cmp(&b.arrived)));
            out.append(&mut group);
        }
        group_end = if group.is_empty() {
            c.completed
        } else {
            group_end.max(c.completed)
        };
        group.push(c);
    }
    group.sort_by(|a, b| a.key.cmp(&b.key).then(a.arrived.cmp(&b.arrived)));
    out.append(&mut group);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn captured(arrived: u64, completed: u64, key: &str) -> Captured {
        Captured {
            arrived,
            completed,
            key: (key.to_owned(), Fingerprint([0; 32]), String::new()),
            interaction: serde_json::from_value(serde_json::json!({
                "request": {"method": "POST", "path": "/X", "region": "us-west-2"},
                "response": {"status": 200}
            }))
            .unwrap(),
        }
    }

    #[test]
    fn overlapping_interactions_are_ordered_by_content() {
        let check = |input: Vec<Captured>, expected: &[&str]| {
            let got: Vec<&str> = order(&input).iter().map(|c| c.key.0.as_str()).collect();
            assert_eq!(got, expected);
        };
        // Sequential: arrival order, whatever the content.
        check(vec![captured(0, 1, "b"), captured(2, 3, "a")], &["b", "a"]);
        // Overlapping: content order, whatever completed first.
        check(
            vec![
                captured(1, 5, "b"),
                captured(0, 3, "c"),
                captured(2, 4, "a"),
                captured(6, 7, "a"),
            ],
            &["a", "b", "c", "a"],
        );
    }
}
