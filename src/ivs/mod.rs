//! The catalogs of the IVS family (IVS, IVS Chat, IVS Real-Time; [`Service`], [`Catalog`]), and
//! at the root the IVS catalog: every operation of API 2020-07-14 with its route, success status, input and
//! output shapes, modeled errors and pagination; every shape with its constraints (required
//! members, enums, lengths, patterns, ranges, list and map sizes) and the defaults IVS documents;
//! and which body members are secret.
//!
//! Nothing here is kept by hand: `build.rs` generates the tables from AWS's own service model
//! (`src/ivs/model/ivs.json`, botocore 1.44.8) and its paginators, so a new model is a new file,
//! not an edit. `normalize` uses the catalog to name operations, `redact` to find secrets, the
//! servers to answer an unknown route with a well-formed error, and the emulator to validate
//! requests and shape its answers ([`shape`]).

pub mod arn;
pub mod service;
pub mod shape;
pub mod validate;

pub use service::{Catalog, Service};
pub use shape::{Default, Kind, Location, Member, Shape, ShapeId};

/// How an operation is addressed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /<OperationName>` with a JSON body.
    Post,
    /// `/tags/{resourceArn}` with the ARN percent-encoded as one path label.
    Tags,
}

/// One operation of a service of the family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// The service whose model declares it.
    pub service: Service,
    /// The operation name, e.g. `CreateChannel`.
    pub name: &'static str,
    /// The HTTP method.
    pub method: &'static str,
    /// How the path is built.
    pub route: Route,
    /// The status of a successful answer (200, or 204 for the no-output operations).
    pub success_status: u16,
    /// The errors the model lists for the operation.
    pub errors: &'static [ErrorType],
    /// The input shape, if the operation takes one.
    pub input: Option<ShapeId>,
    /// The output shape, if the operation answers with a body.
    pub output: Option<ShapeId>,
    /// How the operation pages its results, if it does (from the model's paginators).
    pub pagination: Option<Pagination>,
}

/// The members through which an operation pages (botocore's paginator entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// The request member carrying the token of the page to read.
    pub input_token: &'static str,
    /// The response member carrying the token of the next page.
    pub output_token: &'static str,
    /// The request member bounding a page's size.
    pub limit_key: &'static str,
    /// The response member holding the page's items.
    pub result_key: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/ivs_model.rs"));

impl ErrorType {
    /// Looks an error up by the name in `x-amzn-ErrorType` (anything after `:` is ignored, as SDKs do).
    pub fn from_name(name: &str) -> Option<ErrorType> {
        let name = name.split(':').next().unwrap_or(name);
        ErrorType::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// Looks an IVS operation up by name.
pub fn operation(name: &str) -> Option<&'static Operation> {
    Service::Ivs.catalog().operation(name)
}

/// The name among `candidates` that `name` most likely misspells, for a "did you mean": one that
/// differs only in case; else the one nearest by edit distance (ignoring case), if it is the only
/// one that near and within a quarter of the name's length (at least one edit); else the only one
/// that begins with `name` (`Throttling` for `ThrottlingException`). None when nothing is near
/// enough to be a guess worth printing.
pub fn nearest_name<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&str> = candidates.into_iter().collect();
    if let Some(same) = candidates.iter().find(|c| c.eq_ignore_ascii_case(name)) {
        return Some(same);
    }
    let lower = name.to_ascii_lowercase();
    let budget = (name.len() / 4).max(1);
    let mut best: Option<(usize, Option<&str>)> = None;
    for candidate in &candidates {
        let distance = edit_distance(&lower, &candidate.to_ascii_lowercase());
        best = match best {
            Some((d, _)) if distance == d => Some((d, None)),
            Some((d, found)) if distance > d => Some((d, found)),
            _ => Some((distance, Some(candidate))),
        };
    }
    if let Some((distance, Some(found))) = best {
        if distance <= budget {
            return Some(found);
        }
    }
    let mut prefixed = candidates
        .iter()
        .filter(|c| name.len() >= 4 && c.to_ascii_lowercase().starts_with(&lower));
    match (prefixed.next(), prefixed.next()) {
        (Some(only), None) => Some(only),
        _ => None,
    }
}

/// Levenshtein distance over bytes: the names compared are ASCII.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substituted = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substituted.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Looks an operation of any service up by its `POST /<name>` route (names do not overlap across
/// services), or an IVS tag operation by name.
pub fn any_operation(name: &str) -> Option<&'static Operation> {
    post_operation_service(name)
        .unwrap_or(Service::Ivs)
        .catalog()
        .operation(name)
}

/// The IVS tag operation a method selects on the `/tags/{resourceArn}` route (the three services
/// name theirs alike).
pub fn tags_operation(method: &str) -> Option<&'static Operation> {
    Service::Ivs.catalog().tags_operation(method)
}

/// Why a method and path are not a route of the service they were routed to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The method is not one the service uses on this path.
    #[error("{service} does not use `{method}` on `{path}`: it takes {allow_text} there", allow_text = allow_text(allow))]
    MethodNotAllowed {
        /// The service the request was routed to.
        service: Service,
        /// The method of the request.
        method: String,
        /// The path of the request.
        path: String,
        /// The methods IVS uses on this path, as the `Allow` header lists them.
        allow: &'static str,
    },
    /// `/tags/` without a resource ARN.
    #[error("`{method} {path}` names no resource: {service} expects `/tags/<resourceArn>`, with the ARN percent-encoded as one path segment")]
    MissingArn {
        /// The service the request was routed to.
        service: Service,
        /// The method of the request.
        method: String,
        /// The path of the request.
        path: String,
    },
    /// The path names no operation of the service.
    #[error("`{method} {path}` is not an {service} operation{}; {service} accepts `POST /<Operation>` for its {} operations (such as `POST /{}`), and `GET`, `POST` or `DELETE` on `/tags/<resourceArn>`", did_you_mean(*.suggestion), service.catalog().operations.len(), service.catalog().example)]
    UnknownOperation {
        /// The service the request was routed to.
        service: Service,
        /// The method of the request.
        method: String,
        /// The path of the request.
        path: String,
        /// An operation whose name differs only in case, if there is one.
        suggestion: Option<&'static str>,
    },
}

/// The methods of the `/tags/{resourceArn}` route.
pub(crate) const TAGS_ALLOW: &str = "GET, POST, DELETE";

fn allow_text(allow: &str) -> String {
    allow
        .split(", ")
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|name| format!(" (did you mean `POST /{name}`?)"))
        .unwrap_or_default()
}

/// The IVS operation a method and raw path address, or why they address none.
///
/// Replay calls this only for a request nothing matched, so that a cassette recorded with an
/// operation newer than this catalog still answers; the error then replaces the near-miss report,
/// which would only confuse (the nearest interaction of a misspelt operation is some other one).
pub fn check_route(method: &str, raw_path: &str) -> Result<&'static Operation, RouteError> {
    Service::Ivs.catalog().check_route(method, raw_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_name_guesses_case_typos_and_prefixes_but_not_wild_names() {
        let names = [
            "GetChannel",
            "GetStream",
            "ThrottlingException",
            "ValidationException",
        ];
        let check = |name: &str, expected: Option<&str>| {
            assert_eq!(nearest_name(name, names), expected, "{name}");
        };
        check("getchannel", Some("GetChannel"));
        check("GetChanel", Some("GetChannel"));
        check("GetStreams", Some("GetStream"));
        check("ThrottlingExeption", Some("ThrottlingException"));
        check("Throttling", Some("ThrottlingException"));
        check("validation", Some("ValidationException"));
        check("Nope", None);
        check("Get", None);
        check("Throttled", None);
    }

    #[test]
    fn operations_are_sorted_for_binary_search() {
        assert!(OPERATIONS.windows(2).all(|w| w[0].name < w[1].name));
        assert_eq!(OPERATIONS.len(), 46);
        assert_eq!(operation("PutMetadata").unwrap().success_status, 204);
        assert_eq!(operation("Nope"), None);
    }

    #[test]
    fn routes_are_checked_against_the_catalog() {
        let check = |method: &str, path: &str, expected: Result<&str, &str>| {
            let got = check_route(method, path)
                .map(|op| op.name)
                .map_err(|e| e.to_string());
            let expected = expected.map_err(str::to_owned);
            assert_eq!(got, expected, "{method} {path}");
        };
        check("POST", "/GetChannel", Ok("GetChannel"));
        check("GET", "/tags/arn%3Ax", Ok("ListTagsForResource"));
        check("DELETE", "/tags/arn%3Ax", Ok("UntagResource"));
        check(
            "PUT",
            "/GetChannel",
            Err("IVS does not use `PUT` on `/GetChannel`: it takes `POST` there"),
        );
        check(
            "PATCH",
            "/tags/arn%3Ax",
            Err("IVS does not use `PATCH` on `/tags/arn%3Ax`: it takes `GET`, `POST`, `DELETE` there"),
        );
        check(
            "POST",
            "/tags/",
            Err("`POST /tags/` names no resource: IVS expects `/tags/<resourceArn>`, with the ARN percent-encoded as one path segment"),
        );
        check(
            "POST",
            "/NotAnOperation",
            Err("`POST /NotAnOperation` is not an IVS operation; IVS accepts `POST /<Operation>` for its 46 operations (such as `POST /GetChannel`), and `GET`, `POST` or `DELETE` on `/tags/<resourceArn>`"),
        );
        check(
            "POST",
            "/getchannel",
            Err("`POST /getchannel` is not an IVS operation (did you mean `POST /GetChannel`?); IVS accepts `POST /<Operation>` for its 46 operations (such as `POST /GetChannel`), and `GET`, `POST` or `DELETE` on `/tags/<resourceArn>`"),
        );
        for (method, path) in [("GET", "/"), ("POST", "/tags"), ("POST", "/GetChannel/x")] {
            assert!(
                matches!(
                    check_route(method, path),
                    Err(RouteError::UnknownOperation { .. })
                ),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn error_names_round_trip_and_drop_the_coral_suffix() {
        for e in ErrorType::ALL {
            assert_eq!(ErrorType::from_name(e.name()), Some(e));
        }
        assert_eq!(
            ErrorType::from_name("ResourceNotFoundException:http://internal.amazon.com/coral/"),
            Some(ErrorType::ResourceNotFoundException)
        );
    }
}
