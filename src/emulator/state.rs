//! The emulated account's state: per region, one store per resource type (resources kept as the
//! JSON of their model shape, keyed by id), the live streams and stream sessions of channels, and
//! the seeded generator every id and secret comes from.
//!
//! Stores are ordered by id, so a List call is a range read from its page token: the cost of a
//! page does not grow with the account.
//!
//! Everything here derives serde, for state snapshots (`snapshot.rs`): members are camelCase,
//! unknown members are refused (a snapshot of another shape must not half-load), and the kept
//! answers (`Region::answers`), a cache, are never written.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What one region of the account holds.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Region {
    /// Resources by type (`channel`, `stream-key`, …, as their ARNs name them), then by id.
    #[serde(with = "resource_types")]
    pub stores: BTreeMap<&'static str, BTreeMap<String, Value>>,
    /// The stream key ids of each channel id.
    pub keys_by_channel: HashMap<String, Vec<String>>,
    /// The live stream of each channel id that is broadcasting.
    pub live: BTreeMap<String, Live>,
    /// The stream sessions of each channel id, oldest first, at most
    /// `EmulatorLimits::max_sessions_per_channel` of them.
    pub sessions: HashMap<String, Vec<Session>>,
    /// Viewer-session revocations accepted: (channel ARN, viewer id, version), oldest first, at
    /// most `EmulatorLimits::max_revocations` of them.
    pub revocations: std::collections::VecDeque<(String, String, i64)>,
    /// What IVS Real-Time keeps besides its resources: stage sessions, participants, composition
    /// timers, replicas.
    pub realtime: super::realtime::Live,
    /// Recordings whose stream ended within their recording configuration's reconnect window, by
    /// channel id: a stream that starts again in time continues them.
    pub pending_recordings: HashMap<String, PendingRecording>,
    /// The public keys (DER) of the imported playback key pairs, by key pair id (base64 in a
    /// snapshot).
    #[serde(with = "der_base64")]
    pub public_keys: BTreeMap<String, Vec<u8>>,
    /// When each channel's recent PutMetadata calls came (`clock::now_millis`), for its documented
    /// rate limit.
    pub metadata_calls: HashMap<String, std::collections::VecDeque<u64>>,
    /// The serialized Get answer of a resource (`{"channel": …}`), by type and id: kept from the
    /// first Get until the resource changes, so that reading a resource again costs no
    /// serialization. Every change goes through `insert`, `remove` or `get_mut`, which drop it.
    /// (A few types: a `BTreeMap` finds one in two or three comparisons, cheaper than hashing.)
    #[serde(skip)]
    answers: BTreeMap<&'static str, HashMap<String, bytes::Bytes>>,
}

impl Region {
    pub fn store(&self, resource_type: &'static str) -> Option<&BTreeMap<String, Value>> {
        self.stores.get(resource_type)
    }

    /// Stores a resource, replacing any of the same id.
    pub fn insert(&mut self, resource_type: &'static str, id: String, resource: Value) {
        self.forget_answer(resource_type, &id);
        self.stores
            .entry(resource_type)
            .or_default()
            .insert(id, resource);
    }

    /// Removes a resource, returning it.
    pub fn remove(&mut self, resource_type: &'static str, id: &str) -> Option<Value> {
        self.forget_answer(resource_type, id);
        self.stores.get_mut(resource_type)?.remove(id)
    }

    pub fn get(&self, resource_type: &'static str, id: &str) -> Option<&Value> {
        self.store(resource_type).and_then(|s| s.get(id))
    }

    /// A resource to change: its kept answer is dropped first.
    pub fn get_mut(&mut self, resource_type: &'static str, id: &str) -> Option<&mut Value> {
        self.forget_answer(resource_type, id);
        self.stores
            .get_mut(resource_type)
            .and_then(|s| s.get_mut(id))
    }

    fn forget_answer(&mut self, resource_type: &'static str, id: &str) {
        if let Some(answers) = self.answers.get_mut(resource_type) {
            answers.remove(id);
        }
    }

    /// The Get answer of a resource, `{member: resource}` serialized, made on first use.
    pub fn answer(
        &mut self,
        resource_type: &'static str,
        id: &str,
        make: impl FnOnce(&Value) -> bytes::Bytes,
    ) -> Option<bytes::Bytes> {
        // Looked up by the borrowed id: a kept answer costs no allocation.
        if let Some(bytes) = self.answers.get(resource_type).and_then(|a| a.get(id)) {
            return Some(bytes.clone());
        }
        let bytes = make(self.get(resource_type, id)?);
        self.answers
            .entry(resource_type)
            .or_default()
            .insert(id.to_owned(), bytes.clone());
        Some(bytes)
    }

    pub fn count(&self, resource_type: &'static str) -> usize {
        self.store(resource_type).map_or(0, BTreeMap::len)
    }
}

/// A channel's live stream, started through the control plane.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Live {
    pub stream_id: String,
    pub start_time: String,
    pub health: String,
    pub viewer_count: i64,
    /// The recording the stream is part of, when its channel records.
    pub recording: Option<Recording>,
    /// When the stream started, in milliseconds since the epoch.
    pub started_ms: u64,
    /// True when an encoder feeds the stream through RTMP ingest (false: started through the
    /// control plane). A restore ends such a stream: the restored process has no encoder.
    #[serde(default)]
    pub encoder: bool,
}

/// A recording to S3: one per stream, or one for several streams merged within the recording
/// configuration's `recordingReconnectWindowSeconds`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Recording {
    /// `recording_session_id`.
    pub session_id: String,
    /// The recording configuration's ARN.
    pub config_arn: String,
    pub bucket: String,
    /// `recording_s3_key_prefix`.
    pub prefix: String,
    /// `recordingReconnectWindowSeconds`.
    pub window_secs: u64,
    /// The streams recorded, oldest first (`recording_session_stream_ids`).
    pub stream_ids: Vec<String>,
    /// Milliseconds recorded by the streams that have ended.
    pub recorded_ms: u64,
}

/// A recording whose stream ended, waiting out its reconnect window.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PendingRecording {
    pub recording: Recording,
    /// When the last stream ended, in milliseconds since the epoch.
    pub ended_ms: u64,
}

/// One stream session: a start, and an end once the stream stopped.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct Session {
    pub stream_id: String,
    pub start_time: String,
    pub end_time: Option<String>,
    /// The channel as it was configured when the session started.
    pub channel: Value,
    /// The recording configuration the channel used, if any.
    pub recording: Option<Value>,
    /// The session's events, oldest first.
    pub events: Vec<Value>,
    /// What ingest measured of the stream, when it came through RTMP.
    pub ingest: Option<crate::live::media::StreamInfo>,
}

/// The resource type named `name`, as the stores key it: every type of every service's ARNs.
pub(crate) fn resource_type(name: &str) -> Option<&'static str> {
    super::resource::FAMILIES
        .iter()
        .map(|f| f.resource_type)
        .chain([super::chat::ROOM, super::chat::LOGGING])
        .chain(super::realtime::NOUNS.iter().map(|(t, _)| *t))
        .find(|t| *t == name)
}

/// The stores' keys in a snapshot: a resource type no service has is refused.
mod resource_types {
    use std::collections::BTreeMap;

    use serde::{Deserialize as _, Deserializer, Serialize as _, Serializer};
    use serde_json::Value;

    type Stores = BTreeMap<&'static str, BTreeMap<String, Value>>;

    pub fn serialize<S: Serializer>(stores: &Stores, serializer: S) -> Result<S::Ok, S::Error> {
        stores.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Stores, D::Error> {
        let named = BTreeMap::<String, BTreeMap<String, Value>>::deserialize(deserializer)?;
        named
            .into_iter()
            .map(|(name, store)| match super::resource_type(&name) {
                Some(t) => Ok((t, store)),
                None => Err(serde::de::Error::custom(format!(
                    "`{}` is no resource type of IVS, IVS Chat or IVS Real-Time",
                    crate::redact::printable(&name)
                ))),
            })
            .collect()
    }
}

/// DER bytes as standard base64 strings, in a snapshot.
mod der_base64 {
    use std::collections::BTreeMap;

    use base64::Engine as _;
    use serde::{Deserialize as _, Deserializer, Serializer};

    const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    pub fn serialize<S: Serializer>(
        keys: &BTreeMap<String, Vec<u8>>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_map(keys.iter().map(|(id, der)| (id, B64.encode(der))))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<String, Vec<u8>>, D::Error> {
        BTreeMap::<String, String>::deserialize(deserializer)?
            .into_iter()
            .map(|(id, text)| {
                B64.decode(text.as_bytes())
                    .map(|der| (id, der))
                    .map_err(|_| serde::de::Error::custom("a public key is base64 of its DER"))
            })
            .collect()
    }
}

/// The seeded generator of ids and secrets: the same calls in the same order give the same ids
/// for the same seed, on every platform.
pub(crate) type Ids = crate::seeded::SplitMix64;

/// Sets `member` of a JSON object (resources are always objects).
pub(crate) fn set(resource: &mut Value, member: &str, value: Value) {
    if let Value::Object(map) = resource {
        map.insert(member.to_owned(), value);
    }
}

/// A string member of a JSON object, or `""`.
pub(crate) fn text<'a>(value: &'a Value, member: &str) -> &'a str {
    value.get(member).and_then(Value::as_str).unwrap_or("")
}

/// An empty JSON object.
pub(crate) fn object() -> Value {
    Value::Object(Map::new())
}
