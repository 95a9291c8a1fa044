//! Build-time code generation, so that nothing AWS defines is kept by hand:
//! - `$OUT_DIR/bundled.rs`: the bundled cassettes (`cassettes/**/*.yaml`), embedded in the binary
//!   so `ivs-vcr replay` can serve them from any directory; a sorted list of (path, contents).
//! - `$OUT_DIR/ivs_model.rs`: the catalog of every service of the IVS family (IVS, IVS Chat, IVS
//!   Real-Time), derived from AWS's own service models (`src/ivs/model/<service>.json`, botocore's
//!   `service-2.json`) and their paginators (`src/ivs/model/<service>-paginators.json`): every
//!   operation with its service, route, status, input, output, errors and pagination; every shape
//!   with its constraints; the error shapes with their statuses; the secret paths; and the
//!   defaults the documentation states. `src/ivs/` includes it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    bundled(&root, &out_dir);
    model(&root, &out_dir);
}

fn bundled(root: &Path, out_dir: &Path) {
    let dir = root.join("cassettes");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files = Vec::new();
    if dir.is_dir() {
        collect(&dir, &mut files);
    }
    files.sort();
    let mut out = String::from("/// The bundled cassettes: (path under `cassettes/`, YAML text), sorted by path.\npub(crate) static BUNDLED: &[(&str, &str)] = &[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let rel = file.strip_prefix(&dir).expect("file is under cassettes/");
        out.push_str(&format!(
            "    ({:?}, include_str!({:?})),\n",
            rel.to_string_lossy().replace('\\', "/"),
            file.display().to_string()
        ));
    }
    out.push_str("];\n");
    std::fs::write(out_dir.join("bundled.rs"), out).expect("OUT_DIR is writable");
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            println!("cargo:rerun-if-changed={}", path.display());
            collect(&path, files);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            files.push(path);
        }
    }
}

fn read_json(path: &Path) -> Value {
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("cannot parse {}: {e}", path.display()))
}

/// The services whose models are compiled in: (the `Service` variant, the constant prefix of its
/// tables, the model file, the paginators file). IVS comes first, so its shape ids are the ones a
/// single-service catalog gave.
const SERVICES: &[(&str, &str, &str, &str)] = &[
    (
        "Ivs",
        "",
        "src/ivs/model/ivs.json",
        "src/ivs/model/ivs-paginators.json",
    ),
    (
        "IvsChat",
        "IVSCHAT_",
        "src/ivs/model/ivschat.json",
        "src/ivs/model/ivschat-paginators.json",
    ),
    (
        "IvsRealTime",
        "IVSREALTIME_",
        "src/ivs/model/ivs-realtime.json",
        "src/ivs/model/ivs-realtime-paginators.json",
    ),
];

/// Generates the catalogs from the models. Panics (failing the build) on anything a model holds
/// that the generated types cannot express, so a new model is never half-understood.
///
/// Every service's shapes go into one table, [`SHAPES`], one sorted segment per service (a
/// `ShapeId` is an index into the whole table, so validation and shaping need no service); the
/// error shapes of every service make one `ErrorType`, since the services share their names and
/// statuses (checked here); operations, secret paths and metadata are per service.
fn model(root: &Path, out_dir: &Path) {
    let models: Vec<(Value, Value)> = SERVICES
        .iter()
        .map(|(_, _, model, paginators)| {
            (
                read_json(&root.join(model)),
                read_json(&root.join(paginators)),
            )
        })
        .collect();
    let mut out = String::new();

    // Shape segments: a service's shape ids start at its offset.
    let mut offsets = Vec::new();
    let mut offset = 0usize;
    for (model, _) in &models {
        offsets.push(offset);
        offset += model["shapes"].as_object().expect("model has shapes").len();
    }
    assert!(
        offset < usize::from(u16::MAX),
        "too many shapes for a u16 ShapeId"
    );

    // Error shapes of every service, as one enum; a name must mean one status everywhere.
    let mut errors: BTreeMap<String, (u64, usize)> = BTreeMap::new();
    for (service_idx, (model, _)) in models.iter().enumerate() {
        let shapes = model["shapes"].as_object().expect("model has shapes");
        let names: Vec<&String> = shapes.keys().collect();
        for (name, s) in shapes {
            if s.get("exception").and_then(Value::as_bool) != Some(true) {
                continue;
            }
            let status = s["error"]["httpStatusCode"]
                .as_u64()
                .unwrap_or_else(|| panic!("error shape `{name}` has no httpStatusCode"));
            let id = offsets[service_idx] + names.binary_search(&name).expect("own shape");
            let entry = errors.entry(name.clone()).or_insert((status, id));
            assert_eq!(
                entry.0, status,
                "error `{name}` has two statuses across services"
            );
        }
    }
    out.push_str("/// The error shapes of every service's model, by the name sent in `x-amzn-ErrorType`.\n#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\n#[allow(missing_docs, clippy::enum_variant_names)]\npub enum ErrorType {\n");
    for name in errors.keys() {
        writeln!(out, "    {name},").unwrap();
    }
    out.push_str("}\n\nimpl ErrorType {\n    /// Every error shape, sorted by name.\n");
    writeln!(out, "    pub const ALL: [ErrorType; {}] = [", errors.len()).unwrap();
    for name in errors.keys() {
        writeln!(out, "        ErrorType::{name},").unwrap();
    }
    out.push_str("    ];\n\n    /// The name sent in `x-amzn-ErrorType`.\n    pub fn name(self) -> &'static str {\n        match self {\n");
    for name in errors.keys() {
        writeln!(out, "            ErrorType::{name} => {name:?},").unwrap();
    }
    out.push_str("        }\n    }\n\n    /// The HTTP status the models give the error.\n    pub fn status(self) -> u16 {\n        match self {\n");
    for (name, (status, _)) in &errors {
        writeln!(out, "            ErrorType::{name} => {status},").unwrap();
    }
    out.push_str("        }\n    }\n\n    /// The error's shape in [`SHAPES`] (the first service's that defines it).\n    pub fn shape(self) -> ShapeId {\n        match self {\n");
    for (name, (_, id)) in &errors {
        writeln!(out, "            ErrorType::{name} => ShapeId({id}),").unwrap();
    }
    out.push_str("        }\n    }\n}\n\n");

    out.push_str("/// Every shape of every service's model: one segment per service (IVS first), each sorted\n/// by name; a [`ShapeId`] indexes it.\npub static SHAPES: &[Shape] = &[\n");
    for (service_idx, (model, _)) in models.iter().enumerate() {
        shapes_table(model, offsets[service_idx], &mut out);
    }
    out.push_str("];\n\n");

    let mut post_names: BTreeMap<String, &str> = BTreeMap::new();
    for (service_idx, ((variant, prefix, _, _), (model, paginators))) in
        SERVICES.iter().zip(&models).enumerate()
    {
        let n_shapes = model["shapes"].as_object().expect("shapes").len();
        let start = offsets[service_idx];
        writeln!(
            out,
            "/// The shapes of `{variant}` in [`SHAPES`].\npub const {prefix}SHAPE_RANGE: (u16, u16) = ({start}, {});",
            start + n_shapes
        )
        .unwrap();
        service_tables(variant, prefix, model, paginators, start, &mut out);
        for name in model["operations"].as_object().expect("operations").keys() {
            if model["operations"][name]["http"]["requestUri"].as_str() == Some(&format!("/{name}"))
            {
                if let Some(other) = post_names.insert(name.clone(), variant) {
                    panic!("operation `{name}` is in both `{other}` and `{variant}`: routing by path needs them apart");
                }
            }
        }
    }
    out.push_str("/// The service whose `POST /<name>` operation `name` is: the services' names do not overlap\n/// (`build.rs` checks), so the path alone tells them apart.\npub fn post_operation_service(name: &str) -> Option<Service> {\n    match name {\n");
    for (name, variant) in &post_names {
        writeln!(out, "        {name:?} => Some(Service::{variant}),").unwrap();
    }
    out.push_str("        _ => None,\n    }\n}\n");
    std::fs::write(out_dir.join("ivs_model.rs"), out).expect("OUT_DIR is writable");
}

/// One service's shapes, as entries of [`SHAPES`] (its ids offset by `offset`).
fn shapes_table(model: &Value, offset: usize, out: &mut String) {
    let shapes = model["shapes"].as_object().expect("model has shapes");
    // BTreeMap order is the shapes' sorted order: a ShapeId is an index into it.
    let names: Vec<&String> = shapes.keys().collect();
    let id = |name: &str| -> usize {
        offset
            + names
                .binary_search_by(|n| n.as_str().cmp(name))
                .unwrap_or_else(|_| panic!("model names an unknown shape `{name}`"))
    };
    for (name, shape) in shapes {
        let kind = match shape["type"].as_str().expect("shape type") {
            "structure" => {
                let required: BTreeSet<&str> = shape
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let mut members = String::new();
                for (member, spec) in shape["members"].as_object().expect("members") {
                    let location = match spec.get("location").and_then(Value::as_str) {
                        None => "Body",
                        Some("uri") => "Uri",
                        Some("querystring") => "Query",
                        Some("header") => "Header",
                        Some(other) => panic!("unknown member location `{other}`"),
                    };
                    let location_name = spec
                        .get("locationName")
                        .and_then(Value::as_str)
                        .unwrap_or(member);
                    let target = spec["shape"].as_str().expect("member shape");
                    let default = doc_default(
                        spec.get("documentation")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                        &shapes[target],
                    );
                    write!(
                        members,
                        "Member {{ name: {member:?}, shape: ShapeId({}), required: {}, location: Location::{location}, location_name: {location_name:?}, default: {default} }}, ",
                        id(target),
                        required.contains(member.as_str()),
                    )
                    .unwrap();
                }
                format!("Kind::Structure(&[{members}])")
            }
            "list" => format!(
                "Kind::List {{ member: ShapeId({}), min: {}, max: {} }}",
                id(shape["member"]["shape"].as_str().expect("list member")),
                opt_u64(shape.get("min")),
                opt_u64(shape.get("max")),
            ),
            "map" => format!(
                "Kind::Map {{ key: ShapeId({}), value: ShapeId({}), min: {}, max: {} }}",
                id(shape["key"]["shape"].as_str().expect("map key")),
                id(shape["value"]["shape"].as_str().expect("map value")),
                opt_u64(shape.get("min")),
                opt_u64(shape.get("max")),
            ),
            "string" => {
                let values: Vec<&str> = shape
                    .get("enum")
                    .and_then(Value::as_array)
                    .map(|v| v.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                format!(
                    "Kind::String {{ min: {}, max: {}, pattern: {}, values: &{values:?} }}",
                    opt_u64(shape.get("min")),
                    opt_u64(shape.get("max")),
                    match shape.get("pattern").and_then(Value::as_str) {
                        Some(p) => format!("Some({p:?})"),
                        None => "None".to_owned(),
                    },
                )
            }
            kind @ ("integer" | "long") => format!(
                "Kind::{} {{ min: {}, max: {} }}",
                if kind == "integer" { "Integer" } else { "Long" },
                opt_i64(shape.get("min")),
                opt_i64(shape.get("max")),
            ),
            "float" | "double" => "Kind::Float".to_owned(),
            "boolean" => "Kind::Boolean".to_owned(),
            "timestamp" => "Kind::Timestamp".to_owned(),
            "blob" => "Kind::Blob".to_owned(),
            other => panic!("shape `{name}` has a type the catalog cannot hold: `{other}`"),
        };
        writeln!(
            out,
            "    Shape {{ name: {name:?}, kind: {kind}, sensitive: {} }},",
            shape.get("sensitive").and_then(Value::as_bool) == Some(true)
        )
        .unwrap();
    }
}

/// One service's operations, secret paths and metadata, as constants named with `prefix`.
fn service_tables(
    variant: &str,
    prefix: &str,
    model: &Value,
    paginators: &Value,
    offset: usize,
    out: &mut String,
) {
    let shapes = model["shapes"].as_object().expect("model has shapes");
    let operations = model["operations"]
        .as_object()
        .expect("model has operations");
    let names: Vec<&String> = shapes.keys().collect();
    let id = |name: &str| -> usize {
        offset
            + names
                .binary_search_by(|n| n.as_str().cmp(name))
                .unwrap_or_else(|_| panic!("model names an unknown shape `{name}`"))
    };
    let meta = &model["metadata"];
    for (constant, key, what) in [
        (
            "API_VERSION",
            "apiVersion",
            "The API version the model describes.",
        ),
        ("SIGNING_NAME", "signingName", "The SigV4 signing name."),
        (
            "ENDPOINT_PREFIX",
            "endpointPrefix",
            "The first label of the service's host.",
        ),
    ] {
        writeln!(
            out,
            "/// {what}\npub const {prefix}{constant}: &str = {:?};",
            meta[key]
                .as_str()
                .unwrap_or_else(|| panic!("metadata has no `{key}`"))
        )
        .unwrap();
    }

    // Operations, sorted by name for binary search.
    let pages = paginators["pagination"]
        .as_object()
        .expect("paginators have `pagination`");
    let sorted: BTreeMap<&String, &Value> = operations.iter().collect();
    writeln!(out, "/// Every operation of `{variant}`, sorted by name.\npub const {prefix}OPERATIONS: &[Operation] = &[").unwrap();
    for (name, op) in &sorted {
        let http = &op["http"];
        let uri = http["requestUri"].as_str().expect("requestUri");
        let route = if uri.starts_with("/tags/") {
            "Route::Tags"
        } else if uri == format!("/{name}") {
            "Route::Post"
        } else {
            panic!("operation `{name}` has a route the catalog cannot hold: `{uri}`")
        };
        let errors: Vec<String> = op
            .get("errors")
            .and_then(Value::as_array)
            .map(|e| {
                e.iter()
                    .map(|e| format!("ErrorType::{}", e["shape"].as_str().expect("error shape")))
                    .collect()
            })
            .unwrap_or_default();
        let shape_of = |key: &str| match op.get(key).and_then(|v| v["shape"].as_str()) {
            Some(s) => format!("Some(ShapeId({}))", id(s)),
            None => "None".to_owned(),
        };
        let pagination = match pages.get(name.as_str()) {
            Some(p) => format!(
                "Some(Pagination {{ input_token: {:?}, output_token: {:?}, limit_key: {:?}, result_key: {:?} }})",
                p["input_token"].as_str().expect("input_token"),
                p["output_token"].as_str().expect("output_token"),
                p["limit_key"].as_str().expect("limit_key"),
                p["result_key"].as_str().expect("result_key"),
            ),
            // The paginators file omits some operations that page through the same members
            // (IVS's ListPlaybackRestrictionPolicies and ListStreamSessions, every List call of
            // Chat, whose paginators file is empty): an input with `nextToken` and `maxResults`
            // and an output with `nextToken` and one list member pages too.
            None => match implied_pagination(shapes, op) {
                Some(result_key) => format!(
                    "Some(Pagination {{ input_token: \"nextToken\", output_token: \"nextToken\", limit_key: \"maxResults\", result_key: {result_key:?} }})"
                ),
                None => "None".to_owned(),
            },
        };
        writeln!(
            out,
            "    Operation {{ service: Service::{variant}, name: {name:?}, method: {:?}, route: {route}, success_status: {}, errors: &[{}], input: {}, output: {}, pagination: {pagination} }},",
            http["method"].as_str().expect("method"),
            http["responseCode"].as_u64().unwrap_or(200),
            errors.join(", "),
            shape_of("input"),
            shape_of("output"),
        )
        .unwrap();
    }
    out.push_str("];\n\n");

    // Secret body paths: every path from an operation's input or output to a member whose shape
    // the model marks sensitive (lists and maps as `*`).
    let mut secret = BTreeSet::new();
    for op in operations.values() {
        for side in ["input", "output"] {
            if let Some(shape) = op.get(side).and_then(|v| v["shape"].as_str()) {
                sensitive_paths(shapes, shape, &mut Vec::new(), &mut secret);
            }
        }
    }
    assert!(!secret.is_empty(), "the model marks no member sensitive");
    writeln!(out, "/// Body members of `{variant}` whose values are secret, as dotted paths (`*` stands for every\n/// list element or map value): every path to a shape the model marks `sensitive`, and\n/// `privateKey`, which no service takes but is listed in case a request carries private key\n/// material.\npub const {prefix}SECRET_BODY_PATHS: &[&str] = &[").unwrap();
    for path in &secret {
        writeln!(out, "    {path:?},").unwrap();
    }
    out.push_str("    \"privateKey\",\n];\n");

    // Resource types, from the ARN patterns of the model's string shapes
    // (`arn:aws:ivschat:[a-z0-9-]+:[0-9]+:room/[a-zA-Z0-9-]+` names `room`).
    let service_label = format!(
        "arn:aws:{}:",
        meta["signingName"].as_str().expect("signingName")
    );
    let chat_label = format!(
        "arn:aws:{}:",
        meta["endpointPrefix"].as_str().expect("endpointPrefix")
    );
    let mut types = BTreeSet::new();
    for shape in shapes.values() {
        let Some(pattern) = shape.get("pattern").and_then(Value::as_str) else {
            continue;
        };
        for label in [&service_label, &chat_label] {
            for (at, _) in pattern.match_indices(label.as_str()) {
                let rest = &pattern[at..];
                let Some(account) = rest.find(":[0-9]+:") else {
                    continue;
                };
                let after = &rest[account + ":[0-9]+:".len()..];
                let Some(slash) = after.find('/') else {
                    continue;
                };
                let word = &after[..slash];
                if word.len() > 1 && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
                    types.insert(word.to_owned());
                }
            }
        }
    }
    assert!(
        !types.is_empty(),
        "the model of `{variant}` names no resource type"
    );
    writeln!(
        out,
        "/// The resource types the ARNs of `{variant}`'s model name.\npub const {}_RESOURCE_TYPES: &[&str] = &{:?};",
        variant.to_uppercase(),
        types.iter().collect::<Vec<_>>()
    )
    .unwrap();
}

fn sensitive_paths(
    shapes: &serde_json::Map<String, Value>,
    shape: &str,
    path: &mut Vec<String>,
    out: &mut BTreeSet<String>,
) {
    let spec = &shapes[shape];
    if spec.get("sensitive").and_then(Value::as_bool) == Some(true) {
        out.insert(path.join("."));
        return;
    }
    // The IVS model nests at most five deep; the bound only guards against a recursive shape.
    if path.len() > 8 {
        return;
    }
    match spec["type"].as_str() {
        Some("structure") => {
            for (member, m) in spec["members"].as_object().into_iter().flatten() {
                if m.get("location").is_some() {
                    continue; // headers, URI labels and query strings are not body members
                }
                path.push(member.clone());
                sensitive_paths(
                    shapes,
                    m["shape"].as_str().expect("member shape"),
                    path,
                    out,
                );
                path.pop();
            }
        }
        Some("list") => {
            path.push("*".into());
            sensitive_paths(
                shapes,
                spec["member"]["shape"].as_str().expect("list member"),
                path,
                out,
            );
            path.pop();
        }
        Some("map") => {
            path.push("*".into());
            sensitive_paths(
                shapes,
                spec["value"]["shape"].as_str().expect("map value"),
                path,
                out,
            );
            path.pop();
        }
        _ => {}
    }
}

fn implied_pagination(shapes: &serde_json::Map<String, Value>, op: &Value) -> Option<String> {
    let members = |side: &str| {
        op.get(side)
            .and_then(|v| v["shape"].as_str())
            .and_then(|s| shapes[s]["members"].as_object())
    };
    let input = members("input")?;
    let output = members("output")?;
    if !(input.contains_key("nextToken")
        && input.contains_key("maxResults")
        && output.contains_key("nextToken"))
    {
        return None;
    }
    let lists: Vec<&String> = output
        .iter()
        .filter(|(_, m)| shapes[m["shape"].as_str().unwrap_or_default()]["type"] == "list")
        .map(|(name, _)| name)
        .collect();
    match lists.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

fn opt_u64(v: Option<&Value>) -> String {
    match v.and_then(Value::as_u64) {
        Some(n) => format!("Some({n})"),
        None => "None".to_owned(),
    }
}

fn opt_i64(v: Option<&Value>) -> String {
    match v.and_then(Value::as_i64) {
        Some(n) => format!("Some({n})"),
        None => "None".to_owned(),
    }
}

/// The default a member's documentation states, as a `Option<Default>` expression.
///
/// IVS documents defaults in prose: `Default: <code>LOW</code>`, `Default: "" (empty string, …)`,
/// `Default: 0`, `Default: All countries (an empty array)`, `Default: your service quota or 100,
/// whichever is smaller`, `Defaults to “”`. Only a value that fits the member's own type (an enum
/// value, a boolean, a number within range, an empty string or list) is taken; prose that states
/// none (`Default: no multitrack input configuration is specified`) gives no default.
fn doc_default(doc: &str, target: &Value) -> String {
    let text = doc
        .find("Default: ")
        .map(|at| &doc[at + "Default: ".len()..])
        .or_else(|| {
            doc.find("Defaults to ")
                .map(|at| &doc[at + "Defaults to ".len()..])
        });
    let Some(text) = text else {
        return "None".to_owned();
    };
    let text = text.trim_start();
    let word = if let Some(rest) = text.strip_prefix("<code>") {
        rest.split("</code>").next().unwrap_or("").to_owned()
    } else {
        text.split(|c: char| c.is_whitespace() || c == '<' || c == ',' || c == ')')
            .next()
            .unwrap_or("")
            .trim_end_matches('.')
            .to_owned()
    };
    let kind = target["type"].as_str().unwrap_or("");
    match kind {
        "string" => {
            if word == "\"\"" || word == "“”" {
                return "Some(Default::Str(\"\"))".to_owned();
            }
            let values: Vec<&str> = target
                .get("enum")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if values.contains(&word.as_str()) {
                format!("Some(Default::Str({word:?}))")
            } else {
                "None".to_owned()
            }
        }
        "boolean" => match word.as_str() {
            "true" | "false" => format!("Some(Default::Bool({word}))"),
            _ => "None".to_owned(),
        },
        "integer" | "long" => {
            // `your service quota or 100, whichever is smaller`: the number is the default.
            let number = word.parse::<i64>().ok().or_else(|| {
                text.split(" or ")
                    .nth(1)
                    .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
                    .and_then(|n| n.parse().ok())
            });
            match number {
                Some(n) => format!("Some(Default::Int({n}))"),
                None => "None".to_owned(),
            }
        }
        "list" if text.contains("(an empty array)") => "Some(Default::EmptyList)".to_owned(),
        _ => "None".to_owned(),
    }
}
