//! Message review: a room's `messageReviewHandler.uri` names a Lambda function, which IVS invokes
//! for every SendMessage before the message reaches the room. Locally, the operator maps a
//! function ARN to an HTTP endpoint (`--chat-review-handler ARN=URL`); [`Reviewer::review`] POSTs
//! the documented payload there and applies the documented answer.
//!
//! From <https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/chat-message-review-handler.html>:
//! the payload is `{Content, MessageId, RoomArn, Attributes, Sender: {Attributes, UserId, Ip}}`;
//! the answer is `{ReviewResult: ALLOW | DENY, Content, Attributes}`, where an allowed message is
//! delivered with the returned `Content` and `Attributes` and a denied one is not delivered at
//! all. An answer that is not valid, an error or a timeout applies the room's `fallbackResult`
//! (API_MessageReviewHandler), and the timeout is 200 ms, not adjustable (Service Quotas,
//! <https://docs.aws.amazon.com/ivs/latest/ChatUserGuide/service-quotas.html>). The sender of a
//! denied message gets an ERROR 406 ("The request was rejected during message review", the
//! SDKs' `chatErrorCodes`), its message the answer's `Attributes.Reason` when there is one
//! (inferred). Returned `Content` longer than the room's `maximumMessageLength` makes the answer
//! invalid (inferred from "does not meet the field constraints").
//!
//! A room whose handler has no mapping applies `fallbackResult` to every message, and the log
//! says so once per function. This is the one outbound connection replay opens, and only to an
//! endpoint the operator named.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::ReviewHandler;
use crate::http::Side;

/// How long a review handler has to answer (IVS's quota: 200 ms, not adjustable).
pub(crate) const REVIEW_TIMEOUT: Duration = Duration::from_millis(200);

/// The largest answer read from a review handler.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What happens to a reviewed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Deliver it, with this content and these attributes.
    Allow {
        content: String,
        attributes: BTreeMap<String, String>,
    },
    /// Do not deliver it; tell the sender why.
    Deny { reason: String },
}

/// What the handler is given to review.
#[derive(Debug)]
pub(crate) struct Review<'a> {
    pub room_arn: &'a str,
    pub message_id: &'a str,
    pub content: &'a str,
    pub attributes: &'a BTreeMap<String, String>,
    pub sender_user_id: &'a str,
    pub sender_attributes: &'a BTreeMap<String, String>,
    pub sender_ip: String,
    pub maximum_message_length: u32,
}

/// The mapped review handlers and the client that calls them.
#[derive(Debug)]
pub(crate) struct Reviewer {
    handlers: BTreeMap<String, String>,
    client: Client<HttpConnector, Full<Bytes>>,
    /// Functions already reported as unmapped.
    warned: Mutex<BTreeSet<String>>,
    timeout: Duration,
}

impl Reviewer {
    pub(crate) fn new(handlers: BTreeMap<String, String>) -> Reviewer {
        Reviewer {
            handlers,
            client: Client::builder(TokioExecutor::new()).build_http(),
            warned: Mutex::new(BTreeSet::new()),
            timeout: REVIEW_TIMEOUT,
        }
    }

    /// Reviews one message with the room's handler.
    pub(crate) async fn review(&self, handler: &ReviewHandler, review: &Review<'_>) -> Verdict {
        let fallback = |why: &str| {
            tracing::debug!(side = %Side::Upstream, function = %handler.uri, "review handler: {why}; applying fallbackResult {}", handler.fallback_result);
            if handler.fallback_result == "DENY" {
                Verdict::Deny {
                    reason: format!("message denied by the room's fallbackResult: {why}"),
                }
            } else {
                Verdict::Allow {
                    content: review.content.to_owned(),
                    attributes: review.attributes.clone(),
                }
            }
        };
        let Some(url) = self.handlers.get(&handler.uri) else {
            let mut warned = self.warned.lock().unwrap_or_else(|e| e.into_inner());
            if warned.insert(handler.uri.clone()) {
                tracing::warn!(side = %Side::Internal, function = %handler.uri, "no local endpoint for this message review handler (--chat-review-handler ARN=URL); its rooms apply their fallbackResult to every message");
            }
            return fallback("the function has no local endpoint");
        };
        let payload = serde_json::json!({
            "Content": review.content,
            "MessageId": review.message_id,
            "RoomArn": review.room_arn,
            "Attributes": review.attributes,
            "Sender": {
                "Attributes": review.sender_attributes,
                "UserId": review.sender_user_id,
                "Ip": review.sender_ip,
            },
        });
        let answer = tokio::time::timeout(self.timeout, self.call(url, payload.to_string())).await;
        let body = match answer {
            Err(_) => return fallback("no answer within 200 ms"),
            Ok(Err(why)) => return fallback(&why),
            Ok(Ok(body)) => body,
        };
        match verdict(&body, review) {
            Some(verdict) => verdict,
            None => fallback("the answer is not a valid review result"),
        }
    }

    async fn call(&self, url: &str, body: String) -> Result<Bytes, String> {
        let request = http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| format!("bad endpoint `{url}`: {e}"))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| format!("cannot reach `{url}`: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("`{url}` answered {}", response.status()));
        }
        Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| format!("cannot read the answer of `{url}`: {e}"))
    }
}

/// The verdict an answer gives, or `None` when it is not valid.
fn verdict(body: &[u8], review: &Review<'_>) -> Option<Verdict> {
    let answer: Value = serde_json::from_slice(body).ok()?;
    let attributes = match answer.get("Attributes") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(
            map.iter()
                .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect::<Option<BTreeMap<_, _>>>()?,
        ),
        Some(_) => return None,
    };
    match answer.get("ReviewResult")?.as_str()? {
        "ALLOW" => {
            let content = match answer.get("Content") {
                None | Some(Value::Null) => review.content.to_owned(),
                Some(Value::String(content)) => content.clone(),
                Some(_) => return None,
            };
            if super::frames::content_length(&content) > review.maximum_message_length as usize {
                return None;
            }
            Some(Verdict::Allow {
                content,
                attributes: attributes.unwrap_or_else(|| review.attributes.clone()),
            })
        }
        "DENY" => Some(Verdict::Deny {
            reason: attributes
                .as_ref()
                .and_then(|a| a.get("Reason").cloned())
                .unwrap_or_else(|| "message denied by the review handler".to_owned()),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review<'a>(attrs: &'a BTreeMap<String, String>) -> Review<'a> {
        Review {
            room_arn: "arn:aws:ivschat:us-west-2:123456789012:room/abc",
            message_id: "AAAAAAAAAAAA",
            content: "hello",
            attributes: attrs,
            sender_user_id: "u1",
            sender_attributes: attrs,
            sender_ip: "127.0.0.1".into(),
            maximum_message_length: 10,
        }
    }

    #[test]
    fn answers_become_verdicts_as_documented() {
        let attrs = BTreeMap::from([("a".to_owned(), "1".to_owned())]);
        let r = review(&attrs);
        let check = |body: &str, expected: Option<Verdict>| {
            assert_eq!(verdict(body.as_bytes(), &r), expected, "answer: {body}");
        };
        check(
            r#"{"ReviewResult":"ALLOW"}"#,
            Some(Verdict::Allow {
                content: "hello".into(),
                attributes: attrs.clone(),
            }),
        );
        check(
            r#"{"ReviewResult":"ALLOW","Content":"h***o","Attributes":{"b":"2"}}"#,
            Some(Verdict::Allow {
                content: "h***o".into(),
                attributes: BTreeMap::from([("b".into(), "2".into())]),
            }),
        );
        check(
            r#"{"ReviewResult":"DENY","Attributes":{"Reason":"rude"}}"#,
            Some(Verdict::Deny {
                reason: "rude".into(),
            }),
        );
        check(
            r#"{"ReviewResult":"DENY"}"#,
            Some(Verdict::Deny {
                reason: "message denied by the review handler".into(),
            }),
        );
        // Invalid answers: the room's fallbackResult applies.
        check(r#"{"ReviewResult":"MAYBE"}"#, None);
        check(r#"{"Content":"x"}"#, None);
        check(
            r#"{"ReviewResult":"ALLOW","Content":"far too long for ten"}"#,
            None,
        );
        check(r#"{"ReviewResult":"ALLOW","Attributes":{"n":1}}"#, None);
        check("not json", None);
    }

    #[tokio::test]
    async fn an_unmapped_function_applies_the_fallback_result() {
        let reviewer = Reviewer::new(BTreeMap::new());
        let attrs = BTreeMap::new();
        let r = review(&attrs);
        let deny = ReviewHandler {
            uri: "arn:aws:lambda:us-west-2:123456789012:function:f".into(),
            fallback_result: "DENY".into(),
        };
        assert!(matches!(
            reviewer.review(&deny, &r).await,
            Verdict::Deny { .. }
        ));
        let allow = ReviewHandler {
            fallback_result: "ALLOW".into(),
            ..deny
        };
        assert_eq!(
            reviewer.review(&allow, &r).await,
            Verdict::Allow {
                content: "hello".into(),
                attributes: attrs.clone()
            }
        );
    }
}
