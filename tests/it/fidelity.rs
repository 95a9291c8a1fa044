//! The rule ledgers (`docs/fidelity/<service>.yaml`) against the models, and the page they make
//! (`docs/FIDELITY.md`).
//!
//! Each model's rule sentences (`support::rules`: every operation's, shape's and member's text,
//! kept when it holds a rule word) must each have a ledger entry; each entry says whether the
//! emulator honours the rule (`enforced`, with the test that shows it), honours what it implies
//! (`inferred`, with the test and where the inference comes from), or not (`not-enforced`,
//! `not-applicable`, with the reason). Entries whose `source` is a user guide's URL hold the
//! quotas and call rates the models do not state. A test fails when a rule has no entry (printing
//! the missing ones as YAML to paste), when a quote left the model, when a status is unknown, or
//! when a named test does not exist. `IVS_VCR_BLESS=1 cargo test --test it fidelity` rewrites the
//! page; without it the test fails when the page differs from what the ledgers render.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use crate::support::rules::{model_rules, object, Names, Rule};

/// A service the page covers: its ledger's file name (also its model's), and its title.
struct Service {
    name: &'static str,
    title: &'static str,
}

/// The three services, in the page's order.
const SERVICES: [Service; 3] = [
    Service {
        name: "ivs",
        title: "Amazon IVS, low-latency streaming (`ivs`)",
    },
    Service {
        name: "ivschat",
        title: "Amazon IVS Chat (`ivschat`)",
    },
    Service {
        name: "ivs-realtime",
        title: "Amazon IVS Real-Time Streaming (`ivs-realtime`)",
    },
];

/// The four statuses, in the page's order.
const STATUSES: [&str; 4] = ["enforced", "inferred", "not-enforced", "not-applicable"];

/// The `where` of a service-wide entry (a quota not tied to one operation or shape).
const SERVICE_WIDE: &str = "service";

/// One ledger entry (the format is in `docs/fidelity/*.yaml`'s heads and the spec).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// `Operation`, `Operation.member`, `Shape` or `Shape.member`, or several; `service` for a
    /// service-wide quota.
    #[serde(rename = "where")]
    places: OneOrMany,
    /// The sentence (or sentences saying the same thing) as the generator extracts it, or as on
    /// the guide's page.
    quote: OneOrMany,
    /// `model`, or the https URL of the page the quote is from.
    source: String,
    status: String,
    /// `path::function` of the test that shows the rule held.
    test: Option<String>,
    /// Why, or from what (required unless enforced).
    note: Option<String>,
}

/// A YAML scalar or a list of them.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn all(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(one) => vec![one.as_str()],
            OneOrMany::Many(many) => many.iter().map(String::as_str).collect(),
        }
    }
}

#[test]
fn ivs_rules_are_all_in_the_ledger() {
    assert_ledger("ivs");
}

#[test]
fn ivschat_rules_are_all_in_the_ledger() {
    assert_ledger("ivschat");
}

#[test]
fn ivs_realtime_rules_are_all_in_the_ledger() {
    assert_ledger("ivs-realtime");
}

/// `docs/FIDELITY.md` is what the ledgers render (`IVS_VCR_BLESS=1` rewrites it).
#[test]
fn fidelity_page_is_rendered_from_the_ledgers() {
    let got = render();
    let path = root().join("docs/FIDELITY.md");
    if std::env::var_os("IVS_VCR_BLESS").is_some() {
        std::fs::write(&path, &got).unwrap();
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        expected == got,
        "{} differs from what the ledgers render; run `IVS_VCR_BLESS=1 cargo test --test it fidelity` and review the diff\nexpected:\n{expected}\n---\ngot:\n{got}\n---",
        path.display()
    );
}

/// Fails with every problem of `service`'s ledger, and the missing rules as YAML to paste.
fn assert_ledger(service: &str) {
    let model = load_model(service);
    let ledger = load_ledger(service);
    let rules = model_rules(&model);
    let mut problems = ledger_problems(&model, &ledger);
    let missing: Vec<&Rule> = rules.iter().filter(|r| !covered(&ledger, r)).collect();
    if !missing.is_empty() {
        problems.push(format!(
            "{} rule sentences of the model have no entry; paste these into docs/fidelity/{service}.yaml and set each status:\n{}",
            missing.len(),
            todo_yaml(&missing)
        ));
    }
    assert!(
        problems.is_empty(),
        "docs/fidelity/{service}.yaml:\n{}",
        problems.join("\n")
    );
}

/// What is wrong with the entries themselves: unknown statuses, missing tests or notes, tests
/// that do not exist, places the model does not name, and quotes no longer in the model.
fn ledger_problems(model: &Value, ledger: &[Entry]) -> Vec<String> {
    let names = Names::of(model);
    let rules = model_rules(model);
    let mut out = Vec::new();
    for (idx, entry) in ledger.iter().enumerate() {
        let at = format!("entry {} (`{}`)", idx + 1, entry.places.all().join("`, `"));
        if !STATUSES.contains(&entry.status.as_str()) {
            out.push(format!(
                "{at}: status `{}` is not one of {STATUSES:?}",
                entry.status
            ));
        }
        let needs_test = matches!(entry.status.as_str(), "enforced" | "inferred");
        match (&entry.test, needs_test) {
            (Some(test), _) => {
                if let Err(why) = test_exists(test) {
                    out.push(format!("{at}: test `{test}` {why}"));
                }
            }
            (None, true) => out.push(format!("{at}: a `{}` entry needs a `test`", entry.status)),
            (None, false) => {}
        }
        if entry.status != "enforced" && entry.note.as_deref().is_none_or(str::is_empty) {
            out.push(format!(
                "{at}: a `{}` entry needs a `note` (why, or from what)",
                entry.status
            ));
        }
        let from_model = entry.source == "model";
        if !from_model && !entry.source.starts_with("https://") {
            out.push(format!(
                "{at}: source `{}` is neither `model` nor an https URL",
                entry.source
            ));
        }
        for place in entry.places.all() {
            if !(names_place(model, &names, place) || (!from_model && place == SERVICE_WIDE)) {
                out.push(format!(
                    "{at}: the model has no operation, shape or member `{place}`"
                ));
            }
        }
        if from_model {
            let found = |place: &str, quote: &str| {
                rules.iter().any(|r| r.place == place && r.quote == quote)
            };
            for quote in entry.quote.all() {
                if !entry.places.all().iter().any(|p| found(p, quote)) {
                    out.push(format!(
                        "{at}: the quote is no longer a rule of the model there: {quote:?}"
                    ));
                }
            }
            for place in entry.places.all() {
                if !entry.quote.all().iter().any(|q| found(place, q)) {
                    out.push(format!("{at}: none of the quotes is at `{place}`"));
                }
            }
        }
    }
    out
}

/// Whether an entry of `ledger` covers `rule`.
fn covered(ledger: &[Entry], rule: &Rule) -> bool {
    ledger.iter().any(|e| {
        e.source == "model"
            && e.places.all().contains(&rule.place.as_str())
            && e.quote.all().contains(&rule.quote.as_str())
    })
}

/// The missing rules as ledger entries with `status: TODO`, one entry per sentence listing every
/// place it appears.
fn todo_yaml(missing: &[&Rule]) -> String {
    let mut by_quote: Vec<(&str, Vec<&str>)> = Vec::new();
    for rule in missing {
        match by_quote.iter_mut().find(|(q, _)| *q == rule.quote) {
            Some((_, places)) => places.push(&rule.place),
            None => by_quote.push((&rule.quote, vec![&rule.place])),
        }
    }
    let mut out = String::new();
    for (quote, places) in by_quote {
        let place = match places.as_slice() {
            [one] => one.to_string(),
            many => format!("[{}]", many.join(", ")),
        };
        // JSON's string syntax is YAML's double-quoted scalar.
        let quote = serde_json::to_string(quote).unwrap();
        writeln!(
            out,
            "- where: {place}\n  quote: {quote}\n  source: model\n  status: TODO"
        )
        .unwrap();
    }
    out
}

/// Whether `place` names an operation, a shape, or a member of one. A member of an operation's
/// input is named after the operation (`CreateChannel.type`), as `support::rules` names it.
fn names_place(model: &Value, names: &Names, place: &str) -> bool {
    let Some((owner, member)) = place.split_once('.') else {
        return model["operations"][place].is_object() || model["shapes"][place].is_object();
    };
    let shape = match model["operations"][owner]["input"]["shape"].as_str() {
        Some(input) => input,
        None if names.operation_of_input(owner).is_some() => return false,
        None => owner,
    };
    model["shapes"][shape]["members"][member].is_object()
}

/// `Ok` when `test` (`path::function`) names a file of the repository holding `fn function`.
fn test_exists(test: &str) -> Result<(), String> {
    let Some((path, function)) = test.rsplit_once("::") else {
        return Err("is not `path::function`".to_owned());
    };
    let text = std::fs::read_to_string(root().join(path))
        .map_err(|e| format!("names a file that cannot be read ({e})"))?;
    let declared = text
        .match_indices(&format!("fn {function}"))
        .any(|(at, m)| {
            text[at + m.len()..]
                .chars()
                .next()
                .is_some_and(|c| c == '(' || c == '<')
        });
    if declared {
        Ok(())
    } else {
        Err(format!("names no `fn {function}` in `{path}`"))
    }
}

/// The repository's root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The botocore model of `service`.
fn load_model(service: &str) -> Value {
    let path = root().join(format!("src/ivs/model/{service}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The ledger of `service`.
fn load_ledger(service: &str) -> Vec<Entry> {
    let path = root().join(format!("docs/fidelity/{service}.yaml"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_yaml::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "cannot parse {} ({e}); each entry has `where`, `quote`, `source`, `status` and optional `test`, `note`",
            path.display()
        )
    })
}

/// The page: head, counts, then per service its operations, shared shapes, and quotas.
fn render() -> String {
    let services: Vec<(&Service, Value, Vec<Entry>)> = SERVICES
        .iter()
        .map(|s| (s, load_model(s.name), load_ledger(s.name)))
        .collect();
    let mut out = String::new();
    out.push_str(HEAD);
    out.push_str("\n| Service | ");
    out.push_str(&STATUSES.join(" | "));
    out.push_str(" | All |\n|---|");
    out.push_str(&"---:|".repeat(STATUSES.len() + 1));
    out.push('\n');
    for (service, _, ledger) in &services {
        let counts: Vec<String> = STATUSES
            .iter()
            .map(|s| ledger.iter().filter(|e| e.status == *s).count().to_string())
            .collect();
        writeln!(
            out,
            "| `{}` | {} | {} |",
            service.name,
            counts.join(" | "),
            ledger.len()
        )
        .unwrap();
    }
    for (service, model, ledger) in &services {
        render_service(&mut out, service, model, ledger);
    }
    out
}

/// One service's part of the page.
fn render_service(out: &mut String, service: &Service, model: &Value, ledger: &[Entry]) {
    writeln!(out, "\n## {}", service.title).unwrap();
    let reach = operations_reaching(model);
    let mut by_op: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    let mut shared: BTreeMap<String, Vec<&Entry>> = BTreeMap::new();
    let mut quotas: Vec<&Entry> = Vec::new();
    for entry in ledger {
        if entry.source != "model" {
            quotas.push(entry);
            continue;
        }
        let mut ops = BTreeSet::new();
        for place in entry.places.all() {
            let owner = place.split('.').next().unwrap_or(place);
            if model["operations"][owner].is_object() {
                ops.insert(owner.to_owned());
            } else {
                ops.extend(reach.get(owner).into_iter().flatten().cloned());
            }
        }
        match (ops.len(), ops.first()) {
            (1, Some(op)) => by_op
                .entry(
                    object(&model["operations"])
                        .find(|(n, _)| *n == op)
                        .unwrap()
                        .0,
                )
                .or_default()
                .push(entry),
            _ => {
                let first = entry.places.all()[0];
                let shape = first.split('.').next().unwrap_or(first).to_owned();
                shared.entry(shape).or_default().push(entry);
            }
        }
    }
    for (op, body) in object(&model["operations"]) {
        writeln!(out, "\n### {op}\n").unwrap();
        writeln!(out, "{}", generated_summary(model, body)).unwrap();
        let entries = by_op.get(op.as_str()).map_or(&[][..], Vec::as_slice);
        if entries.is_empty() {
            writeln!(out, "\nNo rule sentences beyond the model's constraints.").unwrap();
        } else {
            out.push('\n');
            for entry in entries {
                render_entry(out, entry);
            }
        }
    }
    writeln!(out, "\n### Shared shapes\n").unwrap();
    if shared.is_empty() {
        writeln!(out, "None yet.").unwrap();
    }
    for (shape, entries) in &shared {
        writeln!(out, "#### {shape}\n").unwrap();
        for entry in entries {
            render_entry(out, entry);
        }
        out.push('\n');
    }
    writeln!(out, "\n### Quotas and call rates\n").unwrap();
    if quotas.is_empty() {
        writeln!(out, "None yet.").unwrap();
    }
    for entry in quotas {
        render_entry(out, entry);
    }
}

/// What the model alone says of an operation: method and path, required input members, how many
/// members carry constraints, and the errors it lists.
fn generated_summary(model: &Value, op: &Value) -> String {
    let method = op["http"]["method"].as_str().unwrap_or("?");
    let uri = op["http"]["requestUri"].as_str().unwrap_or("?");
    let input = &model["shapes"][op["input"]["shape"].as_str().unwrap_or("")];
    let required: Vec<String> = input["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|m| format!("`{m}`"))
        .collect();
    let members: Vec<&Value> = object(&input["members"]).map(|(_, m)| m).collect();
    let constrained = members
        .iter()
        .filter(|m| {
            let shape = &model["shapes"][m["shape"].as_str().unwrap_or("")];
            ["min", "max", "pattern", "enum"]
                .iter()
                .any(|k| !shape[k].is_null())
        })
        .count();
    let errors: Vec<String> = op["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["shape"].as_str())
        .map(|e| format!("`{e}`"))
        .collect();
    let required = if required.is_empty() {
        "none".to_owned()
    } else {
        required.join(", ")
    };
    format!(
        "`{method} {uri}`. Required input: {required}. Input members with a length, range, pattern or enum in the model: {constrained} of {}, validated from the model. Errors listed: {}.",
        members.len(),
        if errors.is_empty() { "none".to_owned() } else { errors.join(", ") }
    )
}

/// One entry as a list item.
fn render_entry(out: &mut String, entry: &Entry) {
    let places = entry.places.all().join("`, `");
    let quotes: Vec<String> = entry.quote.all().iter().map(|q| format!("“{q}”")).collect();
    write!(
        out,
        "- **{}** `{places}`: {}",
        entry.status,
        quotes.join(" / ")
    )
    .unwrap();
    if entry.source != "model" {
        write!(out, " ([source]({}))", entry.source).unwrap();
    }
    if let Some(test) = &entry.test {
        write!(out, " Test: `{test}`.").unwrap();
    }
    if let Some(note) = &entry.note {
        write!(out, " {}", note.trim()).unwrap();
    }
    out.push('\n');
}

/// Shape name → the operations whose input, output or errors reach it (through members, list
/// members and map keys and values).
fn operations_reaching(model: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (op, body) in object(&model["operations"]) {
        let mut todo: Vec<&str> = [&body["input"]["shape"], &body["output"]["shape"]]
            .into_iter()
            .chain(
                body["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| &e["shape"]),
            )
            .filter_map(Value::as_str)
            .collect();
        let mut seen = BTreeSet::new();
        while let Some(shape) = todo.pop() {
            if !seen.insert(shape) {
                continue;
            }
            out.entry(shape.to_owned()).or_default().insert(op.clone());
            let body = &model["shapes"][shape];
            todo.extend(object(&body["members"]).filter_map(|(_, m)| m["shape"].as_str()));
            for key in ["member", "key", "value"] {
                todo.extend(body[key]["shape"].as_str());
            }
        }
    }
    out
}

/// The page's head, before the counts.
const HEAD: &str = "# Fidelity: which documented rules the emulator follows

This page lists, per service and operation, every rule AWS's documentation states about the IVS
APIs, and whether the emulator (`ivs-vcr serve`, and replay with no cassette) follows it. Read it
before trusting the emulator for a test: a rule marked **enforced** behaves as AWS documents, and
a named test shows it; anything else is spelled out.

- **enforced**: the emulator does what the documentation says; the test named shows it.
- **inferred**: the documentation implies it without stating it; the emulator does what the note
  says it infers, and from what; the test named shows it.
- **not-enforced**: documented, but the emulator does not do it; the note says why and what you
  get instead.
- **not-applicable**: the rule is about something the emulator has no part in (encoders, the CDN,
  billing); the note says why.

Under each operation, the first paragraph is generated from the model: the HTTP method and path,
the required input members, how many input members carry a length, range, pattern or enum, and the
errors the model lists. Every input is checked against all of these (`src/ivs/validate.rs`): a
request that breaks one gets the `ValidationException` AWS sends. The rules follow, each quoted as
the model states it (HTML stripped); rules of shapes that several operations use are under
\"Shared shapes\", and the user guides' quotas and call rates under \"Quotas and call rates\".

How it is kept true: the ledgers in `docs/fidelity/*.yaml` hold one entry per rule. The test
`tests/it/fidelity.rs` extracts every rule sentence from the models in `src/ivs/model/` (sentences
with words such as must, cannot, required if, Default:, at most, maximum, sorted, deprecated) and
fails when one has no entry, when a quote is no longer in the model, or when a named test does not
exist; it also fails when this page is not what the ledgers render
(`IVS_VCR_BLESS=1 cargo test --test it fidelity` rewrites it).

Entries per service and status:
";
