//! The services of the IVS family one server answers for (IVS, IVS Chat, IVS Real-Time), each
//! with its generated [`Catalog`], and the routing that tells which service a request is for.
//!
//! Routing uses only what the request carries, in this order:
//! - `/tags/{resourceArn}` (the one route the three services share) goes by the ARN: its service
//!   field (`arn:aws:ivschat:` is Chat) and, for `arn:aws:ivs:`, its resource type (Real-Time's
//!   types, such as `stage`, are read from the Real-Time model's ARN patterns; anything else is
//!   IVS's).
//! - `POST /<Operation>` goes by the SigV4 credential scope's service when there is one:
//!   `ivschat` is Chat; `ivs` is IVS or Real-Time, which both sign as `ivs`, told apart by the
//!   operation's name (the names do not overlap; `build.rs` checks).
//! - An unsigned request goes by the operation's name alone; a name no service knows is IVS's.
//!
//! So an unknown operation is answered with the catalog of the service it was routed to, and the
//! error names that service.

use super::{Operation, Route, RouteError, ShapeId};

/// A service of the IVS family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Service {
    /// Amazon IVS (low-latency streaming), `ivs.<region>.amazonaws.com`.
    #[default]
    Ivs,
    /// Amazon IVS Chat, `ivschat.<region>.amazonaws.com`.
    IvsChat,
    /// Amazon IVS Real-Time, `ivsrealtime.<region>.amazonaws.com` (signed as `ivs`).
    IvsRealTime,
}

impl Service {
    /// Every service, IVS first.
    pub const ALL: [Service; 3] = [Service::Ivs, Service::IvsChat, Service::IvsRealTime];

    /// The service's id: botocore's service name, as cassettes write it (`service: ivschat`) and
    /// as `AWS_ENDPOINT_URL_<ID>` spells it (upper case, `-` as `_`).
    pub fn id(self) -> &'static str {
        match self {
            Service::Ivs => "ivs",
            Service::IvsChat => "ivschat",
            Service::IvsRealTime => "ivs-realtime",
        }
    }

    /// The service of an id written by [`Service::id`].
    pub fn from_id(id: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.id() == id)
    }

    /// How messages name the service.
    pub fn display_name(self) -> &'static str {
        match self {
            Service::Ivs => "IVS",
            Service::IvsChat => "IVS Chat",
            Service::IvsRealTime => "IVS Real-Time",
        }
    }

    /// The environment variable AWS SDKs read the service's endpoint from.
    pub fn endpoint_env(self) -> &'static str {
        match self {
            Service::Ivs => "AWS_ENDPOINT_URL_IVS",
            Service::IvsChat => "AWS_ENDPOINT_URL_IVSCHAT",
            Service::IvsRealTime => "AWS_ENDPOINT_URL_IVS_REALTIME",
        }
    }

    /// True for IVS, the service cassettes name by saying nothing.
    pub fn is_ivs(&self) -> bool {
        *self == Service::Ivs
    }

    /// The service's generated catalog.
    pub fn catalog(self) -> &'static Catalog {
        match self {
            Service::Ivs => &IVS,
            Service::IvsChat => &IVSCHAT,
            Service::IvsRealTime => &IVSREALTIME,
        }
    }

    /// The service a request is for, from its SigV4 scope's service (if signed) and its raw path
    /// (see the module doc).
    pub fn route(scope_service: Option<&str>, raw_path: &str) -> Service {
        if let Some(arn) = raw_path.strip_prefix("/tags/") {
            return Service::of_encoded_arn(arn).unwrap_or(match scope_service {
                Some("ivschat") => Service::IvsChat,
                _ => Service::Ivs,
            });
        }
        let name = raw_path.strip_prefix('/').unwrap_or(raw_path);
        match scope_service {
            Some("ivschat") => Service::IvsChat,
            Some(_) => match super::post_operation_service(name) {
                Some(Service::IvsRealTime) => Service::IvsRealTime,
                _ => Service::Ivs,
            },
            None => super::post_operation_service(name).unwrap_or(Service::Ivs),
        }
    }

    /// The service of a `/tags/` ARN as it is on the wire (percent-encoded, or not), if it names
    /// one of the family's.
    fn of_encoded_arn(arn: &str) -> Option<Service> {
        let decoded = percent_encoding::percent_decode_str(arn).decode_utf8_lossy();
        Service::of_arn(&decoded)
    }

    /// The service an ARN belongs to (`arn:aws:ivschat:…` is Chat; `arn:aws:ivs:…:stage/…` is
    /// Real-Time), if it is one of the family's.
    pub fn of_arn(arn: &str) -> Option<Service> {
        let mut parts = arn.splitn(6, ':');
        let (_arn, _partition, service) = (parts.next()?, parts.next()?, parts.next()?);
        let resource = parts.nth(2)?;
        let resource_type = resource.split('/').next().unwrap_or(resource);
        match service {
            "ivschat" => Some(Service::IvsChat),
            "ivs" if super::IVS_RESOURCE_TYPES.contains(&resource_type) => Some(Service::Ivs),
            "ivs" if super::IVSREALTIME_RESOURCE_TYPES.contains(&resource_type) => {
                Some(Service::IvsRealTime)
            }
            "ivs" => Some(Service::Ivs),
            _ => None,
        }
    }
}

/// Every operation of every service, IVS's first: what per-operation counters index.
pub fn all_operations() -> impl Iterator<Item = &'static Operation> {
    Service::ALL
        .into_iter()
        .flat_map(|service| service.catalog().operations)
}

/// The place of the operation named `name` in [`all_operations`] (the first service's, for the
/// tag operations every service names alike).
pub fn operation_index(name: &str) -> Option<usize> {
    let mut offset = 0;
    for service in Service::ALL {
        let ops = service.catalog().operations;
        if let Ok(idx) = ops.binary_search_by(|op| op.name.cmp(name)) {
            return Some(offset + idx);
        }
        offset += ops.len();
    }
    None
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.display_name())
    }
}

/// What one service's model states, generated by `build.rs`: nothing here is kept by hand.
#[derive(Debug)]
pub struct Catalog {
    /// The service.
    pub service: Service,
    /// The API version the model describes.
    pub api_version: &'static str,
    /// The SigV4 signing name (`ivs` for IVS and Real-Time, `ivschat` for Chat).
    pub signing_name: &'static str,
    /// The first label of the service's host (`ivschat.<region>.amazonaws.com`).
    pub endpoint_prefix: &'static str,
    /// Every operation, sorted by name.
    pub operations: &'static [Operation],
    /// The service's segment of [`super::SHAPES`], as `(start, end)` shape ids.
    pub shapes: (u16, u16),
    /// Body members whose values are secret, as dotted paths.
    pub secret_body_paths: &'static [&'static str],
    /// The resource types its ARNs name (`room`, `logging-configuration`), from the model's ARN
    /// patterns.
    pub resource_types: &'static [&'static str],
    /// An operation to show as an example in routing errors.
    pub example: &'static str,
}

static IVS: Catalog = Catalog {
    service: Service::Ivs,
    api_version: super::API_VERSION,
    signing_name: super::SIGNING_NAME,
    endpoint_prefix: super::ENDPOINT_PREFIX,
    operations: super::OPERATIONS,
    shapes: super::SHAPE_RANGE,
    secret_body_paths: super::SECRET_BODY_PATHS,
    resource_types: super::IVS_RESOURCE_TYPES,
    example: "GetChannel",
};

static IVSCHAT: Catalog = Catalog {
    service: Service::IvsChat,
    api_version: super::IVSCHAT_API_VERSION,
    signing_name: super::IVSCHAT_SIGNING_NAME,
    endpoint_prefix: super::IVSCHAT_ENDPOINT_PREFIX,
    operations: super::IVSCHAT_OPERATIONS,
    shapes: super::IVSCHAT_SHAPE_RANGE,
    secret_body_paths: super::IVSCHAT_SECRET_BODY_PATHS,
    resource_types: super::IVSCHAT_RESOURCE_TYPES,
    example: "GetRoom",
};

static IVSREALTIME: Catalog = Catalog {
    service: Service::IvsRealTime,
    api_version: super::IVSREALTIME_API_VERSION,
    signing_name: super::IVSREALTIME_SIGNING_NAME,
    endpoint_prefix: super::IVSREALTIME_ENDPOINT_PREFIX,
    operations: super::IVSREALTIME_OPERATIONS,
    shapes: super::IVSREALTIME_SHAPE_RANGE,
    secret_body_paths: super::IVSREALTIME_SECRET_BODY_PATHS,
    resource_types: super::IVSREALTIME_RESOURCE_TYPES,
    example: "GetStage",
};

impl Catalog {
    /// Looks an operation up by name.
    pub fn operation(&self, name: &str) -> Option<&'static Operation> {
        let ops = self.operations;
        ops.binary_search_by(|op| op.name.cmp(name))
            .ok()
            .map(|idx| &ops[idx])
    }

    /// The tag operation a method selects on the `/tags/{resourceArn}` route.
    pub fn tags_operation(&self, method: &str) -> Option<&'static Operation> {
        match method {
            "GET" => self.operation("ListTagsForResource"),
            "POST" => self.operation("TagResource"),
            "DELETE" => self.operation("UntagResource"),
            _ => None,
        }
    }

    /// Looks a shape of this service up by its model name.
    pub fn shape(&self, name: &str) -> Option<ShapeId> {
        ShapeId::in_service(self.service, name)
    }

    /// The operation a method and raw path address in this service, or why they address none
    /// (see [`super::check_route`]).
    pub fn check_route(
        &'static self,
        method: &str,
        raw_path: &str,
    ) -> Result<&'static Operation, RouteError> {
        let service = self.service;
        if let Some(arn) = raw_path.strip_prefix("/tags/") {
            let op = self
                .tags_operation(method)
                .ok_or_else(|| RouteError::MethodNotAllowed {
                    service,
                    method: method.to_owned(),
                    path: raw_path.to_owned(),
                    allow: super::TAGS_ALLOW,
                })?;
            if arn.is_empty() {
                return Err(RouteError::MissingArn {
                    service,
                    method: method.to_owned(),
                    path: raw_path.to_owned(),
                });
            }
            return Ok(op);
        }
        let name = raw_path.strip_prefix('/').unwrap_or(raw_path);
        match self.operation(name) {
            Some(op) if op.route == Route::Post && op.method == method => Ok(op),
            Some(op) if op.route == Route::Post => Err(RouteError::MethodNotAllowed {
                service,
                method: method.to_owned(),
                path: raw_path.to_owned(),
                allow: "POST",
            }),
            _ => Err(RouteError::UnknownOperation {
                service,
                method: method.to_owned(),
                path: raw_path.to_owned(),
                suggestion: super::nearest_name(
                    name,
                    self.operations
                        .iter()
                        .filter(|op| op.route == Route::Post)
                        .map(|op| op.name),
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_route_by_scope_path_and_arn() {
        let check = |scope: Option<&str>, path: &str, expected: Service| {
            assert_eq!(Service::route(scope, path), expected, "{scope:?} {path}");
        };
        check(Some("ivs"), "/GetChannel", Service::Ivs);
        check(None, "/GetChannel", Service::Ivs);
        check(Some("ivschat"), "/CreateRoom", Service::IvsChat);
        check(None, "/CreateRoom", Service::IvsChat);
        // Chat signs as `ivschat`: an IVS operation sent to it is Chat's unknown operation.
        check(Some("ivschat"), "/CreateChannel", Service::IvsChat);
        // IVS and Real-Time both sign as `ivs`, told apart by the operation.
        check(Some("ivs"), "/CreateStage", Service::IvsRealTime);
        check(Some("ivs"), "/CreateRoom", Service::Ivs);
        check(None, "/NoSuchOperation", Service::Ivs);
        check(
            Some("ivs"),
            "/tags/arn%3Aaws%3Aivschat%3Aus-west-2%3A123456789012%3Aroom%2FabcdEFGH1234",
            Service::IvsChat,
        );
        check(
            None,
            "/tags/arn:aws:ivs:us-west-2:123456789012:stage/abcdEFGH1234",
            Service::IvsRealTime,
        );
        check(
            Some("ivs"),
            "/tags/arn%3aaws%3aivs%3aus-west-2%3a123456789012%3achannel%2fabcdEFGH1234",
            Service::Ivs,
        );
        check(Some("ivschat"), "/tags/not-an-arn", Service::IvsChat);
        check(Some("ivs"), "/tags/not-an-arn", Service::Ivs);
    }

    #[test]
    fn catalogs_are_generated_per_service() {
        assert_eq!(Service::IvsChat.catalog().operations.len(), 17);
        assert_eq!(Service::IvsChat.catalog().signing_name, "ivschat");
        assert_eq!(Service::IvsRealTime.catalog().signing_name, "ivs");
        assert_eq!(
            Service::IvsRealTime.catalog().endpoint_prefix,
            "ivsrealtime"
        );
        for service in Service::ALL {
            let catalog = service.catalog();
            assert!(catalog.operations.windows(2).all(|w| w[0].name < w[1].name));
            assert!(catalog.operations.iter().all(|op| op.service == service));
            assert!(catalog.operation(catalog.example).is_some());
            assert_eq!(Service::from_id(service.id()), Some(service));
        }
        let tags = Service::IvsChat.catalog().shape("Tags").unwrap();
        assert_ne!(tags, ShapeId::by_name("Tags").unwrap());
        assert!(Service::IvsChat.catalog().resource_types.contains(&"room"));
        assert!(Service::IvsRealTime
            .catalog()
            .resource_types
            .contains(&"stage"));
        assert!(Service::IvsChat
            .catalog()
            .secret_body_paths
            .contains(&"token"));
    }

    #[test]
    fn an_unknown_operation_names_the_service_it_was_routed_to() {
        let err = Service::IvsChat
            .catalog()
            .check_route("POST", "/CreateChannel")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`POST /CreateChannel` is not an IVS Chat operation; IVS Chat accepts `POST /<Operation>` for its 17 operations (such as `POST /GetRoom`), and `GET`, `POST` or `DELETE` on `/tags/<resourceArn>`"
        );
    }
}
