//! `ivs-vcr verify`: plays each cassette's requests, in order, against a target (the emulator,
//! any IVS-compatible URL, or real IVS through record's signing and region routing), and reports
//! where the target's answers differ from the recorded ones, with the diff engine.
//!
//! A target mints its own ids, so the recorded ones would name nothing there. [`IdMap`] learns,
//! answer by answer, which target id stands for which recorded one (the ARN a create returned is
//! the ARN later requests use): requests are rewritten with the target's ids before they are
//! sent, and answers with the recorded ids after, so that what is left to compare is IVS's
//! behaviour. The answers form a second cassette set, compared with the recorded one by
//! `diff::diff_with`: shape, status and error type; ids, times and request ids never count.
//!
//! Each cassette starts on an empty emulator, in the account its ARNs name; a URL target is used
//! as it is. A recording cannot show what its account held before it began, nor that an encoder
//! was streaming, so against the emulator `verify` supplies both (`seed.rs`): a resource a
//! request uses that the flow never created is seeded from the recorded answers that show it,
//! and a channel the recording found live is taken live first, as an encoder would have.
//!
//! Not every recorded request is played (`guard.rs`): one that is no IVS operation goes to no
//! target, and against AWS, where the operator's credentials sign it, only what acts on resources
//! the run created is sent, unless [`VerifyOptions::allow_foreign_resources`]. A skipped request
//! is left out of both sides of the diff and listed in [`Verified::skipped`] with its reason.

mod guard;
mod ids;
mod seed;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use http::HeaderValue;
use serde_json::Value;

use crate::cassette::{Cassette, Interaction, RecordedRequest, RecordedResponse};
use crate::emulator::{Emulator, EmulatorOptions};
use crate::normalize;
use crate::upstream::{Outbound, Upstream, UpstreamResponse};

pub use guard::{Skip, Skipped};
pub use ids::IdMap;

/// What `ivs-vcr verify --against` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Against {
    /// A fresh emulator per cassette.
    Emulator,
    /// An IVS-compatible endpoint (`{region}` is substituted), signed with fixed test
    /// credentials, never the operator's.
    Url(String),
    /// Real IVS at `https://ivs.<region>.amazonaws.com`, signed with the operator's credentials,
    /// as `record` forwards.
    Aws,
}

/// How `verify` runs, beside its target.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// What the diff reports.
    pub diff: crate::diff::DiffOptions,
    /// With [`Against::Aws`]: another endpoint template in place of AWS's (`record --upstream`),
    /// for a local stand-in that checks signatures.
    pub upstream: Option<String>,
    /// With [`Against::Aws`]: also send requests that act on resources this run did not create
    /// (resources the cassette names, or that the account already held), in any region. A
    /// cassette from elsewhere can then delete or change anything the credentials reach.
    pub allow_foreign_resources: bool,
}

impl std::str::FromStr for Against {
    type Err = String;

    fn from_str(text: &str) -> Result<Against, String> {
        match text {
            "emulator" => Ok(Against::Emulator),
            "aws" => Ok(Against::Aws),
            url if url.starts_with("http://") || url.starts_with("https://") => {
                Ok(Against::Url(url.to_owned()))
            }
            other => Err(format!(
                "`{other}` is not a target: use `emulator`, `aws`, or an http(s):// URL"
            )),
        }
    }
}

/// Why `verify` could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The target URL is not usable.
    #[error(transparent)]
    Endpoint(#[from] crate::upstream::UpstreamError),
    /// Credentials could not be loaded (for `aws`).
    #[error(transparent)]
    Sign(#[from] crate::upstream::SignError),
}

/// What `verify` found: the drift report and the requests no answer came back for.
#[derive(Debug)]
pub struct Verified {
    /// Recorded answers against the target's, by the diff engine.
    pub report: crate::diff::DiffReport,
    /// Requests whose exchange failed (the target unreachable, a timeout), one line each.
    pub transport_errors: Vec<String>,
    /// How many requests were played.
    pub n_requests: usize,
    /// The requests that were not sent, with the reason (see the module doc); the diff leaves
    /// them out on both sides.
    pub skipped: Vec<Skipped>,
}

/// Plays `recorded` against `against` and compares the answers (see the module doc).
/// `progress(name, n, total)` is called before each cassette.
pub async fn run(
    recorded: &[(PathBuf, Cassette)],
    against: &Against,
    options: &VerifyOptions,
    progress: impl FnMut(&str, usize, usize),
) -> Result<Verified, VerifyError> {
    let target = match against {
        Against::Emulator => Target::Emulator(EmulatorOptions::default()),
        Against::Url(url) => {
            // Fixed test credentials, never the operator's: a URL target is a stand-in, not an
            // account, and the operator's credentials go only where `--against aws` sends them
            // (AWS, or the `--upstream` the operator names for it).
            let provider = aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_credential_types::Credentials::new(
                    "AKIAIVSVCRVERIFY0000",
                    "ivs-vcr-verify-test-secret",
                    None,
                    None,
                    "ivs-vcr verify",
                ),
            );
            Target::Upstream(Arc::new(crate::upstream::Aws {
                endpoint: crate::upstream::Endpoint::parse(url)?,
                signer: crate::upstream::sigv4::Signer::new(provider),
                client: crate::upstream::HttpsClient::new(Default::default())?,
            }))
        }
        Against::Aws => {
            let provider = crate::upstream::sigv4::default_credentials()
                .await
                .ok_or(crate::upstream::SignError::NoCredentials)?;
            let signer = crate::upstream::sigv4::Signer::new(provider);
            signer.check().await?;
            let endpoint = match &options.upstream {
                Some(url) => crate::upstream::Endpoint::parse(url)?,
                None => crate::upstream::Endpoint::default(),
            };
            Target::Upstream(Arc::new(crate::upstream::Aws {
                endpoint,
                signer,
                client: crate::upstream::HttpsClient::new(Default::default())?,
            }))
        }
    };
    let guard = Guard {
        foreign: *against == Against::Aws && !options.allow_foreign_resources,
    };
    let played = play(recorded, &target, guard, progress).await;
    let mut transport_errors = Vec::new();
    let mut skipped = Vec::new();
    let mut answers = Vec::with_capacity(played.len());
    let mut sent = Vec::with_capacity(played.len());
    for ((path, p), (_, cassette)) in played.into_iter().zip(recorded) {
        transport_errors.extend(p.transport_errors);
        // The recorded side loses what was not sent, so a skip is never reported as drift.
        let mut cassette = cassette.clone();
        let mut idx = 0;
        cassette.interactions.retain(|_| {
            idx += 1;
            !p.skipped.iter().any(|s| s.interaction_idx == idx - 1)
        });
        skipped.extend(p.skipped);
        sent.push((path.clone(), cassette));
        answers.push((path, p.cassette));
    }
    Ok(Verified {
        report: crate::diff::diff_with(&sent, &answers, &options.diff),
        transport_errors,
        n_requests: sent.iter().map(|(_, c)| c.interactions.len()).sum(),
        skipped,
    })
}

/// Which checks a request meets before it is sent, beside the route check every target gets.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Guard {
    /// Send only what acts on resources the run created, in its region (`guard::foreign`).
    pub foreign: bool,
}

/// Where `verify` plays the recorded requests.
pub(crate) enum Target {
    /// A fresh in-process emulator per cassette.
    Emulator(EmulatorOptions),
    /// An upstream: a URL (signed with the chain's or test credentials) or AWS itself.
    Upstream(Arc<dyn Upstream>),
}

/// What playing one cassette gave: the target's answers, as a cassette (skipped requests left
/// out), the requests whose exchange failed, and the requests not sent.
pub(crate) struct Played {
    pub cassette: Cassette,
    pub transport_errors: Vec<String>,
    pub skipped: Vec<Skipped>,
}

/// Plays every cassette against `target` and returns the target's answers as cassettes with the
/// same paths and names.
pub(crate) async fn play(
    recorded: &[(PathBuf, Cassette)],
    target: &Target,
    guard: Guard,
    mut progress: impl FnMut(&str, usize, usize),
) -> Vec<(PathBuf, Played)> {
    let mut out = Vec::with_capacity(recorded.len());
    for (n, (path, cassette)) in recorded.iter().enumerate() {
        progress(&cassette.name, n + 1, recorded.len());
        let played = match target {
            Target::Emulator(options) => {
                let mut options = options.clone();
                if let Some(account) = seed::account_of(cassette) {
                    options.account = account;
                }
                let emulator = EmulatorUpstream(Emulator::new(options));
                play_one(cassette, &emulator, Some(&emulator.0), guard).await
            }
            Target::Upstream(upstream) => play_one(cassette, upstream.as_ref(), None, guard).await,
        };
        out.push((path.clone(), played));
    }
    out
}

async fn play_one(
    recorded: &Cassette,
    target: &dyn Upstream,
    emulator: Option<&Emulator>,
    guard: Guard,
) -> Played {
    let mut ids = IdMap::default();
    let mut seeder = seed::Seeder::default();
    let mut interactions = Vec::with_capacity(recorded.interactions.len());
    let mut transport_errors = Vec::new();
    let mut skipped = Vec::new();
    // The first request that is an IVS operation sets the region; one that goes nowhere must not.
    let run_region = recorded
        .interactions
        .iter()
        .find(|i| guard::route(&i.request).is_none())
        .map(|i| i.request.region.clone())
        .unwrap_or_default();
    for (interaction_idx, interaction) in recorded.interactions.iter().enumerate() {
        let request = ids.request_to_target(&interaction.request);
        let operation = normalize::operation_name(&request.method, &request.path);
        let skip = guard::route(&request).or_else(|| {
            guard
                .foreign
                .then(|| guard::foreign(&request, &operation, &ids, &run_region))
                .flatten()
        });
        if let Some(reason) = skip {
            // The caller lists skips (`Verified::skipped`); the CLI prints them once.
            tracing::debug!(
                cassette = %crate::redact::printable(&recorded.name),
                interaction_idx,
                "not sent: {reason}"
            );
            skipped.push(Skipped {
                cassette: recorded.name.clone(),
                interaction_idx,
                method: interaction.request.method.clone(),
                path: interaction.request.path.clone(),
                reason,
            });
            continue;
        }
        if let Some(emulator) = emulator {
            seeder.prepare(emulator, recorded, interaction, &mut ids);
        }
        // Seeding may have paired ids, so the request is rewritten again.
        let request = ids.request_to_target(&interaction.request);
        let body = request
            .body
            .as_ref()
            .map(|b| Bytes::from(b.to_string()))
            .unwrap_or_default();
        let query = raw_query(&request);
        let content_type = HeaderValue::from_static("application/json");
        let outbound = Outbound {
            service: request.service,
            method: &request.method,
            path: &request.path,
            raw_query: query.as_deref(),
            content_type: request.body.as_ref().map(|_| &content_type),
            body,
            region: &request.region,
            operation: &operation,
        };
        let response = match target.forward(outbound).await {
            Ok(answer) => answer_of(answer),
            Err(err) => {
                transport_errors.push(format!("{} #{}: {err}", recorded.name, interactions.len()));
                RecordedResponse {
                    status: err.status().0.as_u16(),
                    headers: [("x-amzn-ErrorType".to_owned(), err.status().1.to_owned())].into(),
                    body: None,
                    body_text: None,
                }
            }
        };
        if ["Create", "Import"]
            .iter()
            .any(|prefix| operation.starts_with(prefix))
        {
            ids.learn_created(&response);
        }
        ids.learn(&interaction.response, &response);
        let mut response = ids.response_to_recorded(response);
        if emulator.is_some() {
            seed::drop_added_message(&interaction.response, &mut response);
        }
        interactions.push(Interaction {
            request: interaction.request.clone(),
            response,
        });
    }
    let mut cassette = recorded.clone();
    cassette.interactions = interactions;
    Played {
        cassette,
        transport_errors,
        skipped,
    }
}

/// The query as it travels: `k=v&k=v`, values percent-encoded.
fn raw_query(request: &RecordedRequest) -> Option<String> {
    if request.query.is_empty() {
        return None;
    }
    let pairs: Vec<String> = request
        .query
        .iter()
        .flat_map(|(k, values)| {
            values.iter().map(move |v| {
                format!(
                    "{}={}",
                    percent_encoding::utf8_percent_encode(k, ids::COMPONENT),
                    percent_encoding::utf8_percent_encode(v, ids::COMPONENT)
                )
            })
        })
        .collect();
    Some(pairs.join("&"))
}

/// A target's answer as a cassette response: status, the headers that are IVS's own, and the
/// body (JSON, or text when it is not).
fn answer_of(answer: UpstreamResponse) -> RecordedResponse {
    let headers = answer
        .headers
        .iter()
        .filter(|(name, _)| !normalize::VOLATILE_HEADERS.contains(&name.as_str()))
        .filter(|(name, _)| {
            !matches!(
                name.as_str(),
                "date" | "content-length" | "connection" | "x-ivs-vcr-match" | "x-ivs-vcr-source"
            )
        })
        .filter_map(|(name, value)| {
            Some((header_case(name.as_str()), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let (body, body_text) = if answer.body.is_empty() {
        (None, None)
    } else {
        match serde_json::from_slice::<Value>(&answer.body) {
            Ok(json) => (Some(json), None),
            Err(_) => (
                None,
                Some(String::from_utf8_lossy(&answer.body).into_owned()),
            ),
        }
    };
    RecordedResponse {
        status: answer.status.as_u16(),
        headers,
        body,
        body_text,
    }
}

/// HTTP/1 header names arrive lowercased; cassettes write IVS's headers as IVS names them (the
/// header members of the model, as the emulator sends them, and the three every answer has).
fn header_case(name: &str) -> String {
    ["Content-Type", "x-amzn-RequestId", "x-amzn-ErrorType"]
        .into_iter()
        .chain(crate::http::IVS_HEADERS.iter().map(|(known, _)| *known))
        .find(|known| known.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_owned(), str::to_owned)
}

/// The emulator as an upstream: answers in-process, as IVS would over the wire.
#[derive(Debug)]
pub(crate) struct EmulatorUpstream(pub Emulator);

impl Upstream for EmulatorUpstream {
    fn forward<'a>(
        &'a self,
        request: Outbound<'a>,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<UpstreamResponse, crate::upstream::ForwardError>,
                > + Send
                + 'a,
        >,
    > {
        Box::pin(async move {
            let body = if request.body.is_empty() {
                None
            } else {
                serde_json::from_slice(&request.body).ok()
            };
            let recorded = RecordedRequest {
                service: request.service,
                method: request.method.to_owned(),
                path: request.path.to_owned(),
                query: request
                    .raw_query
                    .map(normalize::parse_query)
                    .unwrap_or_default(),
                region: request.region.to_owned(),
                headers: Default::default(),
                body,
            };
            let response = match self.0.answer(&recorded, None) {
                Some(answer) => crate::emulator::http_parts(&answer, None),
                None => {
                    let route = request
                        .service
                        .catalog()
                        .check_route(request.method, request.path)
                        .expect_err("the emulator answers every IVS route");
                    let response = crate::http::route_error_response(&route);
                    let (parts, body) = response.into_parts();
                    let body = http_body_util::BodyExt::collect(body)
                        .await
                        .map(|c| c.to_bytes())
                        .unwrap_or_default();
                    (parts.status, parts.headers, body)
                }
            };
            Ok(UpstreamResponse {
                status: response.0,
                headers: response.1,
                body: response.2,
            })
        })
    }
}
