//! Replay's per-request stages: `read → (region translation) → lookup → respond → log`.
//!
//! One [`ReplayCtx`] carries what the stages learn about a request. A miss is answered only after
//! the route check, so that a cassette recorded with an operation newer than the catalog still
//! answers; the miss report is built only then, since a miss itself must cost nothing.

use std::net::SocketAddr;
use std::sync::Arc;

use http::{HeaderValue, Request, StatusCode};
use hyper::body::Incoming;

use super::{region, ReplayState};
use crate::cassette::RecordedRequest;
use crate::http::{
    error_response, read_request, route_error_response, Handler, HttpResponse, ReadOptions,
    ReadTimeouts, Side, MATCH_HEADER,
};
use crate::matcher::{Fallback, Hit, Miss};
use crate::{ivs, normalize};

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
}

impl Handler for ReplayState {
    const NAME: &'static str = "replay";

    fn read_timeouts(&self) -> ReadTimeouts {
        self.read_timeouts
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>, _peer: SocketAddr) -> HttpResponse {
        let mut ctx = match self.read(req).await {
            Ok(ctx) => ctx,
            Err(response) => return response,
        };
        match self.lookup(&mut ctx) {
            Ok(hit) => self.respond(&ctx, hit),
            Err(miss) => self.explain(&ctx, miss),
        }
    }
}

impl ReplayState {
    /// Stage `read`: the request, read once, and the cassette its prefix names. An unreadable
    /// request or an unknown cassette is answered here.
    async fn read(&self, req: Request<Incoming>) -> Result<ReplayCtx, HttpResponse> {
        let options = ReadOptions {
            default_region: &self.default_region,
            keep_headers: self.keep_headers,
            body_timeout: self.read_timeouts.body,
        };
        let downstream = read_request(req, options).await?;
        // The operation is worked out only for a span that is on: the hot path skips it otherwise.
        let span = tracing::Span::current();
        if !span.is_disabled() {
            let request = &downstream.request;
            let operation = normalize::operation_name(&request.method, &request.path);
            span.record("operation", operation.as_str());
        }
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
        })
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

    /// Stage `respond`: the prepared answer, with the client's region put back and an answer by
    /// operation marked as such.
    fn respond(&self, ctx: &ReplayCtx, hit: Hit) -> HttpResponse {
        tracing::debug!(
            side = %Side::Downstream,
            method = %ctx.request.method,
            path = %ctx.request.path,
            entry = hit.entry_idx,
            by_operation = hit.by_operation,
            "replayed"
        );
        let prepared = &self.prepared[hit.entry_idx];
        let mut response = prepared.to_response();
        if let Some((home, region)) = &ctx.translation {
            region::translate_answer(&mut response, prepared.body(), home, region);
        }
        if hit.by_operation {
            response
                .headers_mut()
                .insert(MATCH_HEADER, HeaderValue::from_static("operation"));
        }
        response
    }

    /// Stage `log` of a miss: the route check first (a method IVS does not use gets 405, a path
    /// that names no operation 404), else the near-miss report in a 400. Either way the report
    /// is logged at `warn` and kept for the summary.
    fn explain(&self, ctx: &ReplayCtx, miss: Miss) -> HttpResponse {
        let request = &ctx.request;
        let (response, report) = match ivs::check_route(&request.method, &request.path) {
            Err(route) => (route_error_response(&route), route.to_string()),
            Ok(_) => {
                let report = self.index.explain(request, ctx.cassette_idx, &miss);
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
            .add(miss.operation, report);
        response
    }
}
