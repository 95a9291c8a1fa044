//! What a recording cannot show, supplied to the emulator before each request (see the module
//! doc of `verify`): the account, the resources a flow used without creating them (IVS's,
//! Chat's rooms and logging configurations, and Real-Time's stages, encoder and storage
//! configurations and public keys), and whether an encoder was streaming to a channel.

use std::collections::HashSet;

use serde_json::Value;

use crate::cassette::{Cassette, Interaction, RecordedRequest, RecordedResponse};
use crate::emulator::Emulator;
use crate::ivs::arn;
use crate::normalize;

use super::IdMap;

/// The account of the first ARN of the family's (IVS's or Chat's) a cassette holds.
pub(super) fn account_of(cassette: &Cassette) -> Option<String> {
    let mut found = None;
    for interaction in &cassette.interactions {
        let mut values: Vec<&Value> = interaction.request.body.iter().collect();
        values.extend(interaction.response.body.iter());
        for value in values {
            strings(value, &mut |s| {
                if found.is_none() {
                    found = arn::parse_family(s).map(|a| a.account.to_owned());
                }
            });
        }
        if found.is_some() {
            break;
        }
    }
    found
}

fn strings<'a>(value: &'a Value, f: &mut impl FnMut(&'a str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| strings(v, f)),
        Value::Object(members) => members.values().for_each(|v| strings(v, f)),
        _ => {}
    }
}

/// The first resource in `value` whose `arn` is `target` (a BatchGet's `errors[]` entries, with
/// their `code`, are reports about an ARN, not resources).
fn object_with_arn<'a>(value: &'a Value, target: &str) -> Option<&'a Value> {
    match value {
        Value::Object(members) => {
            if members.get("arn").and_then(Value::as_str) == Some(target)
                && !members.contains_key("code")
            {
                return Some(value);
            }
            members.values().find_map(|v| object_with_arn(v, target))
        }
        Value::Array(items) => items.iter().find_map(|v| object_with_arn(v, target)),
        _ => None,
    }
}

/// The emulator adds `message` to its errors, beside IVS's `exceptionMessage`, so that boto3
/// and the aws CLI show the text (they read only `message`). A recording without it is not
/// contradicted by that deliberate addition, so it is left out of the comparison.
pub(super) fn drop_added_message(recorded: &RecordedResponse, answer: &mut RecordedResponse) {
    let recorded_has = recorded
        .body
        .as_ref()
        .is_some_and(|b| b.get("message").is_some());
    if answer.status >= 400 && !recorded_has {
        if let Some(Value::Object(body)) = answer.body.as_mut() {
            if body.contains_key("exceptionMessage") {
                body.remove("message");
            }
        }
    }
}

/// What has been seeded for one cassette.
#[derive(Debug, Default)]
pub(super) struct Seeder {
    seeded: HashSet<String>,
}

impl Seeder {
    /// Seeds what `interaction`'s request needs, judging by its recorded answer, and pairs the
    /// ids seeding makes (stream ids) with the recorded ones.
    pub(super) fn prepare(
        &mut self,
        emulator: &Emulator,
        cassette: &Cassette,
        interaction: &Interaction,
        ids: &mut IdMap,
    ) {
        let recorded = &interaction.response;
        let request = &interaction.request;
        let succeeded = (200..300).contains(&recorded.status);
        let error = recorded
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-ErrorType"))
            .map(|(_, v)| v.split(':').next().unwrap_or_default().to_owned());
        let operation = normalize::operation_name(&request.method, &request.path);
        // A request recorded as "not found" is about a resource that must stay missing.
        if succeeded
            || error
                .as_deref()
                .is_some_and(|e| e != "ResourceNotFoundException")
        {
            let reported_missing: Vec<&str> = recorded
                .body
                .as_ref()
                .and_then(|b| b.get("errors"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|e| e.get("arn").and_then(Value::as_str))
                .collect();
            let mut wanted: Vec<String> = arns_of(request)
                .into_iter()
                .filter(|a| !reported_missing.contains(&a.as_str()))
                .collect();
            // A List answer shows resources the account held before the flow began.
            if operation.starts_with("List") && succeeded {
                if let Some(Value::Object(body)) = &recorded.body {
                    for items in body.values().filter_map(Value::as_array) {
                        wanted.extend(
                            items
                                .iter()
                                .filter_map(|i| i.get("arn").and_then(Value::as_str))
                                .map(str::to_owned),
                        );
                    }
                }
            }
            for arn_text in wanted {
                self.seed(emulator, cassette, ids, &arn_text, true);
            }
        }
        let Some(channel) = request
            .body
            .as_ref()
            .and_then(|b| b.get("channelArn").or_else(|| b.get("arn")))
            .and_then(Value::as_str)
            .filter(|a| arn::parse_ivs(a).is_some_and(|a| a.resource_type == "channel"))
        else {
            return;
        };
        let channel = ids.target_of(channel).to_owned();
        let (live, _) = emulator.stream_state(&channel);
        let needs_live = matches!(
            operation.as_str(),
            "GetStream" | "PutMetadata" | "StopStream" | "InsertAdBreak"
        );
        let needs_offline = matches!(operation.as_str(), "UpdateChannel" | "DeleteChannel");
        if needs_live && succeeded && !live {
            let stream = recorded.body.as_ref().and_then(|b| b.get("stream"));
            let health = stream.and_then(|s| s.get("health")).and_then(Value::as_str);
            let viewers = stream
                .and_then(|s| s.get("viewerCount"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            if let Ok(started) = emulator.start_stream(&channel, health, viewers) {
                if let (Some(recorded_id), Some(target_id)) = (
                    stream
                        .and_then(|s| s.get("streamId"))
                        .and_then(Value::as_str),
                    started["stream"]["streamId"].as_str(),
                ) {
                    ids.pair(recorded_id, target_id);
                }
            }
        } else if live
            && ((needs_offline && succeeded) || error.as_deref() == Some("ChannelNotBroadcasting"))
        {
            // The recording saw the channel offline here: the encoder had stopped.
            let _ = emulator.stop_stream(&channel);
        } else if matches!(
            operation.as_str(),
            "GetStreamSession" | "ListStreamSessions"
        ) && succeeded
            && !live
        {
            // Sessions the recording shows but the emulator never had: one encoder run each,
            // oldest first (ListStreamSessions lists newest first).
            let body = recorded.body.as_ref();
            let mut sessions: Vec<&Value> = body
                .and_then(|b| b.get("streamSessions"))
                .and_then(Value::as_array)
                .map(|list| list.iter().rev().collect())
                .unwrap_or_default();
            sessions.extend(body.and_then(|b| b.get("streamSession")));
            for session in sessions {
                let Some(recorded_id) = session.get("streamId").and_then(Value::as_str) else {
                    continue;
                };
                if ids.knows(recorded_id) {
                    continue;
                }
                if let Ok(started) = emulator.start_stream(&channel, None, 0) {
                    if let Some(target_id) = started["stream"]["streamId"].as_str() {
                        ids.pair(recorded_id, target_id);
                    }
                }
                if session.get("endTime").is_some() {
                    let _ = emulator.stop_stream(&channel);
                }
            }
        }
    }

    /// Seeds one resource the flow did not create, from the fullest view of it the cassette's
    /// answers hold (a channel no answer shows is made with IVS's defaults when `make` allows),
    /// then the resources it references.
    fn seed(
        &mut self,
        emulator: &Emulator,
        cassette: &Cassette,
        ids: &IdMap,
        arn_text: &str,
        make: bool,
    ) {
        if ids.knows(arn_text) || !self.seeded.insert(arn_text.to_owned()) {
            return;
        }
        // The fullest view, the earliest of equally full ones: it is seeded before its first
        // use, so a later answer (after an Update) would show a state it did not have yet.
        let shown = cassette
            .interactions
            .iter()
            .filter_map(|i| i.response.body.as_ref())
            .filter_map(|body| object_with_arn(body, arn_text))
            .rev()
            .max_by_key(|o| o.as_object().map_or(0, |m| m.len()));
        match shown {
            Some(resource) => {
                if !emulator.seed(resource) {
                    seed_real_time(emulator, resource);
                }
                // `…Arn` members (a channel's recording configuration), and a room's
                // `loggingConfigurationIdentifiers`.
                let references: Vec<String> = resource
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| k.ends_with("Arn") || k.ends_with("Identifiers"))
                    .flat_map(|(_, v)| match v {
                        Value::Array(items) => items.iter().collect(),
                        other => vec![other],
                    })
                    .filter_map(Value::as_str)
                    .filter(|v| arn::parse_family(v).is_some())
                    .map(str::to_owned)
                    .collect();
                for reference in references {
                    self.seed(emulator, cassette, ids, &reference, false);
                }
            }
            None if make => emulator.seed_unseen(arn_text),
            None => {}
        }
    }
}
/// The ARNs of the family's (IVS's or Chat's) a recorded request names: in its body, and in a
/// `/tags/` path.
fn arns_of(request: &RecordedRequest) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(body) = &request.body {
        strings(body, &mut |s| {
            if arn::parse_family(s).is_some() {
                out.push(s.to_owned());
            }
        });
    }
    if request.path.starts_with("/tags/") {
        let decoded = normalize::decoded_path(&request.path);
        if let Some(label) = decoded.strip_prefix("/tags/") {
            if arn::parse_family(label).is_some() {
                out.push(label.to_owned());
            }
        }
    }
    out
}

/// The Real-Time resources `verify` seeds, with their model shapes: those whose state is the
/// resource alone. Compositions and ingest configurations carry more (a lifecycle, a stream
/// key) and are not seeded; nor are a stage's sessions and participants, which only joins make.
const REAL_TIME_SEEDABLE: [(&str, &str); 4] = [
    ("stage", "Stage"),
    ("encoder-configuration", "EncoderConfiguration"),
    ("storage-configuration", "StorageConfiguration"),
    ("public-key", "PublicKey"),
];

/// Takes a Real-Time resource a recording shows into the emulator, when it is one of the
/// account's and the state has none: as shown, with the members a summary leaves out filled in
/// with the model's documented defaults, and without a stage's `activeSessionId` (no one has
/// joined it here). False when it is no such resource.
fn seed_real_time(emulator: &Emulator, resource: &Value) -> bool {
    let Some(parsed) = resource
        .get("arn")
        .and_then(Value::as_str)
        .and_then(arn::parse_ivs)
    else {
        return false;
    };
    if !crate::normalize::is_valid_region(parsed.region) {
        return false;
    }
    let Some(&(resource_type, shape)) = REAL_TIME_SEEDABLE
        .iter()
        .find(|(t, _)| *t == parsed.resource_type)
    else {
        return false;
    };
    let Some(shape) = crate::ivs::Service::IvsRealTime.catalog().shape(shape) else {
        return false;
    };
    emulator
        .with_region(parsed.region, |ctx| {
            if ctx.account != parsed.account
                || ctx.region.get(resource_type, parsed.resource_id).is_some()
            {
                return false;
            }
            let mut value = resource.clone();
            if let Some(members) = value.as_object_mut() {
                members.remove("activeSessionId");
            }
            crate::emulator::realtime::fill_defaults(shape, &mut value);
            ctx.region
                .insert(resource_type, parsed.resource_id.to_owned(), value);
            true
        })
        .unwrap_or(false)
}
