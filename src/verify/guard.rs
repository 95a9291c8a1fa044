//! Which recorded requests `verify` may send, and why it skips the others.
//!
//! A cassette is data from anywhere (a public repository, a pull request), and `verify --against
//! aws` signs what it plays with the operator's credentials. So, as record does, a request whose
//! method and path are no IVS operation (`ivs::check_route`) is sent to no target at all; and
//! against AWS a request is sent only when it acts on what the run itself created:
//!
//! - every resource it names (an ARN anywhere in the body, the query or the `/tags/` path; the
//!   value of a member named `arn`, `…Arn` or `streamId`) is one a Create or Import call of this
//!   run answered with ([`IdMap::created`]), after the recorded ids were mapped onto the target's;
//! - or it names none and is a Create, List or Import call;
//! - and it goes to the run's region: the region of the cassette's first IVS request.
//!
//! Anything else (a Delete of an ARN the cassette brought along, a Get of a resource the account
//! held before) is skipped with a [`Skip`] saying why, unless the operator passed
//! `--allow-foreign-resources`. Ids mapped from a List answer do not count as created: a List
//! shows what the account already held, and mapping a recorded ARN onto one of those is exactly
//! how a cassette would aim a Delete at the operator's own resources.

use std::fmt;

use serde_json::Value;

use super::ids::IdMap;
use crate::cassette::RecordedRequest;
use crate::ivs;
use crate::normalize;

/// One recorded request `verify` did not send, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The cassette's name.
    pub cassette: String,
    /// The request's index in the cassette.
    pub interaction_idx: usize,
    /// The request's method and path, as recorded.
    pub method: String,
    /// The request's path, as recorded.
    pub path: String,
    /// Why it was not sent.
    pub reason: Skip,
}

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Skip {
    /// The method and path are no IVS operation (sent to no target).
    NotIvs(ivs::RouteError),
    /// Against AWS: the request names a resource this run did not create.
    Foreign {
        /// The first such id, as sent (after id mapping).
        id: String,
    },
    /// Against AWS: the request names no resource and is not a Create, List or Import call.
    NoCreatedResource {
        /// The operation.
        operation: String,
    },
    /// Against AWS: the request goes to another region than the run's.
    OtherRegion {
        /// The request's region.
        region: String,
        /// The run's region (the cassette's first IVS request's).
        run_region: String,
    },
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let printable = crate::redact::printable;
        match self {
            Skip::NotIvs(route) => write!(
                f,
                "not an IVS operation, sent to no target: {}",
                printable(&route.to_string())
            ),
            Skip::Foreign { id } => write!(
                f,
                "names `{}`, which this run did not create (--allow-foreign-resources sends it)",
                printable(id)
            ),
            Skip::NoCreatedResource { operation } => write!(
                f,
                "`{}` names no resource this run created (--allow-foreign-resources sends it)",
                printable(operation)
            ),
            Skip::OtherRegion { region, run_region } => write!(
                f,
                "goes to region `{}`, not the run's `{}` (--allow-foreign-resources sends it)",
                printable(region),
                printable(run_region)
            ),
        }
    }
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} #{} `{} {}`: {}",
            crate::redact::printable(&self.cassette),
            self.interaction_idx,
            crate::redact::printable(&self.method),
            crate::redact::printable(&self.path),
            self.reason
        )
    }
}

/// The route check every target gets: `None` when the request is an IVS operation.
pub(super) fn route(request: &RecordedRequest) -> Option<Skip> {
    request
        .service
        .catalog()
        .check_route(&request.method, &request.path)
        .err()
        .map(Skip::NotIvs)
}

/// The check against AWS (see the module doc) of a request already rewritten with the target's
/// ids: `None` when it may be sent.
pub(super) fn foreign(
    request: &RecordedRequest,
    operation: &str,
    ids: &IdMap,
    run_region: &str,
) -> Option<Skip> {
    if request.region != run_region {
        return Some(Skip::OtherRegion {
            region: request.region.clone(),
            run_region: run_region.to_owned(),
        });
    }
    let mut named = Vec::new();
    if let Some(body) = &request.body {
        resources_in(None, body, &mut named);
    }
    for (key, values) in &request.query {
        for value in values {
            if names_resource(Some(key), value) {
                named.push(value.clone());
            }
        }
    }
    if let Some(arn) = normalize::decoded_path(&request.path).strip_prefix("/tags/") {
        named.push(arn.to_owned());
    }
    if named.is_empty() {
        // Makes or lists, never acts on what is there.
        let makes = ["Create", "List", "Import"]
            .iter()
            .any(|prefix| operation.starts_with(prefix));
        return (!makes).then(|| Skip::NoCreatedResource {
            operation: operation.to_owned(),
        });
    }
    named
        .into_iter()
        .find(|id| !ids.created(id))
        .map(|id| Skip::Foreign { id })
}

/// Whether a string names a resource: an ARN of any service, or the value of a member that holds
/// one (`arn`, `…Arn`, `streamId`). Empty strings name nothing.
fn names_resource(member: Option<&str>, value: &str) -> bool {
    !value.is_empty()
        && (value
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case("arn:"))
            || member.is_some_and(|m| m == "arn" || m.ends_with("Arn") || m == "streamId"))
}

fn resources_in(member: Option<&str>, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) if names_resource(member, s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| resources_in(member, v, out)),
        Value::Object(members) => members
            .iter()
            .for_each(|(name, v)| resources_in(Some(name), v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cassette::RecordedResponse;
    use serde_json::json;

    fn request(path: &str, body: Value) -> RecordedRequest {
        RecordedRequest {
            service: Default::default(),
            method: "POST".into(),
            path: path.into(),
            query: Default::default(),
            region: "us-west-2".into(),
            headers: Default::default(),
            body: Some(body),
        }
    }

    #[test]
    fn only_what_the_run_created_may_be_acted_on() {
        let mine = "arn:aws:ivs:us-west-2:123456789012:channel/mine";
        let theirs = "arn:aws:ivs:us-west-2:123456789012:channel/theirs";
        let mut ids = IdMap::default();
        ids.learn_created(&RecordedResponse {
            status: 200,
            headers: Default::default(),
            body: Some(json!({"channel": {"arn": mine}})),
            body_text: None,
        });
        let check = |path: &str, body: Value| {
            let req = request(path, body);
            let op = normalize::operation_name(&req.method, &req.path);
            foreign(&req, &op, &ids, "us-west-2").map(|s| s.to_string())
        };
        assert_eq!(check("/GetChannel", json!({"arn": mine})), None);
        assert_eq!(check("/ListStreamKeys", json!({"channelArn": mine})), None);
        assert_eq!(check("/CreateChannel", json!({"name": "x"})), None);
        assert_eq!(check("/ListChannels", json!({})), None);
        assert!(check("/DeleteChannel", json!({"arn": theirs}))
            .unwrap()
            .starts_with(&format!("names `{theirs}`")));
        // Every id must be the run's: one foreign ARN among created ones is enough to skip.
        assert!(check("/BatchGetChannel", json!({"arns": [mine, theirs]})).is_some());
        // A Create that names a resource it does not own is skipped too.
        assert!(check("/CreateStreamKey", json!({"channelArn": theirs})).is_some());
        // An ARN in the path of a tag call counts.
        let tags = format!(
            "/tags/{}",
            percent_encoding::utf8_percent_encode(theirs, super::super::ids::COMPONENT)
        );
        assert!(check(&tags, json!({"tags": {"a": "b"}})).is_some());
        // No resource named, and not a call that makes or lists: nothing to act on of the run's.
        assert_eq!(
            check("/StopStream", json!({})).as_deref(),
            Some("`StopStream` names no resource this run created (--allow-foreign-resources sends it)")
        );
        let mut elsewhere = request("/CreateChannel", json!({}));
        elsewhere.region = "eu-west-1".into();
        assert!(matches!(
            foreign(&elsewhere, "CreateChannel", &ids, "us-west-2"),
            Some(Skip::OtherRegion { .. })
        ));
    }

    #[test]
    fn a_route_that_is_no_ivs_operation_is_refused() {
        let mut req = request("/not/an/ivs/route", json!({}));
        req.method = "PUT".into();
        assert!(matches!(route(&req), Some(Skip::NotIvs(_))));
        assert_eq!(route(&request("/GetChannel", json!({}))), None);
    }
}
