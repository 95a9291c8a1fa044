//! A local webhook standing in for an EventBridge target: it records every JSON body POSTed to
//! it, and can fail the first requests to test retries.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;

/// A local webhook: records every body POSTed to it, answering 500 to the first `fail_first`.
pub struct Webhook {
    addr: SocketAddr,
    received: Arc<Mutex<Vec<Value>>>,
    /// Every request received, answered 500 or not.
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
    /// Starts listening on a port of its own.
    pub async fn start(fail_first: usize) -> Webhook {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let requests = Arc::new(AtomicUsize::new(0));
        let (task_received, task_requests) = (received.clone(), requests.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (received, requests) = (task_received.clone(), task_requests.clone());
                tokio::spawn(async move {
                    let service =
                        hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                            let (received, requests) = (received.clone(), requests.clone());
                            async move {
                                let n = requests.fetch_add(1, Ordering::SeqCst);
                                let json_type = req
                                    .headers()
                                    .get("content-type")
                                    .is_some_and(|v| v == "application/json");
                                let body = req.into_body().collect().await.unwrap().to_bytes();
                                let status = if n < fail_first {
                                    500
                                } else {
                                    assert!(json_type, "events are posted as application/json");
                                    received
                                        .lock()
                                        .unwrap()
                                        .push(serde_json::from_slice(&body).unwrap());
                                    200
                                };
                                Ok::<_, Infallible>(
                                    hyper::Response::builder()
                                        .status(status)
                                        .body(Full::new(Bytes::new()))
                                        .unwrap(),
                                )
                            }
                        });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Webhook {
            addr,
            received,
            requests,
            task,
        }
    }

    /// Where events are to be posted.
    pub fn url(&self) -> String {
        format!("http://{}/events", self.addr)
    }

    /// Waits (at most 10 s) until `n` events arrived, and returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let received = self.received.lock().unwrap().clone();
            if received.len() >= n {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} event(s) arrived, not {n}: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// How many requests arrived, answered 500 or not.
    pub fn n_requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}
