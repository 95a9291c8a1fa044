//! Which id a target minted for which recorded one, learned from answers as a flow goes on.
//!
//! An id is a string that names a resource or a stream: an ARN of the family (`arn:aws:ivs:…`,
//! `arn:aws:ivschat:…`), a stream id (`st-…`), or the value of a member named like one (`arn`,
//! `…Arn`, `streamId`, `adBreakId`, Chat's `id`, `identifier`, `…Identifier(s)`, and
//! Real-Time's `participantId` and `…sessionId`s).
//! When the recorded answer and the target's answer hold different ids at the same place, the
//! pair is learned; later requests get the target's id, and the target's answers get the
//! recorded id back. Nothing else is rewritten, so a name or a setting that differs is still
//! seen as a difference.

use std::collections::{HashMap, HashSet};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use serde_json::Value;

use crate::cassette::{RecordedRequest, RecordedResponse};
use crate::ivs::arn;
use crate::normalize;

/// What a path label or query value encodes: everything but RFC 3986's unreserved characters,
/// as the SDKs do.
pub(super) const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Recorded ids and the target's, both ways.
#[derive(Debug, Default)]
pub struct IdMap {
    to_target: HashMap<String, String>,
    to_recorded: HashMap<String, String>,
    /// The target's ids that answers to this run's own Create and Import calls named: what
    /// `verify --against aws` may act on (see `guard.rs`).
    created: HashSet<String>,
}

/// Real-Time's members that hold an id minted by IVS beside ARNs: participants (a token's, an
/// ingest configuration's, a replica's remote one) and stage sessions.
const REAL_TIME_ID_MEMBERS: &[&str] = &[
    "participantId",
    "remoteParticipantId",
    "sessionId",
    "activeSessionId",
    "sourceSessionId",
    "destinationSessionId",
];

/// Members that hold an id: IVS's ARNs and stream ids, Chat's resource `id` and the
/// `identifier`s its requests and answers name resources by, and Real-Time's participant and
/// session ids.
fn is_id_member(name: &str) -> bool {
    REAL_TIME_ID_MEMBERS.contains(&name)
        || name == "arn"
        || name.ends_with("Arn")
        || name == "streamId"
        || name == "adBreakId"
        || name == "id"
        || name == "identifier"
        || name.ends_with("Identifier")
        || name.ends_with("Identifiers")
}

fn looks_like_id(value: &str) -> bool {
    value.starts_with("arn:aws:ivs:")
        || value.starts_with("arn:aws:ivschat:")
        || (value.starts_with("st-") && value.len() == 26)
}

impl IdMap {
    /// Learns the ids of one answer: walks the recorded and the target's bodies together.
    pub fn learn(&mut self, recorded: &RecordedResponse, target: &RecordedResponse) {
        if let (Some(r), Some(t)) = (&recorded.body, &target.body) {
            self.walk(None, r, t);
        }
    }

    fn walk(&mut self, member: Option<&str>, recorded: &Value, target: &Value) {
        match (recorded, target) {
            // First learned wins: a later answer must not re-point an id already in use.
            // An empty id (a stage with no active session) names nothing.
            (Value::String(r), Value::String(t))
                if r != t
                    && !r.is_empty()
                    && !t.is_empty()
                    && (member.is_some_and(is_id_member)
                        || (looks_like_id(r) && looks_like_id(t))) =>
            {
                self.pair(r, t);
                // An ARN's id also stands alone, inside composite values such as a composition
                // destination's S3 `recordingPrefix` (`<stage id>/<composition id>/<id>`).
                if let (Some(ra), Some(ta)) = (arn::parse(r), arn::parse(t)) {
                    if ra.resource_type == ta.resource_type && !ra.resource_id.is_empty() {
                        self.pair(ra.resource_id, ta.resource_id);
                    }
                }
            }
            (Value::Object(r), Value::Object(t)) => {
                for (name, rv) in r {
                    if let Some(tv) = t.get(name) {
                        self.walk(Some(name), rv, tv);
                    }
                }
            }
            (Value::Array(r), Value::Array(t)) => {
                for (rv, tv) in r.iter().zip(t) {
                    self.walk(member, rv, tv);
                }
            }
            _ => {}
        }
    }

    /// Takes every id in the target's answer to a successful Create or Import call as created by
    /// this run.
    pub fn learn_created(&mut self, target: &RecordedResponse) {
        fn walk(member: Option<&str>, value: &Value, out: &mut HashSet<String>) {
            match value {
                Value::String(s) if member.is_some_and(is_id_member) || looks_like_id(s) => {
                    out.insert(s.clone());
                }
                Value::Array(items) => items.iter().for_each(|v| walk(member, v, out)),
                Value::Object(members) => members
                    .iter()
                    .for_each(|(name, v)| walk(Some(name), v, out)),
                _ => {}
            }
        }
        if (200..300).contains(&target.status) {
            if let Some(body) = &target.body {
                walk(None, body, &mut self.created);
            }
        }
    }

    /// Whether the target's id `id` was created by this run (see [`IdMap::learn_created`]).
    pub fn created(&self, id: &str) -> bool {
        self.created.contains(id)
    }

    /// Records that the target calls `recorded` `target` (`verify`'s seeding makes such pairs).
    pub fn pair(&mut self, recorded: &str, target: &str) {
        if recorded != target {
            self.to_target
                .entry(recorded.to_owned())
                .or_insert_with(|| target.to_owned());
            self.to_recorded
                .entry(target.to_owned())
                .or_insert_with(|| recorded.to_owned());
        }
    }

    /// The target's id for a recorded one (itself when none was learned).
    pub fn target_of<'a>(&'a self, recorded: &'a str) -> &'a str {
        self.to_target
            .get(recorded)
            .map_or(recorded, String::as_str)
    }

    /// Whether a recorded id has a target id.
    pub fn knows(&self, recorded: &str) -> bool {
        self.to_target.contains_key(recorded)
    }

    /// The recorded request with every known recorded id replaced by the target's: in the body,
    /// the query, and the `/tags/` path label.
    pub fn request_to_target(&self, recorded: &RecordedRequest) -> RecordedRequest {
        let mut request = recorded.clone();
        if self.to_target.is_empty() {
            return request;
        }
        if let Some(body) = request.body.as_mut() {
            replace(body, &self.to_target);
        }
        for value in request.query.values_mut().flatten() {
            if let Some(id) = self.to_target.get(value.as_str()) {
                *value = id.clone();
            }
        }
        if request.path.starts_with("/tags/") {
            let decoded = normalize::decoded_path(&request.path);
            let arn = decoded.trim_start_matches("/tags/");
            if let Some(id) = self.to_target.get(arn) {
                request.path = format!(
                    "/tags/{}",
                    percent_encoding::utf8_percent_encode(id, COMPONENT)
                );
            }
        }
        request
    }

    /// The target's answer with every known target id replaced by the recorded one.
    pub fn response_to_recorded(&self, mut response: RecordedResponse) -> RecordedResponse {
        if let Some(body) = response.body.as_mut() {
            replace(body, &self.to_recorded);
        }
        response
    }
}

/// Replaces every string that is a key of `map`, and every mapped `/`-separated part of a
/// longer one (an id inside a path-like value such as an S3 prefix).
fn replace(value: &mut Value, map: &HashMap<String, String>) {
    match value {
        Value::String(s) => {
            if let Some(id) = map.get(s.as_str()) {
                *s = id.clone();
            } else if s.contains('/') && s.split('/').any(|part| map.contains_key(part)) {
                *s = s
                    .split('/')
                    .map(|part| map.get(part).map_or(part, String::as_str))
                    .collect::<Vec<_>>()
                    .join("/");
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| replace(v, map)),
        Value::Object(members) => members.values_mut().for_each(|v| replace(v, map)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn response(body: Value) -> RecordedResponse {
        RecordedResponse {
            status: 200,
            headers: Default::default(),
            body: Some(body),
            body_text: None,
        }
    }

    #[test]
    fn ids_learned_from_an_answer_rewrite_later_requests_and_answers() {
        let recorded_arn = "arn:aws:ivs:us-west-2:123456789012:channel/recordedAAAA";
        let target_arn = "arn:aws:ivs:us-west-2:123456789012:channel/targetBBBBBB";
        let mut ids = IdMap::default();
        ids.learn(
            &response(json!({"channel": {"arn": recorded_arn, "name": "a"}})),
            &response(json!({"channel": {"arn": target_arn, "name": "b"}})),
        );
        let request = RecordedRequest {
            service: Default::default(),
            method: "POST".into(),
            path: "/GetChannel".into(),
            query: Default::default(),
            region: "us-west-2".into(),
            headers: Default::default(),
            body: Some(json!({"arn": recorded_arn})),
        };
        assert_eq!(
            ids.request_to_target(&request).body,
            Some(json!({"arn": target_arn}))
        );
        let tags = RecordedRequest {
            service: Default::default(),
            method: "GET".into(),
            path: format!(
                "/tags/{}",
                percent_encoding::utf8_percent_encode(recorded_arn, COMPONENT)
            ),
            body: None,
            ..request
        };
        assert_eq!(
            ids.request_to_target(&tags).path,
            "/tags/arn%3Aaws%3Aivs%3Aus-west-2%3A123456789012%3Achannel%2FtargetBBBBBB"
        );
        let back = ids.response_to_recorded(response(
            json!({"channel": {"arn": target_arn, "name": "b"}}),
        ));
        // Ids come back; a differing name is not an id and stays as the target said.
        assert_eq!(
            back.body,
            Some(json!({"channel": {"arn": recorded_arn, "name": "b"}}))
        );
    }

    #[test]
    fn chat_ids_and_identifiers_are_learned_and_given_back() {
        // Issue 24: a room's `id` and the logging configurations it names were not ids.
        let room = |id: &str, logging: &str| {
            json!({
                "arn": format!("arn:aws:ivschat:us-west-2:123456789012:room/{id}"),
                "id": id,
                "loggingConfigurationIdentifiers": [logging],
            })
        };
        let recorded_lc =
            "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/recLC0000001";
        let target_lc = "arn:aws:ivschat:us-west-2:123456789012:logging-configuration/tgtLC0000001";
        let mut ids = IdMap::default();
        ids.learn(
            &response(room("recROOM00001", recorded_lc)),
            &response(room("tgtROOM00001", target_lc)),
        );
        assert_eq!(ids.target_of("recROOM00001"), "tgtROOM00001");
        assert_eq!(ids.target_of(recorded_lc), target_lc);
        let back = ids.response_to_recorded(response(room("tgtROOM00001", target_lc)));
        assert_eq!(back.body, Some(room("recROOM00001", recorded_lc)));
        let mut created = IdMap::default();
        created.learn_created(&response(room("tgtROOM00001", target_lc)));
        assert!(created.created("arn:aws:ivschat:us-west-2:123456789012:room/tgtROOM00001"));
    }

    #[test]
    fn real_time_participant_and_session_ids_are_learned_but_an_empty_one_is_not() {
        // Issue 25: a participant's and a stage session's ids are minted by IVS, so a replayed
        // GetParticipant must name the target's.
        let stage = |session: &str| {
            json!({"stage": {"arn": "arn:aws:ivs:us-west-2:123456789012:stage/AbCdEfGh1234",
                "activeSessionId": session}})
        };
        let mut ids = IdMap::default();
        ids.learn(&response(stage("")), &response(stage("st-target")));
        assert!(!ids.knows(""), "an empty session id names nothing");
        ids.learn(
            &response(json!({"participantToken": {"participantId": "recP", "userId": "u"}})),
            &response(json!({"participantToken": {"participantId": "tgtP", "userId": "u"}})),
        );
        ids.learn(&response(stage("st-rec")), &response(stage("st-tgt")));
        assert_eq!(ids.target_of("recP"), "tgtP");
        assert_eq!(ids.target_of("st-rec"), "st-tgt");
        assert!(!ids.knows("u"));
    }

    #[test]
    fn an_arn_s_id_is_mapped_inside_a_path_like_value_too() {
        // Issue 25: a composition's S3 `recordingPrefix` names its stage, itself and its
        // destination by id; verify reported it as a changed value.
        let composition = |stage: &str, id: &str, destination: &str| {
            json!({"composition": {
                "arn": format!("arn:aws:ivs:us-west-2:123456789012:composition/{id}"),
                "stageArn": format!("arn:aws:ivs:us-west-2:123456789012:stage/{stage}"),
                "destinations": [{"id": destination,
                    "detail": {"s3": {"recordingPrefix": format!("{stage}/{id}/{destination}")}}}],
            }})
        };
        let mut ids = IdMap::default();
        ids.learn(
            &response(composition("recSTAGE0001", "recCOMP00001", "recDEST00001")),
            &response(composition("tgtSTAGE0001", "tgtCOMP00001", "tgtDEST00001")),
        );
        let back = ids.response_to_recorded(response(composition(
            "tgtSTAGE0001",
            "tgtCOMP00001",
            "tgtDEST00001",
        )));
        assert_eq!(
            back.body,
            Some(composition("recSTAGE0001", "recCOMP00001", "recDEST00001"))
        );
        // A part that is no learned id stays as it is.
        let mut other = json!("a/tgtSTAGE0001x/b");
        replace(&mut other, &ids.to_recorded);
        assert_eq!(other, json!("a/tgtSTAGE0001x/b"));
    }
}
