//! The IVS catalog: every operation of API 2020-07-14, its route, success status and modeled
//! errors, and which request and response members are secret.
//!
//! Generated once from AWS's botocore model (botocore 1.44.8, 46 operations) and kept by hand since:
//! the model is the source of truth, and `tests/ivs_catalog.rs` checks this table against it.
//! `normalize` uses it to name operations, `redact` to find secrets, and the replay server to
//! answer an unknown route with a well-formed error.

use ErrorType::*;

/// How an operation is addressed on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /<OperationName>` with a JSON body.
    Post,
    /// `/tags/{resourceArn}` with the ARN percent-encoded as one path label.
    Tags,
}

/// One IVS operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
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
}

/// The error shapes of the IVS model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs, clippy::enum_variant_names)]
pub enum ErrorType {
    AccessDeniedException,
    ChannelNotBroadcasting,
    ConflictException,
    InternalServerException,
    PendingVerification,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ServiceUnavailable,
    StreamUnavailable,
    ThrottlingException,
    ValidationException,
}

impl ErrorType {
    /// Every error shape.
    pub const ALL: [ErrorType; 11] = [
        AccessDeniedException,
        ChannelNotBroadcasting,
        ConflictException,
        InternalServerException,
        PendingVerification,
        ResourceNotFoundException,
        ServiceQuotaExceededException,
        ServiceUnavailable,
        StreamUnavailable,
        ThrottlingException,
        ValidationException,
    ];

    /// The name sent in `x-amzn-ErrorType`.
    pub fn name(self) -> &'static str {
        match self {
            AccessDeniedException => "AccessDeniedException",
            ChannelNotBroadcasting => "ChannelNotBroadcasting",
            ConflictException => "ConflictException",
            InternalServerException => "InternalServerException",
            PendingVerification => "PendingVerification",
            ResourceNotFoundException => "ResourceNotFoundException",
            ServiceQuotaExceededException => "ServiceQuotaExceededException",
            ServiceUnavailable => "ServiceUnavailable",
            StreamUnavailable => "StreamUnavailable",
            ThrottlingException => "ThrottlingException",
            ValidationException => "ValidationException",
        }
    }

    /// The HTTP status the model gives the error.
    pub fn status(self) -> u16 {
        match self {
            ValidationException => 400,
            ServiceQuotaExceededException => 402,
            AccessDeniedException | PendingVerification => 403,
            ResourceNotFoundException | ChannelNotBroadcasting => 404,
            ConflictException => 409,
            ThrottlingException => 429,
            InternalServerException => 500,
            ServiceUnavailable | StreamUnavailable => 503,
        }
    }

    /// Looks an error up by the name in `x-amzn-ErrorType` (anything after `:` is ignored, as SDKs do).
    pub fn from_name(name: &str) -> Option<ErrorType> {
        let name = name.split(':').next().unwrap_or(name);
        ErrorType::ALL.into_iter().find(|e| e.name() == name)
    }
}

/// Every operation of the current API, sorted by name.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        name: "BatchGetChannel",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            AccessDeniedException,
            ValidationException,
            ServiceUnavailable,
        ],
    },
    Operation {
        name: "BatchGetStreamKey",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            AccessDeniedException,
            ValidationException,
            ServiceUnavailable,
        ],
    },
    Operation {
        name: "BatchStartViewerSessionRevocation",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ThrottlingException,
        ],
    },
    Operation {
        name: "CreateAdConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ThrottlingException,
            ConflictException,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "CreateChannel",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "CreateFailoverSlateConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            ThrottlingException,
            ConflictException,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "CreatePlaybackRestrictionPolicy",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ThrottlingException,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "CreateRecordingConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ConflictException,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "CreateStreamKey",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "DeleteAdConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 204,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            ConflictException,
        ],
    },
    Operation {
        name: "DeleteChannel",
        method: "POST",
        route: Route::Post,
        success_status: 204,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ConflictException,
        ],
    },
    Operation {
        name: "DeleteFailoverSlateConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 204,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            ConflictException,
        ],
    },
    Operation {
        name: "DeletePlaybackKeyPair",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
        ],
    },
    Operation {
        name: "DeletePlaybackRestrictionPolicy",
        method: "POST",
        route: Route::Post,
        success_status: 204,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ConflictException,
        ],
    },
    Operation {
        name: "DeleteRecordingConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 204,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            ConflictException,
        ],
    },
    Operation {
        name: "DeleteStreamKey",
        method: "POST",
        route: Route::Post,
        success_status: 204,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
        ],
    },
    Operation {
        name: "GetAdConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "GetChannel",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "GetFailoverSlateConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "GetPlaybackKeyPair",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "GetPlaybackRestrictionPolicy",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
        ],
    },
    Operation {
        name: "GetRecordingConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "GetStream",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            ChannelNotBroadcasting,
        ],
    },
    Operation {
        name: "GetStreamKey",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "GetStreamSession",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "ImportPlaybackKeyPair",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ConflictException,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "InsertAdBreak",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            ChannelNotBroadcasting,
            ThrottlingException,
            ConflictException,
        ],
    },
    Operation {
        name: "ListAdConfigurations",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            InternalServerException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "ListChannels",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            AccessDeniedException,
            ValidationException,
            ConflictException,
        ],
    },
    Operation {
        name: "ListFailoverSlateConfigurations",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            InternalServerException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "ListPlaybackKeyPairs",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[AccessDeniedException, ValidationException],
    },
    Operation {
        name: "ListPlaybackRestrictionPolicies",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ConflictException,
        ],
    },
    Operation {
        name: "ListRecordingConfigurations",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            InternalServerException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "ListStreamKeys",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "ListStreamSessions",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
        ],
    },
    Operation {
        name: "ListStreams",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[AccessDeniedException, ValidationException],
    },
    Operation {
        name: "ListTagsForResource",
        method: "GET",
        route: Route::Tags,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            ValidationException,
        ],
    },
    Operation {
        name: "PutMetadata",
        method: "POST",
        route: Route::Post,
        success_status: 204,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            ChannelNotBroadcasting,
            ThrottlingException,
        ],
    },
    Operation {
        name: "StartViewerSessionRevocation",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            ThrottlingException,
            PendingVerification,
        ],
    },
    Operation {
        name: "StopStream",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            ChannelNotBroadcasting,
            StreamUnavailable,
        ],
    },
    Operation {
        name: "TagResource",
        method: "POST",
        route: Route::Tags,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            ValidationException,
        ],
    },
    Operation {
        name: "UntagResource",
        method: "DELETE",
        route: Route::Tags,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            ValidationException,
        ],
    },
    Operation {
        name: "UpdateAdConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ThrottlingException,
            ConflictException,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "UpdateChannel",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ThrottlingException,
            ConflictException,
        ],
    },
    Operation {
        name: "UpdateFailoverSlateConfiguration",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            InternalServerException,
            AccessDeniedException,
            ValidationException,
            ThrottlingException,
            ConflictException,
            ServiceQuotaExceededException,
        ],
    },
    Operation {
        name: "UpdatePlaybackRestrictionPolicy",
        method: "POST",
        route: Route::Post,
        success_status: 200,
        errors: &[
            ResourceNotFoundException,
            AccessDeniedException,
            ValidationException,
            PendingVerification,
            ConflictException,
        ],
    },
];

/// Looks an operation up by name.
pub fn operation(name: &str) -> Option<&'static Operation> {
    OPERATIONS
        .binary_search_by(|op| op.name.cmp(name))
        .ok()
        .map(|idx| &OPERATIONS[idx])
}

/// The tag operation a method selects on the `/tags/{resourceArn}` route.
pub fn tags_operation(method: &str) -> Option<&'static Operation> {
    match method {
        "GET" => operation("ListTagsForResource"),
        "POST" => operation("TagResource"),
        "DELETE" => operation("UntagResource"),
        _ => None,
    }
}

/// Why a method and path are not an IVS route.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The method is not one IVS uses on this path.
    #[error("IVS does not use `{method}` on `{path}`: it takes {allow_text} there", allow_text = allow_text(allow))]
    MethodNotAllowed {
        /// The method of the request.
        method: String,
        /// The path of the request.
        path: String,
        /// The methods IVS uses on this path, as the `Allow` header lists them.
        allow: &'static str,
    },
    /// `/tags/` without a resource ARN.
    #[error("`{method} {path}` names no resource: IVS expects `/tags/<resourceArn>`, with the ARN percent-encoded as one path segment")]
    MissingArn {
        /// The method of the request.
        method: String,
        /// The path of the request.
        path: String,
    },
    /// The path names no IVS operation.
    #[error("`{method} {path}` is not an IVS operation{}; IVS accepts `POST /<Operation>` for its {} operations (such as `POST /GetChannel`), and `GET`, `POST` or `DELETE` on `/tags/<resourceArn>`", did_you_mean(*.suggestion), OPERATIONS.len())]
    UnknownOperation {
        /// The method of the request.
        method: String,
        /// The path of the request.
        path: String,
        /// An operation whose name differs only in case, if there is one.
        suggestion: Option<&'static str>,
    },
}

/// The methods of the `/tags/{resourceArn}` route.
const TAGS_ALLOW: &str = "GET, POST, DELETE";

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

/// The operation a method and raw path address, or why they address none.
///
/// Replay calls this only for a request nothing matched, so that a cassette recorded with an
/// operation newer than this catalog still answers; the error then replaces the near-miss report,
/// which would only confuse (the nearest interaction of a misspelt operation is some other one).
pub fn check_route(method: &str, raw_path: &str) -> Result<&'static Operation, RouteError> {
    if let Some(arn) = raw_path.strip_prefix("/tags/") {
        let op = tags_operation(method).ok_or_else(|| RouteError::MethodNotAllowed {
            method: method.to_owned(),
            path: raw_path.to_owned(),
            allow: TAGS_ALLOW,
        })?;
        if arn.is_empty() {
            return Err(RouteError::MissingArn {
                method: method.to_owned(),
                path: raw_path.to_owned(),
            });
        }
        return Ok(op);
    }
    let name = raw_path.strip_prefix('/').unwrap_or(raw_path);
    match operation(name) {
        Some(op) if op.route == Route::Post && op.method == method => Ok(op),
        Some(op) if op.route == Route::Post => Err(RouteError::MethodNotAllowed {
            method: method.to_owned(),
            path: raw_path.to_owned(),
            allow: "POST",
        }),
        _ => Err(RouteError::UnknownOperation {
            method: method.to_owned(),
            path: raw_path.to_owned(),
            suggestion: OPERATIONS
                .iter()
                .find(|op| op.route == Route::Post && op.name.eq_ignore_ascii_case(name))
                .map(|op| op.name),
        }),
    }
}

/// Body members whose values are secret, as dotted paths (`*` stands for every list element).
///
/// The model marks `StreamKeyValue`, `StreamMetadata` and `SrtPassphrase` as sensitive; private
/// key material never appears in IVS answers but is listed in case a request carries it.
pub const SECRET_BODY_PATHS: &[&str] = &[
    "streamKey.value",
    "streamKeys.*.value",
    "channel.srt.passphrase",
    "channels.*.srt.passphrase",
    "streamSession.channel.srt.passphrase",
    "metadata",
    "privateKey",
];

#[cfg(test)]
mod tests {
    use super::*;

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
            Some(ResourceNotFoundException)
        );
    }
}
