//! Record's per-request stages, pingora-style: each stage takes the one request context
//! ([`RecordCtx`]) by `&mut`, fills in what it learns, and returns the one stage result
//! ([`Stage`]): go on to the next stage, or answer now with this response.
//!
//! `read → route (operation, region, cassette) → replay → forward → capture → append`; see the
//! module doc of `record` for what each does. A request that gets through every stage is
//! answered with the upstream answer, passed on as it came.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use sha2::{Digest, Sha256};

use super::slots::Slot;
use super::{is_valid_cassette_name, RecordError, RecordMode, RecordState};
use crate::answer::Prepared;
use crate::cassette::{CassetteError, Interaction, RecordedResponse};
use crate::control;
use crate::http::{
    error_chain, error_response, inject, read_request, route_error_response, Downstream, Handler,
    HttpResponse, ReadOptions, ReadTimeouts, Side, MATCH_NAME,
};
use crate::ivs;
use crate::matcher::Fallback;
use crate::normalize::{self, Fingerprint};
use crate::redact;
use crate::upstream::{sigv4, Outbound, UpstreamResponse, FORWARDED_HEADER};

/// The error type of the answer to a request that went round a loop of recorders.
const LOOP_ERROR_TYPE: &str = "IvsVcrForwardingLoopException";

/// Response headers written to cassettes, with the spelling they are written in: those clients
/// read, which are `Content-Type`, the request id, and the header members IVS's model declares on
/// its answers (`x-amzn-ErrorType`, and the CORS, cache and security headers of every error shape
/// and the BatchGet outputs, which SDKs parse into fields). They are kept, although they never
/// change, because SDKs read them and because the bundled cassettes carry them: re-recordings
/// without them would show as drift in `diff`. Everything else (`Date`, `Content-Length`,
/// `Connection`, CloudFront and tracing ids) changes per run or describes the connection, and
/// would make re-recordings differ. A test holds this list to the model.
pub(super) const KEPT_RESPONSE_HEADERS: &[&str] = &[
    "Content-Type",
    "x-amzn-RequestId",
    "x-amzn-ErrorType",
    "Access-Control-Allow-Origin",
    "Access-Control-Expose-Headers",
    "Cache-Control",
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "X-Frame-Options",
];

/// How long a write waits after an interaction completes, so that a burst of interactions is
/// Response headers never passed downstream: they describe the upstream connection.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "te",
    "trailer",
    "upgrade",
    "proxy-connection",
];
/// What a stage says: go on to the next stage, or answer now with this response.
pub(super) type Stage = ControlFlow<HttpResponse>;

/// What record knows about one request, filled in by the stages in order.
#[derive(Debug)]
pub(super) struct RecordCtx {
    /// The logical clock's tick at arrival (see "Determinism" in the module doc).
    arrived: u64,
    started: Instant,
    /// The client's `Content-Type`, forwarded as the only client header.
    content_type: Option<HeaderValue>,
    /// The query as received, less any signing parameter.
    raw_query: Option<String>,
    /// The client's `Authorization`, read strictly again by `route_region`.
    authorization: Option<Result<String, http::header::ToStrError>>,
    operation: String,
    downstream: Downstream,
    /// Set by `route_region`.
    region: String,
    /// Set by `route_cassette`.
    slot: Option<Arc<Slot>>,
    /// Set by `forward`.
    upstream: Option<UpstreamResponse>,
    /// Set by `capture` when the answer is to be written.
    captured: Option<(Interaction, Fingerprint)>,
}

impl RecordCtx {
    /// The cassette of the request.
    fn slot(&self) -> &Arc<Slot> {
        // Invariant: `route_cassette` runs before every stage that calls this, and breaks when
        // it has no slot to give.
        self.slot.as_ref().expect("route_cassette sets the slot")
    }
}

impl Handler for RecordState {
    const NAME: &'static str = "record";
    const SERVES_BROWSERS: bool = false;
    // Each forwarded call's upstream events name the request they belong to.
    const SPAN_AT_INFO: bool = true;

    fn read_timeouts(&self) -> ReadTimeouts {
        self.options.read_timeouts
    }

    async fn handle(self: &Arc<Self>, req: Request<Incoming>, _peer: SocketAddr) -> HttpResponse {
        let looped = req.headers().contains_key(FORWARDED_HEADER);
        let mut ctx = match self.read(req).await {
            Ok(ctx) => ctx,
            Err(response) => return response,
        };
        if looped {
            let operation = &ctx.operation;
            let message = format!("refusing a request an ivs-vcr forwarded (it carries `{FORWARDED_HEADER}`): an --upstream leads back to a recorder, and forwarding it again would loop");
            tracing::warn!(side = %Side::Downstream, operation = %operation, "{message}");
            self.tally().refused(operation, message.clone());
            return error_response(StatusCode::LOOP_DETECTED, LOOP_ERROR_TYPE, &message);
        }
        let request = &ctx.downstream.request;
        if control::is_control(&request.path) {
            return control::handle(
                self.as_ref(),
                &request.method,
                &request.path,
                &request.query,
                &ctx.downstream.raw_body,
            );
        }
        // Before anything is forwarded: an injected fault is never recorded.
        if !self.faults.is_empty() {
            // Read only for a rule that names an account and applies to the operation. Record
            // takes header-signed requests, so the key is the `Authorization` header's.
            let account = || {
                let authorization = ctx.authorization.as_ref().and_then(|a| a.as_ref().ok());
                let access_key =
                    normalize::access_key_id(authorization.map(|a| a.as_bytes()), None);
                crate::emulator::account_of(&self.accounts, access_key.as_deref()).to_owned()
            };
            if let Some(response) = inject(
                &self.faults,
                ctx.downstream.request.service,
                &ctx.operation,
                account,
            )
            .await
            {
                self.tally().op(&ctx.operation).faulted += 1;
                return response;
            }
        }
        match self.stages(&mut ctx).await {
            ControlFlow::Break(response) => response,
            ControlFlow::Continue(()) => {
                // Invariant: every path through the stages that does not break has forwarded.
                let upstream = ctx.upstream.as_ref().expect("forward sets the answer");
                downstream_response(upstream)
            }
        }
    }
}

impl RecordState {
    /// The stages after `read`, in order.
    async fn stages(self: &Arc<Self>, ctx: &mut RecordCtx) -> Stage {
        self.route_operation(ctx)?;
        self.route_region(ctx)?;
        self.route_cassette(ctx).await?;
        self.replay(ctx).await?;
        self.forward(ctx).await?;
        self.capture(ctx)?;
        self.append(ctx)
    }

    /// Stage `read`: the request, read once, with what forwarding needs of its head.
    async fn read(&self, req: Request<Incoming>) -> Result<RecordCtx, HttpResponse> {
        let arrived = self.clock.fetch_add(1, Ordering::SeqCst);
        let started = Instant::now();
        let content_type = req.headers().get(http::header::CONTENT_TYPE).cloned();
        // Forwarded as received, less any query-string signing parameter: the request is signed
        // again, in headers, and a client's signature must not travel on.
        let raw_query = req.uri().query().and_then(|query| {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| {
                    !normalize::is_signing_parameter(pair.split('=').next().unwrap_or(pair))
                })
                .collect();
            (!kept.is_empty()).then(|| kept.join("&"))
        });
        let authorization = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .map(|v| v.to_str().map(str::to_owned));
        let options = ReadOptions {
            default_region: "",
            keep_headers: true,
            body_timeout: self.options.read_timeouts.body,
        };
        let downstream = read_request(req, options).await?;
        let operation =
            normalize::operation_name(&downstream.request.method, &downstream.request.path);
        tracing::Span::current().record("operation", operation.as_str());
        Ok(RecordCtx {
            arrived,
            started,
            content_type,
            raw_query,
            authorization,
            operation,
            downstream,
            region: String::new(),
            slot: None,
            upstream: None,
            captured: None,
        })
    }

    /// Refuses a request at the door: counted, logged at `warn`, answered with an AWS-style 400.
    fn refuse(&self, operation: &str, error_type: &str, message: String) -> Stage {
        self.refuse_with(StatusCode::BAD_REQUEST, operation, error_type, message)
    }

    /// [`refuse`](Self::refuse) with another 4xx.
    fn refuse_with(
        &self,
        status: StatusCode,
        operation: &str,
        error_type: &str,
        message: String,
    ) -> Stage {
        // Refusals can quote the request (a region, a path): printed, so escaped first.
        let message = redact::printable(&message).into_owned();
        tracing::warn!(side = %Side::Downstream, operation, "{message}");
        let response = error_response(status, error_type, &message);
        self.tally().refused(operation, message);
        ControlFlow::Break(response)
    }

    /// Stage `route`: only IVS routes are forwarded. A well-formed `POST /<Name>` the catalog does
    /// not know is let through, so that operations newer than this build can still be recorded;
    /// a method IVS does not use, or a path that cannot be an operation, is refused here.
    fn route_operation(&self, ctx: &mut RecordCtx) -> Stage {
        let req = &ctx.downstream.request;
        let operation = ctx.operation.as_str();
        match req.service.catalog().check_route(&req.method, &req.path) {
            Ok(_) => ControlFlow::Continue(()),
            Err(ivs::RouteError::UnknownOperation { .. })
                if is_operation_like(&req.method, &req.path) =>
            {
                ControlFlow::Continue(())
            }
            Err(err) => {
                let message = redact::printable(&err.to_string()).into_owned();
                tracing::warn!(side = %Side::Downstream, operation, "{message}");
                self.tally().refused(operation, message);
                ControlFlow::Break(route_error_response(&err))
            }
        }
    }

    /// Stage `route`: the region of the request, from its credential scope or `--region`.
    /// Anything that is not an AWS region name is refused here, before any connection.
    ///
    /// `--region` lets unsigned requests through (curl, a test's raw HTTP), but only with a body,
    /// which the guard has checked is JSON: a web page can send a bodiless GET with neither
    /// `Origin` nor `Sec-Fetch-Site` (an `<img>` in a browser without Fetch Metadata), while a JSON
    /// body or an `Authorization` header needs a preflight, which carries `Origin`.
    fn route_region(&self, ctx: &mut RecordCtx) -> Stage {
        let operation = ctx.operation.as_str();
        let region = if !ctx.downstream.signed && ctx.authorization.is_none() {
            match &self.options.region {
                Some(_) if ctx.downstream.raw_body.is_empty() => {
                    let method = &ctx.downstream.request.method;
                    return self.refuse_with(
                        StatusCode::FORBIDDEN,
                        operation,
                        "IvsVcrForbiddenRequestException",
                        format!("refusing to sign a `{method}` with neither an `Authorization` header nor a body: a web page can send one (an image, a link); sign it as AWS SDKs do (any credentials: record signs again with yours)"),
                    );
                }
                Some(region) => region.clone(),
                None => {
                    return self.refuse(
                        operation,
                        "IvsVcrMissingRegionException",
                        "refusing to forward an unsigned request: it names no region; sign it, or start ivs-vcr record with --region".into(),
                    )
                }
            }
        } else {
            // `http` read the scope generously, for matching; it is parsed again, strictly.
            let parsed = match &ctx.authorization {
                Some(Ok(authorization)) => {
                    sigv4::scope_region(authorization).map_err(|e| e.to_string())
                }
                _ => Err("the `Authorization` header is not ASCII".to_owned()),
            };
            match parsed {
                Ok(region) => region.to_owned(),
                Err(reason) => {
                    return self.refuse(
                        operation,
                        "IvsVcrMalformedAuthorizationException",
                        format!("refusing to forward: {reason}"),
                    )
                }
            }
        };
        if !normalize::is_valid_region(&region) {
            return self.refuse(
                operation,
                "IvsVcrInvalidRegionException",
                format!(
                    "refusing to forward: region {} is not an AWS region name",
                    serde_json::Value::from(region)
                ),
            );
        }
        ctx.downstream.request.region = region.clone();
        ctx.region = region;
        ControlFlow::Continue(())
    }

    /// Stage `route`: the cassette of the request, opened on first use.
    async fn route_cassette(&self, ctx: &mut RecordCtx) -> Stage {
        let operation = ctx.operation.as_str();
        let name = ctx
            .downstream
            .cassette
            .as_deref()
            .unwrap_or(&self.options.default_name);
        if !is_valid_cassette_name(name) {
            return self.refuse(
                operation,
                "IvsVcrInvalidCassetteException",
                RecordError::BadName { name: name.into() }.to_string(),
            );
        }
        let mut slots = self.slots.lock().await;
        if let Some(slot) = slots.get(name) {
            ctx.slot = Some(slot.clone());
            return ControlFlow::Continue(());
        }
        if slots.len() >= super::MAX_CASSETTES {
            let err = RecordError::TooManyCassettes {
                name: name.into(),
                limit: super::MAX_CASSETTES,
            };
            let message = err.to_string();
            tracing::warn!(side = %Side::Downstream, operation, "{message}");
            self.tally().over_cassette_limit(operation);
            return ControlFlow::Break(error_response(
                StatusCode::BAD_REQUEST,
                "IvsVcrTooManyCassettesException",
                &message,
            ));
        }
        match self.open_slot(name) {
            Ok(slot) => {
                let slot = Arc::new(slot);
                slots.insert(name.to_owned(), slot.clone());
                ctx.slot = Some(slot);
                ControlFlow::Continue(())
            }
            Err(err) => {
                let message = redact::redact_text(&error_chain(&err)).into_owned();
                tracing::error!(side = %Side::Internal, operation, "{message}");
                self.tally().refused(operation, message.clone());
                // The client is told which file and what kind of problem, never a parser's
                // message: it can quote the file, and the file may be anything a link named.
                let told = match &err {
                    CassetteError::Parse { path, line, .. } => format!(
                        "cassette `{}` cannot be loaded{}; the record log says why",
                        path.display(),
                        line.map(|l| format!(" (line {l})")).unwrap_or_default()
                    ),
                    CassetteError::Invalid {
                        path,
                        interaction_idx,
                        ..
                    } => format!(
                        "cassette `{}` cannot be loaded (interaction {interaction_idx}); the record log says why",
                        path.display()
                    ),
                    _ => message,
                };
                ControlFlow::Break(error_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "IvsVcrCassetteException",
                    &told,
                ))
            }
        }
    }

    /// Stage `replay`: the recorded answer, when the mode replays and the cassette has one, or a
    /// refusal when the mode forwards nothing. Going on means: forward.
    ///
    /// The near-miss report of mode `once` or `none` compares the request with recorded
    /// interactions, so it is built as replay builds its own: on the blocking pool, at most
    /// `EXPLAIN_CONCURRENCY` at a time, never on the workers that answer everyone else.
    async fn replay(&self, ctx: &mut RecordCtx) -> Stage {
        let slot = ctx.slot().clone();
        let operation = &ctx.operation;
        if let (Some(index), Some(cassette)) = (&slot.replay, &slot.replay_cassette) {
            match index.lookup(&ctx.downstream.request, Some(0), Fallback::AsLevelAllows) {
                Ok(hit) => {
                    let interaction_idx = index.entries[hit.entry_idx].interaction_idx;
                    let recorded = &cassette.interactions[interaction_idx].response;
                    tracing::debug!(
                        side = %Side::Downstream,
                        operation = %operation,
                        cassette = %slot.name,
                        status = recorded.status,
                        "replayed"
                    );
                    self.tally().op(operation).replayed += 1;
                    return ControlFlow::Break(
                        Prepared::new(recorded, &slot.name, interaction_idx).to_response(),
                    );
                }
                Err(miss) if !slot.forward => {
                    // The report shows the request's body: every secret in it is replaced
                    // wherever it appears, before it is logged and kept for the summary.
                    let mut secrets = redact::Secrets::default();
                    if let Some(body) = &ctx.downstream.request.body {
                        secrets.collect_json(body);
                    }
                    // Invariant: the semaphore is never closed.
                    let permit = self
                        .explaining
                        .clone()
                        .acquire_owned()
                        .await
                        .expect("the explain semaphore is never closed");
                    let (for_report, request) = (slot.clone(), ctx.downstream.request.clone());
                    let report = tokio::task::spawn_blocking(move || {
                        let _permit = permit;
                        for_report
                            .replay
                            .as_ref()
                            .map(|index| index.explain(&request, Some(0), &miss))
                            .unwrap_or_default()
                    })
                    .await
                    .unwrap_or_else(|err| format!("{operation}: no recorded interaction ({err})"));
                    let report = secrets.redact_str(&report).into_owned();
                    let why = if self.options.record.mode == RecordMode::None {
                        "record mode `none` never forwards"
                    } else {
                        "record mode `once` forwards nothing once the cassette exists; use --record-mode new-episodes to add to it"
                    };
                    let report = format!("{report} ({why})");
                    self.tally().unmatched(operation, &slot.name, &report);
                    return self.refuse(operation, "IvsVcrUnmatchedRequestException", report);
                }
                Err(_) => {}
            }
        }
        if !slot.forward {
            let report = format!(
                "no cassette `{}` to replay, and record mode `none` never forwards",
                slot.path.display()
            );
            self.tally().unmatched(operation, &slot.name, &report);
            return self.refuse(operation, "IvsVcrUnmatchedRequestException", report);
        }
        ControlFlow::Continue(())
    }

    /// Stage `forward`: hands the request to the upstream, which signs and sends it. A failure
    /// becomes the answer (see "Upstream faults" in the module doc), tagged with the side that
    /// failed: 504 when upstream was too slow, 502 when it failed otherwise, 500 when we did.
    async fn forward(&self, ctx: &mut RecordCtx) -> Stage {
        let operation = &ctx.operation;
        // Invariant: `replay` answers every request when there is nothing to forward with.
        let Some(upstream) = &self.upstream else {
            return self.refuse(
                operation,
                "IvsVcrUnmatchedRequestException",
                "record mode `none` never forwards".into(),
            );
        };
        let outbound = Outbound {
            service: ctx.downstream.request.service,
            method: &ctx.downstream.request.method,
            path: &ctx.downstream.request.path,
            raw_query: ctx.raw_query.as_deref(),
            content_type: ctx.content_type.as_ref(),
            body: ctx.downstream.raw_body.clone(),
            region: &ctx.region,
            operation,
        };
        match upstream.forward(outbound).await {
            Ok(response) => {
                ctx.upstream = Some(response);
                ControlFlow::Continue(())
            }
            Err(err) => {
                let message = error_chain(&err);
                let (status, error_type) = err.status();
                tracing::warn!(side = %err.side(), operation = %operation, elapsed_ms = ctx.started.elapsed().as_millis() as u64, "{message}");
                self.tally().not_recorded(operation, message.clone());
                ControlFlow::Break(error_response(status, error_type, &message))
            }
        }
    }

    /// Stage `capture`: the interaction to write, cleaned, into `ctx.captured`; left empty when
    /// this answer is not recorded (a 5xx without `record_server_errors`, or something the
    /// secret scan refuses). The answer goes downstream either way.
    fn capture(&self, ctx: &mut RecordCtx) -> Stage {
        // Invariant: `forward` went on only with an answer.
        let upstream = ctx.upstream.as_ref().expect("forward sets the answer");
        let slot = ctx.slot();
        let operation = &ctx.operation;
        let status = upstream.status.as_u16();
        let elapsed_ms = ctx.started.elapsed().as_secs_f64() * 1000.0;
        let error_type = upstream.headers.get("x-amzn-ErrorType");
        if error_type.is_some_and(|t| t.as_bytes() == LOOP_ERROR_TYPE.as_bytes()) {
            let reason = "upstream is a recorder that leads back here (a forwarding loop)";
            tracing::warn!(side = %Side::Upstream, operation = %operation, status, "not recorded: {reason}");
            self.tally().not_recorded(operation, reason.into());
            return ControlFlow::Continue(());
        }
        if upstream.status.is_server_error() && !self.options.record.record_server_errors {
            tracing::warn!(side = %Side::Upstream, operation = %operation, status, elapsed_ms, "not recorded: upstream server error");
            self.tally().not_recorded(
                operation,
                format!("upstream answered {status} (record it with --record-server-errors)"),
            );
            return ControlFlow::Continue(());
        }
        let (matching, scrub) = {
            let data = slot.lock();
            (data.base.matching.clone(), data.base.matching.scrub_account)
        };
        let mut request = ctx.downstream.request.clone();
        request.headers.retain(|name, _| {
            matching
                .headers
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        });
        let mut response = RecordedResponse {
            status,
            headers: BTreeMap::new(),
            body: None,
            body_text: None,
        };
        response.set_body_bytes(&upstream.body);
        for kept in KEPT_RESPONSE_HEADERS {
            if let Some(value) = upstream.headers.get(*kept).and_then(|v| v.to_str().ok()) {
                response
                    .headers
                    .insert((*kept).to_owned(), value.to_owned());
            }
        }
        redact::exchange(&mut request, &mut response, scrub);
        let fingerprint = normalize::fingerprint(&normalize::request(&request, &matching));
        if response.headers.contains_key("x-amzn-RequestId") {
            response.headers.insert(
                "x-amzn-RequestId".into(),
                request_id(&fingerprint, &response),
            );
        }
        let interaction = Interaction { request, response };
        let findings = redact::scan_interaction(0, &interaction);
        if !findings.is_empty() {
            let locations = findings
                .iter()
                .map(|f| format!("{} at `{}`", f.kind, f.location))
                .collect::<Vec<_>>()
                .join("; ");
            let reason = format!("it holds {locations}");
            tracing::error!(side = %Side::Internal, operation = %operation, status, "not recorded: {reason}");
            self.tally().not_recorded(operation, reason);
            return ControlFlow::Continue(());
        }
        tracing::info!(side = %Side::Upstream, operation = %operation, status, region = %ctx.region, cassette = %slot.name, elapsed_ms, "recorded");
        ctx.captured = Some((interaction, fingerprint));
        ControlFlow::Continue(())
    }

    /// Stage `append`: adds what `capture` kept to its cassette, and has the writer write the
    /// file in the background (see `writer`).
    fn append(self: &Arc<Self>, ctx: &mut RecordCtx) -> Stage {
        if let Some((interaction, fingerprint)) = ctx.captured.take() {
            self.append_captured(
                ctx.slot(),
                &ctx.operation,
                ctx.arrived,
                interaction,
                fingerprint,
            );
        }
        ControlFlow::Continue(())
    }
}

/// The upstream answer as the downstream client gets it: status, headers (less hop-by-hop
/// ones) and body, unchanged.
fn downstream_response(upstream: &UpstreamResponse) -> HttpResponse {
    let mut response = Response::new(Full::new(upstream.body.clone()));
    *response.status_mut() = upstream.status;
    for (name, value) in &upstream.headers {
        if !HOP_BY_HOP.contains(&name.as_str()) {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    response
        .headers_mut()
        .insert(MATCH_NAME, HeaderValue::from_static("forwarded"));
    response
}

/// A request id derived from the interaction, shaped like AWS's (a UUID), so that re-recording
/// the same exchange writes the same id.
fn request_id(fingerprint: &Fingerprint, response: &RecordedResponse) -> String {
    let mut hasher = Sha256::new();
    hasher.update(fingerprint.0);
    hasher.update(response.status.to_be_bytes());
    hasher.update(response.body_bytes());
    let hex: String = hasher.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// True for `POST /<Name>` where the name could be an AWS operation: one segment, an uppercase
/// letter followed by letters and digits.
fn is_operation_like(method: &str, path: &str) -> bool {
    let Some(name) = path.strip_prefix('/') else {
        return false;
    };
    method == "POST"
        && name.starts_with(|c: char| c.is_ascii_uppercase())
        && name.len() <= 64
        && name.bytes().all(|b| b.is_ascii_alphanumeric())
}
