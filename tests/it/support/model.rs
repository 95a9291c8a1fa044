//! AWS's IVS model as the tests read it, and the one checker that holds a JSON body to a shape.
//!
//! The current model is the generated catalog (`ivs_vcr::ivs`), never its JSON. An older model
//! (the 2021-04 one the drift fixtures follow) is read from its botocore JSON, and
//! `ivs_catalog` reads `src/ivs/model/ivs.json` to show the generated catalog says what the file
//! says. Both sources are seen through one [`View`] of a shape, so the checker is written once.

use std::collections::BTreeSet;
use std::path::Path;

use ivs_vcr::ivs::{self, Kind, Location, Service, ShapeId};
use serde_json::Value;

/// Which way a body goes. Requests may be deliberately invalid (they trigger ValidationException),
/// so only responses are held to `required` and enum values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// Every way `value` disagrees with `shape` of the current model, as `<dotted path>: <problem>`:
/// JSON types, members the shape does not have, and on responses missing required members and
/// values outside an enum.
pub fn check(shape: ShapeId, value: &Value, side: Side) -> Vec<String> {
    // Names repeat across services (each has its own `ValidationException`), so the walk looks
    // names up in the service whose segment of the shape table holds `shape`.
    let service = Service::ALL
        .into_iter()
        .find(|s| {
            let (start, end) = s.catalog().shapes;
            (start..end).contains(&shape.0)
        })
        .expect("every shape is in one service's segment");
    Model::Catalog(service).check(shape.get().name, value, side)
}

/// A model of IVS: the generated one, or a botocore JSON file.
pub enum Model {
    /// The model the catalog is generated from, through `ivs_vcr::ivs`.
    Current,
    /// Another service's generated catalog (IVS Chat's), for the checker: names are looked up
    /// in that service's shapes.
    Catalog(Service),
    /// A botocore `service-2.json`.
    File(Value),
}

/// A shape as the checker sees it, whichever model it comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View<'m> {
    /// Body members only: headers, URI labels and query strings travel elsewhere.
    Structure(Vec<Field<'m>>),
    List(&'m str),
    Map {
        key: &'m str,
        value: &'m str,
    },
    /// A string, with its enum values (none for a free string).
    String(Vec<&'m str>),
    Integer,
    Long,
    /// A JSON number (Real-Time's `float` shapes).
    Float,
    Boolean,
    /// ISO-8601 text, as IVS's JSON carries every timestamp.
    Timestamp,
    Blob,
    /// A type the checker cannot hold (named as the model names it).
    Other(String),
}

/// A body member of a structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field<'m> {
    /// The member's key in the JSON body.
    pub key: &'m str,
    /// The member's shape name.
    pub shape: &'m str,
    pub required: bool,
}

impl View<'_> {
    fn type_name(&self) -> &str {
        match self {
            View::Structure(_) => "structure",
            View::List(_) => "list",
            View::Map { .. } => "map",
            View::String(_) => "string",
            View::Integer => "integer",
            View::Long => "long",
            View::Float => "float",
            View::Boolean => "boolean",
            View::Timestamp => "timestamp",
            View::Blob => "blob",
            View::Other(kind) => kind,
        }
    }
}

impl Model {
    /// A botocore model file, relative to the crate root (`tests/data/ivs-model-2021-04.json`).
    pub fn file(path: &str) -> Model {
        Model::File(read_json(path))
    }

    /// The generated catalog a generated model reads (IVS's for [`Model::Current`]).
    fn catalog(&self) -> &'static ivs::Catalog {
        match self {
            Model::Catalog(service) => service.catalog(),
            Model::Current | Model::File(_) => Service::Ivs.catalog(),
        }
    }

    /// The JSON of a model read from a file; `None` for the generated one.
    pub fn json(&self) -> Option<&Value> {
        match self {
            Model::Current | Model::Catalog(_) => None,
            Model::File(json) => Some(json),
        }
    }

    /// The operation names.
    pub fn operations(&self) -> BTreeSet<String> {
        match self {
            Model::Current | Model::Catalog(_) => self
                .catalog()
                .operations
                .iter()
                .map(|op| op.name.to_owned())
                .collect(),
            Model::File(json) => json["operations"]
                .as_object()
                .expect("the model has operations")
                .keys()
                .cloned()
                .collect(),
        }
    }

    /// Every shape name.
    pub fn shapes(&self) -> BTreeSet<&str> {
        match self {
            Model::Current | Model::Catalog(_) => {
                // The service's segment of the table, which holds every service's shapes.
                let (start, end) = self.catalog().shapes;
                ivs::SHAPES[usize::from(start)..usize::from(end)]
                    .iter()
                    .map(|s| s.name)
                    .collect()
            }
            Model::File(json) => json["shapes"]
                .as_object()
                .expect("the model has shapes")
                .keys()
                .map(String::as_str)
                .collect(),
        }
    }

    /// The name of an operation's input shape, if it has one.
    pub fn input(&self, op: &str) -> Option<&str> {
        self.io(op, "input")
    }

    /// The name of an operation's output shape, if it has one.
    pub fn output(&self, op: &str) -> Option<&str> {
        self.io(op, "output")
    }

    fn io(&self, op: &str, side: &str) -> Option<&str> {
        match self {
            Model::Current | Model::Catalog(_) => {
                let op = self.catalog().operation(op)?;
                let id = if side == "input" { op.input } else { op.output };
                Some(id?.get().name)
            }
            Model::File(json) => json["operations"][op][side]["shape"].as_str(),
        }
    }

    /// The names of every member of a structure shape (body or not).
    pub fn members(&self, shape: &str) -> BTreeSet<String> {
        match self {
            Model::Current | Model::Catalog(_) => self
                .catalog()
                .shape(shape)
                .map(|id| {
                    id.get()
                        .members()
                        .iter()
                        .map(|m| m.name.to_owned())
                        .collect()
                })
                .unwrap_or_default(),
            Model::File(json) => json["shapes"][shape]["members"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
        }
    }

    /// The enum values of a string shape.
    pub fn enum_values(&self, shape: &str) -> BTreeSet<String> {
        match self.view(shape) {
            Some(View::String(values)) => values.into_iter().map(str::to_owned).collect(),
            _ => BTreeSet::new(),
        }
    }

    /// A shape as the checker sees it; `None` when the model has no such shape.
    pub fn view(&self, shape: &str) -> Option<View<'_>> {
        match self {
            Model::Current => Some(generated_view(ShapeId::by_name(shape)?)),
            Model::Catalog(service) => Some(generated_view(ShapeId::in_service(*service, shape)?)),
            Model::File(json) => file_view(json["shapes"].get(shape)?),
        }
    }

    /// Every way `value` disagrees with shape `shape` of this model (see [`check`]).
    pub fn check(&self, shape: &str, value: &Value, side: Side) -> Vec<String> {
        let mut out = Vec::new();
        self.walk(shape, value, "", side, &mut out);
        out
    }

    fn walk(&self, name: &str, value: &Value, path: &str, side: Side, out: &mut Vec<String>) {
        let at = if path.is_empty() { "(body)" } else { path };
        let Some(view) = self.view(name) else {
            out.push(format!("{at}: the model has no shape {name}"));
            return;
        };
        let kind = view.type_name();
        let wrong_type = |out: &mut Vec<String>| {
            out.push(format!("{at}: expected {kind} ({name}), got {value}"));
        };
        match &view {
            View::Structure(fields) => {
                let Some(object) = value.as_object() else {
                    return wrong_type(out);
                };
                for (key, field) in object {
                    let field_path = join(path, key);
                    match fields.iter().find(|f| f.key == key) {
                        Some(f) => self.walk(f.shape, field, &field_path, side, out),
                        None => out.push(format!("{field_path}: not a member of {name}")),
                    }
                }
                if side == Side::Response {
                    for f in fields.iter().filter(|f| f.required) {
                        if !object.contains_key(f.key) {
                            out.push(format!("{at}: missing required member {}", f.key));
                        }
                    }
                }
            }
            View::List(member) => {
                let Some(items) = value.as_array() else {
                    return wrong_type(out);
                };
                for (i, item) in items.iter().enumerate() {
                    self.walk(member, item, &format!("{path}[{i}]"), side, out);
                }
            }
            View::Map {
                key: key_shape,
                value: value_shape,
            } => {
                let Some(entries) = value.as_object() else {
                    return wrong_type(out);
                };
                for (key, item) in entries {
                    let item_path = join(path, key);
                    let key = Value::String(key.clone());
                    self.walk(key_shape, &key, &item_path, side, out);
                    self.walk(value_shape, item, &item_path, side, out);
                }
            }
            View::String(allowed) => {
                let Some(text) = value.as_str() else {
                    return wrong_type(out);
                };
                // The model documents `preset: ""` for BASIC and STANDARD channels.
                let documented_empty = name == "TranscodePreset" && text.is_empty();
                if side == Side::Response
                    && !allowed.is_empty()
                    && !documented_empty
                    && !allowed.contains(&text)
                {
                    out.push(format!("{at}: {value} is not one of {name} {allowed:?}"));
                }
            }
            View::Timestamp => match value {
                Value::String(text) if is_iso8601(text) => {}
                Value::String(_) => out.push(format!("{at}: {value} is not an ISO-8601 timestamp")),
                _ => wrong_type(out),
            },
            View::Boolean if value.is_boolean() => {}
            View::Integer | View::Long if value.is_i64() || value.is_u64() => {}
            View::Float if value.is_number() => {}
            View::Blob if value.is_string() => {}
            View::Boolean | View::Integer | View::Long | View::Float | View::Blob => {
                wrong_type(out)
            }
            View::Other(other) => out.push(format!(
                "{at}: the model's shape {name} has a type the checker cannot hold: {other}"
            )),
        }
    }
}

/// A JSON file, relative to the crate root.
pub fn read_json(path: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn generated_view(id: ShapeId) -> View<'static> {
    match id.get().kind {
        Kind::Structure(members) => View::Structure(
            members
                .iter()
                .filter(|m| m.location == Location::Body)
                .map(|m| Field {
                    key: m.location_name,
                    shape: m.shape.get().name,
                    required: m.required,
                })
                .collect(),
        ),
        Kind::List { member, .. } => View::List(member.get().name),
        Kind::Map { key, value, .. } => View::Map {
            key: key.get().name,
            value: value.get().name,
        },
        Kind::String { values, .. } => View::String(values.to_vec()),
        Kind::Integer { .. } => View::Integer,
        Kind::Long { .. } => View::Long,
        Kind::Float => View::Float,
        Kind::Boolean => View::Boolean,
        Kind::Timestamp => View::Timestamp,
        Kind::Blob => View::Blob,
    }
}

fn file_view(spec: &Value) -> Option<View<'_>> {
    fn text(v: &Value) -> &str {
        v.as_str().unwrap_or_default()
    }
    Some(match text(&spec["type"]) {
        "structure" => {
            let required: BTreeSet<&str> = spec["required"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect();
            View::Structure(
                spec["members"]
                    .as_object()?
                    .iter()
                    .filter(|(_, m)| m.get("location").is_none())
                    .map(|(name, m)| Field {
                        key: m["locationName"].as_str().unwrap_or(name),
                        shape: text(&m["shape"]),
                        required: required.contains(name.as_str()),
                    })
                    .collect(),
            )
        }
        "list" => View::List(text(&spec["member"]["shape"])),
        "map" => View::Map {
            key: text(&spec["key"]["shape"]),
            value: text(&spec["value"]["shape"]),
        },
        "string" => View::String(
            spec["enum"]
                .as_array()
                .into_iter()
                .flatten()
                .map(text)
                .collect(),
        ),
        "integer" => View::Integer,
        "long" => View::Long,
        "float" => View::Float,
        "boolean" => View::Boolean,
        "timestamp" if spec["timestampFormat"] == "iso8601" => View::Timestamp,
        "blob" => View::Blob,
        "timestamp" => View::Other(format!("timestamp ({})", spec["timestampFormat"])),
        other => View::Other(other.to_owned()),
    })
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, as IVS sends and the SDKs parse.
pub fn is_iso8601(text: &str) -> bool {
    let bytes = text.as_bytes();
    let number = |at: usize, len: usize, max: u32| -> bool {
        bytes.get(at..at + len).is_some_and(|d| {
            d.iter().all(u8::is_ascii_digit)
                && std::str::from_utf8(d)
                    .ok()
                    .and_then(|d| d.parse::<u32>().ok())
                    .is_some_and(|n| n <= max)
        })
    };
    let punctuated = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')]
        .iter()
        .all(|&(at, c)| bytes.get(at) == Some(&c));
    if !(punctuated
        && number(0, 4, 9999)
        && number(5, 2, 12)
        && number(8, 2, 31)
        && number(11, 2, 23)
        && number(14, 2, 59)
        && number(17, 2, 60)
        && bytes[5..7] != *b"00"
        && bytes[8..10] != *b"00")
    {
        return false;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &fraction[digits..];
    }
    let offset = rest.as_bytes();
    rest == "Z"
        || (offset.len() == 6
            && matches!(offset[0], b'+' | b'-')
            && offset[3] == b':'
            && offset[1..3]
                .iter()
                .chain(&offset[4..6])
                .all(u8::is_ascii_digit))
}
