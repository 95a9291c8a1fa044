//! The types of the generated shape table ([`super::SHAPES`], every service's shapes): what a request or response member
//! may hold, as AWS's model states it. `validate` checks requests against them and the emulator
//! shapes its answers by them.

use super::SHAPES;

/// A shape of the model: an index into [`SHAPES`], which is sorted by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ShapeId(pub u16);

impl ShapeId {
    /// The shape itself.
    pub fn get(self) -> &'static Shape {
        &SHAPES[usize::from(self.0)]
    }

    /// Looks an IVS shape up by its model name.
    pub fn by_name(name: &str) -> Option<ShapeId> {
        ShapeId::in_service(super::Service::Ivs, name)
    }

    /// Looks a shape of `service` up by its model name (names repeat across services: each has
    /// its own `Tags`, `ValidationException`, …).
    pub fn in_service(service: super::Service, name: &str) -> Option<ShapeId> {
        let (start, end) = service.catalog().shapes;
        SHAPES[usize::from(start)..usize::from(end)]
            .binary_search_by(|s| s.name.cmp(name))
            .ok()
            // Invariant: the generated table has far fewer than 65,536 shapes (`build.rs`).
            .map(|idx| ShapeId(start + idx as u16))
    }
}

/// One shape: its model name, its kind with constraints, and whether the model marks it secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The model's name for the shape, e.g. `ChannelName`.
    pub name: &'static str,
    /// What values it holds, and their constraints.
    pub kind: Kind,
    /// The model's `sensitive` trait: values of this shape are secrets.
    pub sensitive: bool,
}

impl Shape {
    /// The members of a structure shape (empty for any other kind).
    pub fn members(&self) -> &'static [Member] {
        match self.kind {
            Kind::Structure(members) => members,
            _ => &[],
        }
    }

    /// A member of a structure shape, by its name.
    pub fn member(&self, name: &str) -> Option<&'static Member> {
        self.members().iter().find(|m| m.name == name)
    }
}

/// What a shape holds, with the constraints the model states. Bounds are inclusive; for strings
/// they count characters, for lists and maps entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A JSON object with named members, in the model's order.
    Structure(&'static [Member]),
    /// A JSON array.
    List {
        /// The shape of every element.
        member: ShapeId,
        /// The fewest elements allowed.
        min: Option<u64>,
        /// The most elements allowed.
        max: Option<u64>,
    },
    /// A JSON object with free keys.
    Map {
        /// The shape of every key.
        key: ShapeId,
        /// The shape of every value.
        value: ShapeId,
        /// The fewest entries allowed.
        min: Option<u64>,
        /// The most entries allowed.
        max: Option<u64>,
    },
    /// A string.
    String {
        /// The shortest length allowed, in characters.
        min: Option<u64>,
        /// The longest length allowed, in characters.
        max: Option<u64>,
        /// The model's regular expression, as the model writes it.
        pattern: Option<&'static str>,
        /// The enum values, if the string is an enum.
        values: &'static [&'static str],
    },
    /// A 32-bit integer.
    Integer {
        /// The smallest value allowed.
        min: Option<i64>,
        /// The largest value allowed.
        max: Option<i64>,
    },
    /// A 64-bit integer.
    Long {
        /// The smallest value allowed.
        min: Option<i64>,
        /// The largest value allowed.
        max: Option<i64>,
    },
    /// A floating-point number (Real-Time's `float` shapes).
    Float,
    /// `true` or `false`.
    Boolean,
    /// A date and time (ISO-8601 in IVS's JSON).
    Timestamp,
    /// Bytes, base64 in JSON.
    Blob,
}

/// A member of a structure shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    /// The member's name in the JSON body.
    pub name: &'static str,
    /// The member's shape.
    pub shape: ShapeId,
    /// Whether the model requires the member.
    pub required: bool,
    /// Where on the wire the member travels.
    pub location: Location,
    /// The member's name where it travels (a header, URI label or query key); the member name for
    /// body members.
    pub location_name: &'static str,
    /// The default IVS's documentation states for the member, if it states one that fits its type.
    pub default: Option<Default>,
}

/// Where a member travels on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    /// In the JSON body.
    Body,
    /// As a label of the request path (`/tags/{resourceArn}`).
    Uri,
    /// In the query string (`tagKeys`).
    Query,
    /// In an HTTP header.
    Header,
}

/// A default value, as IVS's documentation states it for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Default {
    /// A string or enum value (`""` included).
    Str(&'static str),
    /// A boolean.
    Bool(bool),
    /// A number.
    Int(i64),
    /// An empty list (`allowedCountries`: all countries).
    EmptyList,
}

impl Default {
    /// The default as a JSON value.
    pub fn to_json(self) -> serde_json::Value {
        match self {
            Default::Str(s) => serde_json::Value::from(s),
            Default::Bool(b) => serde_json::Value::from(b),
            Default::Int(n) => serde_json::Value::from(n),
            Default::EmptyList => serde_json::Value::Array(Vec::new()),
        }
    }
}
