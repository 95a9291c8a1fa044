//! A fake IVS upstream for record tests: a small in-process hyper server that checks every SigV4
//! signature it gets, by recomputing it independently of aws-sigv4, and answers a few operations
//! from memory.
//!
//! It counts connections, so a test can prove that a refused request never reached it, and it can
//! hold a batch of requests until all have arrived and then answer them in a chosen order, so a
//! test can make completion order differ between runs without sleeping. It can also answer
//! every request with a server error, in turn from a list of statuses (a 5xx storm).
//!
//! It stands for IVS Chat too (`--upstream` serves every service): a Chat operation, or a tag
//! call on an `arn:aws:ivschat:` ARN, must be signed for `ivschat`, anything else for `ivs`, and a
//! few Chat operations are answered from memory. Real-Time signs as `ivs`; a few of its
//! operations are answered with the secrets it hands out: participant tokens (JWTs, with the
//! claims the Real-Time user guide lists) and ingest stream keys (`rt_…`).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The account of every ARN the fake makes.
pub const ACCOUNT: &str = "123456789012";

/// The operator's credentials the fake accepts.
#[derive(Debug, Clone)]
pub struct OperatorCredentials {
    pub access_key: String,
    pub secret_key: String,
    pub session_token: Option<String>,
}

impl OperatorCredentials {
    /// The same credentials as a provider, for `RecordServerBuilder::credentials`: what the
    /// recorder signs with is then by construction what the fake checks.
    pub fn provider(&self) -> aws_credential_types::Credentials {
        aws_credential_types::Credentials::new(
            self.access_key.clone(),
            self.secret_key.clone(),
            self.session_token.clone(),
            None,
            "tests",
        )
    }
}

/// Releases held requests in this order once `n` have arrived.
#[derive(Debug, Clone, Copy)]
pub struct Hold {
    pub n: usize,
    pub reverse: bool,
}

#[derive(Debug, Default)]
struct Channels {
    /// ARN → (channel JSON, tags).
    by_arn: BTreeMap<String, (Value, BTreeMap<String, String>)>,
}

#[derive(Debug)]
struct Shared {
    creds: OperatorCredentials,
    host: String,
    connections: AtomicUsize,
    requests: AtomicUsize,
    bad_signatures: AtomicUsize,
    request_ids: AtomicUsize,
    channels: Mutex<Channels>,
    hold: Mutex<Option<Hold>>,
    arrived: AtomicUsize,
    /// How many held requests have arrived.
    n_held: watch::Sender<usize>,
    /// How many held requests have been answered.
    released: watch::Sender<usize>,
    /// Statuses every request is answered with, in turn, once its signature verified.
    failing: Mutex<Vec<StatusCode>>,
    /// Every request received, as `METHOD path body`.
    received: Mutex<Vec<String>>,
    /// The service of each verified request's credential scope, in arrival order.
    signed_for: Mutex<Vec<String>>,
    /// Chat rooms: ARN → room JSON.
    rooms: Mutex<BTreeMap<String, Value>>,
    /// Real-Time: how many resources and tokens were made, for their ids.
    real_time: AtomicUsize,
    /// Every Real-Time secret handed out (tokens, stream keys), for tests to look for.
    secrets: Mutex<Vec<String>>,
}

/// A running fake upstream; stops when dropped.
pub struct FakeIvs {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeIvs {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeIvs {
    /// Starts a fake that accepts requests signed with `creds`.
    pub async fn start(creds: OperatorCredentials) -> FakeIvs {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            creds,
            host: addr.to_string(),
            connections: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            bad_signatures: AtomicUsize::new(0),
            request_ids: AtomicUsize::new(0),
            channels: Mutex::new(Channels::default()),
            hold: Mutex::new(None),
            arrived: AtomicUsize::new(0),
            n_held: watch::channel(0).0,
            released: watch::channel(0).0,
            failing: Mutex::new(Vec::new()),
            received: Mutex::new(Vec::new()),
            signed_for: Mutex::new(Vec::new()),
            rooms: Mutex::new(BTreeMap::new()),
            real_time: AtomicUsize::new(0),
            secrets: Mutex::new(Vec::new()),
        });
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                accept_shared.connections.fetch_add(1, Ordering::SeqCst);
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(&shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        FakeIvs { addr, shared, task }
    }

    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// TCP connections accepted so far.
    pub fn n_connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    pub fn n_requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Every request received so far, as `METHOD path body` (the path as sent, still encoded).
    pub fn received(&self) -> Vec<String> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Requests whose signature did not verify.
    pub fn signed_for(&self) -> Vec<String> {
        self.shared.signed_for.lock().unwrap().clone()
    }

    pub fn n_bad_signatures(&self) -> usize {
        self.shared.bad_signatures.load(Ordering::SeqCst)
    }

    /// Holds the next `hold.n` requests until all have arrived, then answers them in arrival
    /// order or its reverse.
    pub fn hold(&self, hold: Hold) {
        *self.shared.hold.lock().unwrap() = Some(hold);
        self.shared.arrived.store(0, Ordering::SeqCst);
        self.shared.n_held.send_replace(0);
        self.shared.released.send_replace(0);
    }

    /// Stops holding new requests; those already held stay held.
    pub fn stop_holding(&self) {
        *self.shared.hold.lock().unwrap() = None;
    }

    /// Waits until `n` requests are being held (see [`FakeIvs::hold`]).
    pub async fn wait_held(&self, n: usize) {
        let mut held = self.shared.n_held.subscribe();
        held.wait_for(|held| *held >= n).await.unwrap();
    }

    /// Answers every request from now on with these server errors, in turn (500
    /// `InternalServerException`, 503 `ServiceUnavailableException`, others without a type).
    pub fn fail_all(&self, statuses: &[u16]) {
        *self.shared.failing.lock().unwrap() = statuses
            .iter()
            .map(|s| StatusCode::from_u16(*s).unwrap())
            .collect();
    }

    /// Adds a channel directly, as if created earlier.
    pub fn seed_channel(&self, region: &str, name: &str) -> String {
        create_channel(&self.shared, region, name)["channel"]["arn"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let request_idx = shared.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    shared.received.lock().unwrap().push(format!(
        "{} {} {}",
        parts.method,
        parts.uri.path(),
        String::from_utf8_lossy(&body)
    ));
    if let Err(why) = verify(shared, &parts, &body) {
        shared.bad_signatures.fetch_add(1, Ordering::SeqCst);
        return answer(
            shared,
            StatusCode::FORBIDDEN,
            Some("InvalidSignatureException"),
            json!({ "message": why }),
        );
    }
    if let Some((_, _, _, service)) = scope(&parts) {
        shared.signed_for.lock().unwrap().push(service);
    }
    let failing = {
        let failing = shared.failing.lock().unwrap();
        (!failing.is_empty()).then(|| failing[request_idx % failing.len()])
    };
    if let Some(status) = failing {
        let error_type = match status.as_u16() {
            500 => Some("InternalServerException"),
            503 => Some("ServiceUnavailableException"),
            _ => None,
        };
        return answer(
            shared,
            status,
            error_type,
            json!({ "message": "the fake is failing on purpose" }),
        );
    }
    let hold = *shared.hold.lock().unwrap();
    if let Some(hold) = hold {
        let ticket = shared.arrived.fetch_add(1, Ordering::SeqCst);
        if ticket < hold.n {
            let turn = if hold.reverse {
                hold.n - 1 - ticket
            } else {
                ticket
            };
            shared.n_held.send_modify(|n| *n += 1);
            let mut all_in = shared.n_held.subscribe();
            all_in.wait_for(|n| *n >= hold.n).await.unwrap();
            let mut rx = shared.released.subscribe();
            rx.wait_for(|released| *released == turn).await.unwrap();
            let response = route(shared, &parts, &body);
            shared.released.send_modify(|r| *r += 1);
            return response;
        }
    }
    route(shared, &parts, &body)
}

fn route(shared: &Shared, parts: &http::request::Parts, body: &[u8]) -> Response<Full<Bytes>> {
    let input: Value = serde_json::from_slice(body).unwrap_or(json!({}));
    let region = scope(parts).map(|s| s.2).unwrap_or_default();
    let path = parts.uri.path();
    if let Some(response) = chat_route(shared, path, &region, &input) {
        return response;
    }
    if let Some(response) = real_time_route(shared, path, &region, &input) {
        return response;
    }
    let not_found = |what: &str| {
        answer(
            shared,
            StatusCode::NOT_FOUND,
            Some("ResourceNotFoundException"),
            json!({ "exceptionMessage": format!("{what} not found") }),
        )
    };
    if let Some(arn) = path.strip_prefix("/tags/") {
        let arn = percent_decode_str(arn).decode_utf8().unwrap().into_owned();
        let mut channels = shared.channels.lock().unwrap();
        let Some((_, tags)) = channels.by_arn.get_mut(&arn) else {
            return not_found(&arn);
        };
        return match parts.method.as_str() {
            "GET" => answer(shared, StatusCode::OK, None, json!({ "tags": tags })),
            "POST" => {
                for (k, v) in input["tags"].as_object().into_iter().flatten() {
                    tags.insert(k.clone(), v.as_str().unwrap_or_default().to_owned());
                }
                answer(shared, StatusCode::OK, None, json!({}))
            }
            "DELETE" => {
                for (k, v) in url_query(parts) {
                    if k == "tagKeys" {
                        tags.remove(&v);
                    }
                }
                answer(shared, StatusCode::OK, None, json!({}))
            }
            _ => not_found("route"),
        };
    }
    match path {
        "/CreateChannel" => {
            let name = input["name"].as_str().unwrap_or("unnamed").to_owned();
            answer(
                shared,
                StatusCode::OK,
                None,
                create_channel(shared, &region, &name),
            )
        }
        "/GetChannel" => {
            let arn = input["arn"].as_str().unwrap_or_default();
            match shared.channels.lock().unwrap().by_arn.get(arn) {
                Some((channel, _)) => {
                    answer(shared, StatusCode::OK, None, json!({ "channel": channel }))
                }
                None => not_found(arn),
            }
        }
        "/ListChannels" => {
            let filter = input["filterByName"].as_str();
            let channels: Vec<Value> = shared
                .channels
                .lock()
                .unwrap()
                .by_arn
                .values()
                .filter(|(c, _)| filter.is_none_or(|f| c["name"] == f))
                .map(|(c, _)| json!({ "arn": c["arn"], "name": c["name"], "latencyMode": "LOW" }))
                .collect();
            answer(
                shared,
                StatusCode::OK,
                None,
                json!({ "channels": channels }),
            )
        }
        "/PutMetadata" => {
            let mut response = answer(shared, StatusCode::NO_CONTENT, None, Value::Null);
            *response.body_mut() = Full::new(Bytes::new());
            response
        }
        "/GetStream" => answer(
            shared,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some("InternalServerException"),
            json!({ "exceptionMessage": "try again" }),
        ),
        // A deliberately broken answer: it leaks a private key, which must never be written.
        "/GetPlaybackKeyPair" => answer(
            shared,
            StatusCode::OK,
            None,
            json!({ "keyPair": { "arn": input["arn"], "publicKeyMaterial": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIO\n-----END EC PRIVATE KEY-----" } }),
        ),
        _ => answer(
            shared,
            StatusCode::BAD_REQUEST,
            Some("ValidationException"),
            json!({ "message": format!("unknown operation {path}") }),
        ),
    }
}

fn create_channel(shared: &Shared, region: &str, name: &str) -> Value {
    // Ids derive from the name, so the same calls give the same answers run after run.
    let id: String = hex(&Sha256::digest(name.as_bytes()))[..12].to_owned();
    let arn = format!("arn:aws:ivs:{region}:{ACCOUNT}:channel/{id}");
    let channel = json!({
        "arn": arn,
        "name": name,
        "latencyMode": "LOW",
        "type": "STANDARD",
        "ingestEndpoint": format!("{id}.global-contribute.live-video.net"),
        "srt": { "endpoint": format!("{id}.srt.live-video.net"), "passphrase": format!("srt-passphrase-{id}") },
        "tags": {}
    });
    shared
        .channels
        .lock()
        .unwrap()
        .by_arn
        .insert(arn.clone(), (channel.clone(), BTreeMap::new()));
    json!({
        "channel": channel,
        "streamKey": {
            "arn": format!("arn:aws:ivs:{region}:{ACCOUNT}:stream-key/{id}"),
            "channelArn": arn,
            "value": format!("sk_{region}_SECRETSTREAMKEY{id}"),
            "tags": {}
        }
    })
}

/// An answer with the headers real IVS sends, per-run ones included.
fn answer(
    shared: &Shared,
    status: StatusCode,
    error_type: Option<&str>,
    body: Value,
) -> Response<Full<Bytes>> {
    let n = shared.request_ids.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut builder = Response::builder()
        .status(status)
        .header("Content-Type", "application/json")
        .header("x-amzn-RequestId", format!("{n:08}-{nanos:x}"))
        .header("Date", httpdate(nanos))
        .header(
            "Access-Control-Expose-Headers",
            "x-amzn-RequestId,x-amzn-ErrorType",
        )
        .header("X-Amz-Cf-Id", format!("cf-{nanos}"));
    if let Some(error_type) = error_type {
        builder = builder.header("x-amzn-ErrorType", error_type);
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn httpdate(nanos: u128) -> String {
    format!("t{}", nanos / 1_000_000_000)
}

/// (access key, date, region, service) of the request's credential scope.
fn scope(parts: &http::request::Parts) -> Option<(String, String, String, String)> {
    let auth = parts.headers.get("authorization")?.to_str().ok()?;
    let credential = auth.split("Credential=").nth(1)?.split(',').next()?;
    let p: Vec<&str> = credential.split('/').collect();
    (p.len() == 5).then(|| (p[0].into(), p[1].into(), p[2].into(), p[3].into()))
}

fn url_query(parts: &http::request::Parts) -> Vec<(String, String)> {
    parts
        .uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| percent_decode_str(s).decode_utf8().unwrap().into_owned();
            (decode(k), decode(v))
        })
        .collect()
}

/// RFC 3986 unreserved characters stay; everything else is percent-encoded.
const SIGV4_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The operations of IVS Chat, which signs as `ivschat`.
const CHAT_OPERATIONS: &[&str] = &[
    "CreateChatToken",
    "CreateLoggingConfiguration",
    "CreateRoom",
    "DeleteLoggingConfiguration",
    "DeleteMessage",
    "DeleteRoom",
    "DisconnectUser",
    "GetLoggingConfiguration",
    "GetRoom",
    "ListLoggingConfigurations",
    "ListRooms",
    "SendEvent",
    "UpdateLoggingConfiguration",
    "UpdateRoom",
];

/// The signing name a request to `path` must carry: `ivschat` for Chat's, `ivs` for the rest.
fn signing_name(path: &str) -> &'static str {
    let chat = match path.strip_prefix("/tags/") {
        Some(arn) => percent_decode_str(arn)
            .decode_utf8_lossy()
            .starts_with("arn:aws:ivschat:"),
        None => CHAT_OPERATIONS.contains(&path.trim_start_matches('/')),
    };
    if chat {
        "ivschat"
    } else {
        "ivs"
    }
}

/// A few Chat operations, from memory.
fn chat_route(
    shared: &Shared,
    path: &str,
    region: &str,
    input: &Value,
) -> Option<Response<Full<Bytes>>> {
    let mut rooms = shared.rooms.lock().unwrap();
    Some(match path {
        "/CreateRoom" => {
            let id = format!("room{:08}", rooms.len());
            let arn = format!("arn:aws:ivschat:{region}:{ACCOUNT}:room/{id}");
            let room = json!({
                "arn": arn, "id": id, "name": input["name"].as_str().unwrap_or(""),
                "createTime": "2026-11-26T10:00:00Z", "updateTime": "2026-11-26T10:00:00Z",
                "maximumMessageLength": input["maximumMessageLength"].as_u64().unwrap_or(500),
                "maximumMessageRatePerSecond": 10, "tags": {}, "loggingConfigurationIdentifiers": [],
            });
            rooms.insert(arn, room.clone());
            answer(shared, StatusCode::OK, None, room)
        }
        "/GetRoom" => match rooms.get(input["identifier"].as_str().unwrap_or_default()) {
            Some(room) => answer(shared, StatusCode::OK, None, room.clone()),
            None => answer(
                shared,
                StatusCode::NOT_FOUND,
                Some("ResourceNotFoundException"),
                json!({ "message": "room not found", "resourceId": "x", "resourceType": "ROOM" }),
            ),
        },
        "/CreateChatToken" => answer(
            shared,
            StatusCode::OK,
            None,
            json!({
                "token": format!("AQICAHg{}", "Zm9vYmFy".repeat(30)),
                "tokenExpirationTime": "2026-11-26T10:01:00Z",
                "sessionExpirationTime": "2026-11-26T11:00:00Z",
            }),
        ),
        _ => return None,
    })
}

impl FakeIvs {
    /// Every Real-Time secret this fake handed out: participant tokens and ingest stream keys.
    pub fn real_time_secrets(&self) -> Vec<String> {
        self.shared.secrets.lock().unwrap().clone()
    }
}

/// A participant token as IVS issues one: a JWT whose claims are the ones the Real-Time user
/// guide lists, signed (here with made-up bytes) as ES384.
fn participant_token(shared: &Shared, stage_arn: &str, input: &Value) -> Value {
    use base64::Engine as _;
    let n = shared.real_time.fetch_add(1, Ordering::SeqCst);
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    let capabilities = input["capabilities"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![json!("PUBLISH"), json!("SUBSCRIBE")]);
    let has = |c: &str| capabilities.iter().any(|v| v == c);
    let topic = stage_arn.rsplit('/').next().unwrap_or_default();
    let claims = json!({
        "exp": 1_796_000_000u64 + n as u64, "iat": 1_795_956_800u64 + n as u64,
        "jti": format!("SECRETJTI{n:04}"), "resource": stage_arn, "topic": topic,
        "user_id": input["userId"].as_str().unwrap_or(""),
        "attributes": input.get("attributes").cloned().unwrap_or(json!({})),
        "capabilities": {"allow_publish": has("PUBLISH"), "allow_subscribe": has("SUBSCRIBE")},
        "events_url": "wss://global.events.live-video.net",
        "whip_url": "https://f99084460c35.global-bm.whip.live-video.net",
        "version": "1.0",
    });
    let header = json!({"alg": "ES384", "typ": "JWT"});
    let token = format!(
        "{}.{}.{}",
        b64(&header),
        b64(&claims),
        "SECRETsig0".repeat(12) + "AbCdEfGh"
    );
    shared.secrets.lock().unwrap().push(token.clone());
    json!({
        "participantId": format!("p{n:011}"),
        "token": token,
        "userId": input["userId"].as_str().unwrap_or(""),
        "attributes": input.get("attributes").cloned().unwrap_or(json!({})),
        "duration": input["duration"].as_u64().unwrap_or(720),
        "capabilities": capabilities,
        "expirationTime": "2026-12-01T00:00:00Z",
    })
}

/// A few Real-Time operations, from memory, with the secrets Real-Time hands out.
fn real_time_route(
    shared: &Shared,
    path: &str,
    region: &str,
    input: &Value,
) -> Option<Response<Full<Bytes>>> {
    Some(match path {
        "/CreateStage" => {
            let n = shared.real_time.fetch_add(1, Ordering::SeqCst);
            let arn = format!("arn:aws:ivs:{region}:{ACCOUNT}:stage/stage{n:07}");
            let tokens: Vec<Value> = input["participantTokenConfigurations"]
                .as_array()
                .map(|configs| {
                    configs
                        .iter()
                        .map(|config| participant_token(shared, &arn, config))
                        .collect()
                })
                .unwrap_or_default();
            answer(
                shared,
                StatusCode::OK,
                None,
                json!({
                    "stage": {"arn": arn, "name": input["name"].as_str().unwrap_or(""),
                        "activeSessionId": "", "tags": {}},
                    "participantTokens": tokens,
                }),
            )
        }
        "/CreateParticipantToken" => {
            let stage = input["stageArn"].as_str().unwrap_or_default();
            let token = participant_token(shared, stage, input);
            answer(
                shared,
                StatusCode::OK,
                None,
                json!({ "participantToken": token }),
            )
        }
        "/CreateIngestConfiguration" => {
            let n = shared.real_time.fetch_add(1, Ordering::SeqCst);
            let id = format!("ingest{n:06}");
            let key = format!("rt_{ACCOUNT}_{region}_{id}_SECRETingestKEY{n:04}");
            shared.secrets.lock().unwrap().push(key.clone());
            answer(
                shared,
                StatusCode::OK,
                None,
                json!({"ingestConfiguration": {
                    "arn": format!("arn:aws:ivs:{region}:{ACCOUNT}:ingest-configuration/{id}"),
                    "name": input["name"].as_str().unwrap_or(""),
                    "ingestProtocol": input["ingestProtocol"].as_str().unwrap_or("RTMPS"),
                    "streamKey": key,
                    "stageArn": input["stageArn"].as_str().unwrap_or(""),
                    "participantId": format!("p{n:011}"),
                    "state": "INACTIVE",
                    "userId": input["userId"].as_str().unwrap_or(""),
                    "tags": {},
                }}),
            )
        }
        _ => return None,
    })
}

/// Recomputes the SigV4 signature from scratch (no aws-sigv4) and compares.
fn verify(shared: &Shared, parts: &http::request::Parts, body: &[u8]) -> Result<(), String> {
    let auth = parts
        .headers
        .get("authorization")
        .ok_or("no authorization")?
        .to_str()
        .map_err(|_| "authorization not ascii")?;
    let (key, date, region, service) = scope(parts).ok_or("bad credential scope")?;
    if key != shared.creds.access_key {
        return Err(format!("unknown access key {key}"));
    }
    let expected = signing_name(parts.uri.path());
    if service != expected {
        return Err(format!(
            "signed for `{service}`, but this is an `{expected}` request"
        ));
    }
    let signed_headers = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .ok_or("no SignedHeaders")?;
    let signature = auth
        .split("Signature=")
        .nth(1)
        .ok_or("no Signature")?
        .trim();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if header("host").as_deref() != Some(shared.host.as_str()) {
        return Err(format!("host is {:?}, not the upstream's", header("host")));
    }
    let token = header("x-amz-security-token");
    if token != shared.creds.session_token {
        return Err("wrong or missing session token".into());
    }
    if token.is_some()
        && !signed_headers
            .split(';')
            .any(|h| h == "x-amz-security-token")
    {
        return Err("session token not signed".into());
    }
    let amz_date = header("x-amz-date").ok_or("no x-amz-date")?;
    if !amz_date.starts_with(&date) {
        return Err("x-amz-date and scope disagree".into());
    }
    // Canonical URI: every path segment URI-encoded once more (IVS is not S3).
    let canonical_uri = parts
        .uri
        .path()
        .split('/')
        .map(|seg| utf8_percent_encode(seg, SIGV4_ENCODE).to_string())
        .collect::<Vec<_>>()
        .join("/");
    let mut query: Vec<(String, String)> = url_query(parts)
        .into_iter()
        .map(|(k, v)| {
            (
                utf8_percent_encode(&k, SIGV4_ENCODE).to_string(),
                utf8_percent_encode(&v, SIGV4_ENCODE).to_string(),
            )
        })
        .collect();
    query.sort();
    let canonical_query = query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let mut canonical_headers = String::new();
    for name in signed_headers.split(';') {
        let values: Vec<String> = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| {
                v.to_str()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if values.is_empty() {
            return Err(format!("signed header {name} missing"));
        }
        canonical_headers.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    let canonical_request = format!(
        "{}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{}",
        parts.method,
        hex(&Sha256::digest(body))
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{date}/{region}/{service}/aws4_request\n{}",
        hex(&Sha256::digest(canonical_request.as_bytes()))
    );
    let mut k = hmac(
        format!("AWS4{}", shared.creds.secret_key).as_bytes(),
        date.as_bytes(),
    );
    for part in [region.as_str(), service.as_str(), "aws4_request"] {
        k = hmac(&k, part.as_bytes());
    }
    let expected = hex(&hmac(&k, string_to_sign.as_bytes()));
    if expected != signature {
        return Err(format!(
            "signature mismatch; canonical request was:\n{canonical_request}"
        ));
    }
    Ok(())
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner = Sha256::new()
        .chain_update(block.map(|b| b ^ 0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(block.map(|b| b ^ 0x5c))
        .chain_update(inner)
        .finalize()
        .into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
