//! Replay's per-request stages: `read body → flat emulate? → flat lookup? → read → control? →
//! faults → (region translation) → lookup → respond | emulate | explain`.
//!
//! A request of the shape nearly every SDK call has is looked up from its bytes first
//! (`lookup_flat`): a hit is answered without the request being parsed, a miss goes on to be parsed
//! and explained. On a server that only emulates, a Get call by ARN of a stored resource is
//! answered from its bytes the same way (`emulate_flat`). Any other request, or any server that
//! needs more than plain matching, takes the whole way. One [`ReplayCtx`] carries what the stages
//! learn about a request. A control-plane path is answered before anything else; an injected fault
//! comes next, so it is never matched or fed to the emulator. A server without cassettes emulates
//! every request; with cassettes, a miss is emulated only with `OnMiss::Emulate`, and replayed
//! answers feed the emulator's state. A miss is answered only after the route check, so that a
//! cassette recorded with an operation newer than the catalog still answers; the miss report is
//! built only then, since a miss must cost nothing.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use super::{region, OnMiss, ReplayState};
use crate::cassette::RecordedRequest;
use crate::control;
use crate::emulator::Answer;
use crate::http::{
    error_response, inject, read_body, route_error_response, Handler, HttpResponse, RawRequest,
    ReadBody, ReadOptions, ReadTimeouts, Side, MATCH_NAME,
};
use crate::matcher::{Fallback, Hit, Miss};
use crate::{ivs, normalize, redact};

/// What replay knows about one request, filled in by the stages in order.
#[derive(Debug)]
struct ReplayCtx {
    /// The request as read, with the cassette prefix removed.
    request: RecordedRequest,
    /// The cassette a `/cassette/<name>/` prefix selected, by index; `None` means all of them.
    cassette_idx: Option<usize>,
    /// `(home, client region)` when the answer comes from the home region's recordings and is
    /// translated back (see `region`).
    translation: Option<(String, String)>,
    /// The request as received: its body for the control plane, its credential's access key id
    /// for the emulator, read only when the emulator answers (it picks the account).
    raw: RawRequest,
}

impl Handler for ReplayState {
    const NAME: &'static str = "replay";

    fn read_timeouts(&self) -> ReadTimeouts {
        self.read_timeouts
    }

    fn chat(&self) -> Option<&Arc<crate::live::chat::ChatHub>> {
        Some(&self.chat)
    }

    fn handle(
        self: &Arc<Self>,
        req: Request<Incoming>,
        _peer: SocketAddr,
    ) -> impl Future<Output = HttpResponse> + Send {
        Handling {
            state: self,
            read: read_body(req, self.read_timeouts.body),
            whole: None,
        }
    }
}

/// A replayed request's future: the body's read, then the flat stages, answered on the spot;
/// only a request they do not answer puts the other stages' future on the heap
/// ([`ReplayState::answer_whole`]). hyper moves every request's future a few times, and an `async`
/// block holding all the stages (a miss's report, an injected delay) took 1,352 bytes, where this
/// takes 360.
struct Handling<'a> {
    state: &'a Arc<ReplayState>,
    read: ReadBody,
    /// The other stages, once the flat ones have not answered.
    whole: Option<Pin<Box<dyn Future<Output = HttpResponse> + Send>>>,
}

impl Future for Handling<'_> {
    type Output = HttpResponse;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<HttpResponse> {
        let this = self.get_mut();
        if let Some(whole) = &mut this.whole {
            return whole.as_mut().poll(cx);
        }
        let raw = match ready!(Pin::new(&mut this.read).poll(cx)) {
            Ok(raw) => raw,
            Err(response) => return Poll::Ready(response),
        };
        let state = this.state;
        if let Some(response) = state.emulate_flat(&raw) {
            return Poll::Ready(response);
        }
        let flat_miss = match state.lookup_flat(&raw) {
            Some(Ok(response)) => return Poll::Ready(response),
            Some(Err(miss)) => Some(miss),
            None => None,
        };
        let whole = this
            .whole
            .insert(Arc::clone(state).answer_whole(raw, flat_miss));
        whole.as_mut().poll(cx)
    }
}

impl ReplayState {
    /// The stages after the flat ones, for a request they did not answer: `read → control? →
    /// faults → (region translation) → lookup → respond | emulate | explain`. On the heap (see
    /// [`Handling`]). `flat_miss` is the flat lookup's miss, which is explained at once.
    fn answer_whole(
        self: Arc<Self>,
        raw: RawRequest,
        flat_miss: Option<Miss>,
    ) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>> {
        Box::pin(async move {
            let mut ctx = match self.read(raw) {
                Ok(ctx) => ctx,
                Err(response) => return response,
            };
            if let Some(miss) = flat_miss {
                return self.explain(ctx, miss).await;
            }
            if control::is_control(&ctx.request.path) {
                return self.control(&ctx);
            }
            if let Some(response) = self.inject(&ctx).await {
                return response;
            }
            if self.emulates_only() {
                return self.emulate(&ctx);
            }
            match self.lookup(&mut ctx) {
                Ok(hit) => {
                    self.feed(&ctx, hit);
                    let request = (ctx.request.method.as_str(), ctx.request.path.as_str());
                    self.respond(request, ctx.translation.as_ref(), hit)
                }
                Err(_)
                    if self.on_miss == OnMiss::Emulate
                        && ctx
                            .request
                            .service
                            .catalog()
                            .check_route(&ctx.request.method, &ctx.request.path)
                            .is_ok() =>
                {
                    self.emulate(&ctx)
                }
                Err(miss) => self.explain(ctx, miss).await,
            }
        })
    }

    /// Stage `lookup`, before the body is parsed: a request of the shape nearly every SDK call
    /// has (`normalize::flat_request_match_key`) is looked up by the key of its bytes,
    /// and a hit is answered without the request being parsed at all. `None` sends the request
    /// the whole way: when the server has an emulator (to answer misses or to feed), faults to
    /// inject, or a cassette in reach with matching options; when the request is a control call,
    /// names an unknown cassette, comes from a region to translate, or has another shape.
    fn lookup_flat(&self, raw: &RawRequest) -> Option<Result<HttpResponse, Miss>> {
        if self.emulator.is_some() || !self.faults.is_empty() {
            return None;
        }
        let (cassette, path) = raw.cassette_and_path();
        if control::is_control(path) {
            return None;
        }
        let cassette_idx = match cassette {
            None => None,
            Some(name) => Some(self.index.cassette_idx(name)?),
        };
        // One read of the scope for its region and service.
        let scope = raw.scope();
        let region = scope.map_or(&*self.default_region, |(region, _)| region);
        let foreign = self
            .home_region
            .as_deref()
            .is_some_and(|home| region != home && normalize::is_valid_region(region));
        if foreign || !self.index.is_plain(cassette_idx) {
            return None;
        }
        let method = raw.parts.method.as_str();
        let query = raw.parts.uri.query();
        // `/tags/` is never flat (its ARN would be decoded to route it): checked first, so routing
        // below reads only the operation's name.
        if path.starts_with("/tags/") {
            return None;
        }
        let service = ivs::Service::route(scope.and_then(|(_, service)| service), path);
        let key =
            normalize::flat_request_match_key((service, method, path), query, region, &raw.body)?;
        note_operation(method, path);
        let lookup =
            self.index
                .lookup_flat(key, (method, path), cassette_idx, Fallback::AsLevelAllows);
        Some(lookup.map(|hit| self.respond((method, path), None, hit)))
    }

    /// Stage `emulate`, before the body is parsed, on a server that only emulates: a Get call of
    /// a stored resource by its ARN, as SDKs send it, is answered from its bytes
    /// (`Emulator::answer_get`). `None` sends the request the whole way: when there are faults to
    /// inject, a cassette prefix or a query, or the request is anything else, errors included.
    /// The access key id is read only once the request is known to be such a Get, so a request
    /// that goes on has not paid for it; only a Get of a resource that is not stored reads it
    /// again on the whole way, to be answered its error.
    fn emulate_flat(&self, raw: &RawRequest) -> Option<HttpResponse> {
        let emulator = self.emulator.as_ref()?;
        if !self.emulates_only() || !self.faults.is_empty() || raw.parts.uri.query().is_some() {
            return None;
        }
        let (None, path) = raw.cassette_and_path() else {
            return None;
        };
        if control::is_control(path) {
            return None;
        }
        let method = raw.parts.method.as_str();
        let scope = || {
            let scope = raw.scope();
            (
                scope.map_or(&*self.default_region, |(region, _)| region),
                scope.and_then(|(_, service)| service),
            )
        };
        // The key, once read, is kept for the count of the answer's account.
        let mut access_key = None;
        let answer = emulator.answer_get((method, path), &raw.body, scope, || {
            access_key = raw.access_key();
            access_key.clone()
        })?;
        note_operation(method, path);
        Some(self.answer_emulated(&answer, emulator.account_of(access_key.as_deref())))
    }

    /// Stage `read`: the request parsed, and the cassette its prefix names. A body that is not
    /// JSON or an unknown cassette is answered here.
    #[expect(
        clippy::result_large_err,
        reason = "the error is an answer, as `read_request`'s is; the request is larger still"
    )]
    fn read(&self, raw: RawRequest) -> Result<ReplayCtx, HttpResponse> {
        let options = ReadOptions {
            default_region: &self.default_region,
            keep_headers: self.keep_headers,
            body_timeout: self.read_timeouts.body,
        };
        let downstream = raw.parse(options)?;
        note_operation(&downstream.request.method, &downstream.request.path);
        let cassette_idx = match downstream.cassette.as_deref() {
            None => None,
            Some(name) => match self.index.cassette_idx(name) {
                Some(idx) => Some(idx),
                None => {
                    let message = format!(
                        "no cassette named `{name}`; loaded: {}",
                        self.index.cassette_names.join(", ")
                    );
                    tracing::warn!(side = %Side::Downstream, "{message}");
                    return Err(error_response(
                        StatusCode::BAD_REQUEST,
                        "IvsVcrUnknownCassetteException",
                        &message,
                    ));
                }
            },
        };
        Ok(ReplayCtx {
            request: downstream.request,
            cassette_idx,
            translation: None,
            raw,
        })
    }

    /// Stage `control`: a `/_ivs-vcr/…` call, answered by the control plane.
    fn control(&self, ctx: &ReplayCtx) -> HttpResponse {
        let response = control::handle(
            self,
            &ctx.request.method,
            &ctx.request.path,
            &ctx.request.query,
            &ctx.raw.body,
        );
        tracing::debug!(side = %Side::Downstream, path = %ctx.request.path, status = response.status().as_u16(), "control");
        response
    }

    /// Stage `faults`: an injected fault for this request, if a rule fires (see `http::inject`).
    async fn inject(&self, ctx: &ReplayCtx) -> Option<HttpResponse> {
        if self.faults.is_empty() {
            return None;
        }
        let operation = normalize::operation_name(&ctx.request.method, &ctx.request.path);
        // Read only for a rule that names an account and applies to the operation.
        let account = || {
            let access_key = ctx.raw.access_key();
            crate::emulator::account_of(&self.accounts, access_key.as_deref()).to_owned()
        };
        let response = inject(&self.faults, ctx.request.service, &operation, account).await?;
        // Read only for a fault that fires: the account it is counted in.
        let access_key = ctx.raw.access_key();
        let account = (self.emulator.as_ref()).map(|e| e.account_of(access_key.as_deref()));
        (self.faulted.lock().unwrap_or_else(|p| p.into_inner())).add(operation, account);
        Some(response)
    }

    /// Stage `emulate`: the emulator answers, as IVS would.
    fn emulate(&self, ctx: &ReplayCtx) -> HttpResponse {
        // Invariant: `handle` calls this only when the server has an emulator.
        let emulator = self
            .emulator
            .as_ref()
            .expect("an emulating server has an emulator");
        let request = &ctx.request;
        let access_key = ctx.raw.access_key();
        let Some(answer) = emulator.answer(request, access_key.as_deref()) else {
            let route = request
                .service
                .catalog()
                .check_route(&request.method, &request.path)
                .expect_err("the emulator answers every IVS route");
            tracing::warn!(side = %Side::Downstream, "{route}");
            return route_error_response(&route);
        };
        self.answer_emulated(&answer, emulator.account_of(access_key.as_deref()))
    }

    /// An emulator answer in `account`, logged, counted for the summary and made HTTP.
    fn answer_emulated(&self, answer: &Answer, account: &str) -> HttpResponse {
        tracing::debug!(side = %Side::Downstream, status = answer.status, error = answer.error, "emulated");
        if let Some(idx) = ivs::service::operation_index(answer.operation) {
            (self.emulated.lock().unwrap_or_else(|p| p.into_inner())).add(account, idx);
        }
        emulated_response(answer)
    }

    /// Feeds a replayed answer to the emulator, when there is one, so that what a cassette
    /// created is there for the requests it emulates.
    fn feed(&self, ctx: &ReplayCtx, hit: Hit) {
        if let Some(emulator) = &self.emulator {
            let prepared = &self.prepared[hit.entry_idx];
            emulator.observe(&ctx.request, prepared.status().as_u16(), prepared.body());
        }
    }

    /// Stage `lookup`: the interaction that answers. A client of another region is first
    /// answered from its own region's recordings; only when none answers exactly is it served
    /// from the home region's (the bundled set's), with the answer translated back. Only a
    /// well-formed region is substituted into answers.
    fn lookup(&self, ctx: &mut ReplayCtx) -> Result<Hit, Miss> {
        let request = &ctx.request;
        let foreign_home = self
            .home_region
            .as_deref()
            .filter(|home| request.region != *home && normalize::is_valid_region(&request.region));
        let Some(home) = foreign_home else {
            return self
                .index
                .lookup(request, ctx.cassette_idx, Fallback::AsLevelAllows);
        };
        self.index
            .lookup(request, ctx.cassette_idx, Fallback::ExactOnly)
            .or_else(|_| {
                let mut translated = request.clone();
                translated.region = home.to_owned();
                region::translate_request(&mut translated, &request.region, home);
                let hit =
                    self.index
                        .lookup(&translated, ctx.cassette_idx, Fallback::AsLevelAllows)?;
                ctx.translation = Some((home.to_owned(), request.region.clone()));
                Ok(hit)
            })
    }

    /// Stage `respond`: the prepared answer to `(method, path)`, with the client's region put
    /// back (`translation`: home and client region) and an answer by operation marked as such.
    fn respond(
        &self,
        (method, path): (&str, &str),
        translation: Option<&(String, String)>,
        hit: Hit,
    ) -> HttpResponse {
        tracing::debug!(
            side = %Side::Downstream,
            method,
            path,
            entry = hit.entry_idx,
            by_operation = hit.by_operation,
            "replayed"
        );
        let prepared = &self.prepared[hit.entry_idx];
        let mut response = prepared.to_response();
        if let Some((home, region)) = translation {
            region::translate_answer(&mut response, prepared.body(), home, region);
        }
        if hit.by_operation {
            response
                .headers_mut()
                .insert(MATCH_NAME, HeaderValue::from_static("operation"));
        }
        response
    }

    /// Stage `log` of a miss: the route check first (a method IVS does not use gets 405, a path
    /// that names no operation 404), else the near-miss report in a 400. Either way the report
    /// is logged at `warn` and kept for the summary.
    ///
    /// The report compares the request with recorded interactions, which costs CPU in proportion
    /// to the request's body (bounded in `matcher`), so it runs on the blocking pool, at most
    /// `EXPLAIN_CONCURRENCY` at a time: hostile misses queue behind each other and never hold
    /// the workers that answer everyone else.
    async fn explain(self: Arc<Self>, ctx: ReplayCtx, miss: Miss) -> HttpResponse {
        let route = ctx
            .request
            .service
            .catalog()
            .check_route(&ctx.request.method, &ctx.request.path);
        let (response, report) = match route {
            Err(route) => (
                route_error_response(&route),
                redact::printable(&route.to_string()).into_owned(),
            ),
            Ok(_) => {
                // Invariant: the semaphore is never closed.
                let permit = self
                    .explaining
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the explain semaphore is never closed");
                let state = self.clone();
                let request = ctx.request.clone();
                let (cassette_idx, for_report) = (ctx.cassette_idx, miss.clone());
                let report = tokio::task::spawn_blocking(move || {
                    let _permit = permit;
                    state.index.explain(&request, cassette_idx, &for_report)
                })
                .await
                .unwrap_or_else(|err| {
                    format!("{}: no recorded interaction ({err})", miss.operation)
                });
                let response = error_response(
                    StatusCode::BAD_REQUEST,
                    "IvsVcrUnmatchedRequestException",
                    &report,
                );
                (response, report)
            }
        };
        tracing::warn!(side = %Side::Downstream, "{report}");
        self.unmatched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(
                miss.operation,
                ctx.cassette_idx
                    .map(|idx| self.index.cassette_names[idx].clone()),
                report,
            );
        response
    }
}

/// Names the request's operation in its span, when the span is on: the hot path skips working it
/// out otherwise.
fn note_operation(method: &str, path: &str) {
    let span = tracing::Span::current();
    if !span.is_disabled() {
        let operation = normalize::operation_name(method, path);
        span.record("operation", operation.as_str());
    }
}

/// The HTTP form of an emulator answer, marked `x-ivs-vcr-match: emulated`.
fn emulated_response(answer: &Answer) -> HttpResponse {
    let (status, headers, body) = crate::emulator::http_parts(answer, Some("emulated"));
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
}
