//! Delivery of envelopes to `--events-url`: one task per server, fed by a bounded queue, POSTing
//! each envelope as its JSON body (`Content-Type: application/json`), in the order made.
//!
//! A delivery that fails (no connection, no answer within [`TIMEOUT`], or a status other than
//! 2xx) is retried after a backoff that doubles from [`FIRST_BACKOFF`], at most [`ATTEMPTS`]
//! times in all; then it is logged at `warn` and dropped. IVS "tries to deliver events for several
//! hours before giving up" (the EventBridge page of the user guide); a local endpoint that is down
//! for seconds is down, so the emulator gives up within seconds and says so. The log names the
//! event and the endpoint's host and port only: a URL's user information, path or query may hold
//! a token.
//!
//! This is the only outbound connection besides the message review handlers, and only to the
//! endpoint the operator named; nothing a request sends chooses it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::http::Side;

/// How many envelopes wait for delivery at most.
pub(super) const QUEUE: usize = 1_024;

/// How many times an envelope is sent at most.
pub(crate) const ATTEMPTS: u32 = 6;

/// The wait before the first retry; each later one waits twice the one before.
pub(crate) const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// How long one attempt may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(5);

/// The sending side of the delivery task, and its counts.
#[derive(Debug)]
pub(super) struct Delivery {
    queue: mpsc::Sender<Arc<Value>>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    delivered: AtomicU64,
    failed: AtomicU64,
}

impl Delivery {
    /// Queues an envelope; false when the queue is full (or the task has ended).
    pub(super) fn offer(&self, envelope: Arc<Value>) -> bool {
        self.queue.try_send(envelope).is_ok()
    }

    pub(super) fn delivered(&self) -> u64 {
        self.counts.delivered.load(Ordering::Relaxed)
    }

    pub(super) fn failed(&self) -> u64 {
        self.counts.failed.load(Ordering::Relaxed)
    }
}

/// Spawns the delivery task for `url` on the current runtime. It ends when the bus is dropped,
/// once the envelopes already queued are sent.
pub(super) fn start(url: String) -> Delivery {
    let (queue, mut rx) = mpsc::channel::<Arc<Value>>(QUEUE);
    let counts = Arc::new(Counts::default());
    let task_counts = counts.clone();
    let target = target_of(&url);
    tokio::spawn(async move {
        let client: Client<HttpConnector, Full<Bytes>> =
            Client::builder(TokioExecutor::new()).build_http();
        while let Some(envelope) = rx.recv().await {
            let body = Bytes::from(envelope.to_string());
            let mut backoff = FIRST_BACKOFF;
            let mut attempt = 1;
            loop {
                match post(&client, &url, body.clone()).await {
                    Ok(()) => {
                        task_counts.delivered.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Err(why) if attempt >= ATTEMPTS => {
                        task_counts.failed.fetch_add(1, Ordering::Relaxed);
                        let member = |name: &str| {
                            envelope
                                .get(name)
                                .and_then(|v| v.as_str())
                                .unwrap_or("")
                                .to_owned()
                        };
                        let (detail_type, id) = (member("detail-type"), member("id"));
                        tracing::warn!(
                            side = %Side::Upstream,
                            target = %target,
                            detail_type = %detail_type,
                            id = %id,
                            "event not delivered to the events URL after {ATTEMPTS} attempts ({why}); it is dropped (GET /_ivs-vcr/events still lists it)"
                        );
                        break;
                    }
                    Err(why) => {
                        tracing::debug!(side = %Side::Upstream, target = %target, attempt, "event delivery failed ({why}); retrying in {backoff:?}");
                        tokio::time::sleep(backoff).await;
                        backoff = backoff.saturating_mul(2);
                        attempt += 1;
                    }
                }
            }
        }
    });
    Delivery { queue, counts }
}

/// One attempt: Ok on a 2xx answer, else why not (without the URL, which may hold a secret).
async fn post(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    body: Bytes,
) -> Result<(), String> {
    let request = http::Request::post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(|_| "the URL is not valid".to_owned())?;
    match tokio::time::timeout(TIMEOUT, client.request(request)).await {
        Err(_) => Err(format!("no answer within {TIMEOUT:?}")),
        Ok(Err(err)) => Err(if err.is_connect() {
            "cannot connect".to_owned()
        } else {
            "the connection failed".to_owned()
        }),
        Ok(Ok(response)) if response.status().is_success() => Ok(()),
        Ok(Ok(response)) => Err(format!("answered {}", response.status())),
    }
}

/// What a log may say of `url`: its host and port, never its user information, path or query.
fn target_of(url: &str) -> String {
    url.parse::<http::Uri>()
        .ok()
        .and_then(|uri| {
            let host = uri.host()?.to_owned();
            Some(match uri.port_u16() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_else(|| "the events URL".to_owned())
}

/// Checks an `--events-url`: an absolute `http://` URL (the emulator's client speaks plain HTTP,
/// which is what local webhooks and Lambda emulators serve).
pub(crate) fn check_url(url: &str) -> Result<(), String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("`{url}` is not a URL; give one like http://127.0.0.1:9000/events"))?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http"), Some(_)) => Ok(()),
        (Some("https"), _) => Err(format!(
            "`{url}`: events are delivered over plain HTTP only; give an http:// URL (a local webhook or Lambda emulator)"
        )),
        _ => Err(format!(
            "`{url}` is not an http:// URL; give one like http://127.0.0.1:9000/events"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_name_only_host_and_port() {
        assert_eq!(
            target_of("http://user:secret@127.0.0.1:9000/hook?token=abc"),
            "127.0.0.1:9000"
        );
        assert_eq!(target_of("http://localhost/x"), "localhost");
        assert_eq!(target_of("::"), "the events URL");
    }

    #[test]
    fn only_http_urls_are_taken() {
        assert!(check_url("http://127.0.0.1:9000/events").is_ok());
        assert!(check_url("https://example.com/")
            .unwrap_err()
            .contains("plain HTTP"));
        assert!(check_url("127.0.0.1:9000").is_err());
        assert!(check_url("ftp://x/").is_err());
    }
}
