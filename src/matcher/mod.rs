//! Matching: choose the recorded interaction that answers a request, or explain why none does.
//!
//! [`Index`] is built once from the loaded cassettes. Every interaction is normalized under its
//! cassette's [`Matching`] options and filed under its [`MatchKey`](normalize::MatchKey), so a
//! lookup is one hash per distinct set of options (almost always one) plus a hash-map probe,
//! whatever the number of interactions. Identical requests form a [`Sequence`]: the n-th identical
//! request gets the n-th recorded answer, through an atomic count of lookups, so parallel clients
//! each get a whole, distinct answer.
//!
//! The slow path, for a request nothing matches, compares it field by field with the interactions
//! of the same operation and reports the nearest one and its first difference. This module does no
//! IO; `replay` turns its answers into HTTP.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde_json::Value;

use crate::cassette::{Cassette, Matching, RecordedRequest};
use crate::normalize::{self, MatchKey, Normalized};
use crate::redact;

/// How strictly requests are matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MatchLevel {
    /// Method, path, query, region and canonical body must all be equal.
    #[default]
    Exact,
    /// Exact first; otherwise any request is answered with the first recorded success of the
    /// same operation, and the answer is marked in a response header.
    Operation,
}

/// What to do once the answers recorded for an identical request are used up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SequenceEnd {
    /// Repeat the last recorded answer.
    #[default]
    RepeatLast,
    /// Treat the extra request as unmatched (`--strict-sequence`).
    Strict,
}

/// The interactions recorded for one request key, in order, and how many times it was asked for.
/// With its key it fills 32 bytes, so a probe reads one cache line and the hit path touches
/// nothing else of the index: use counts are worked out from `asked` when the summary wants them
/// (see [`Index::usage`]). Almost every sequence has one interaction, kept inline; a repeated
/// request keeps the rest in its group's `repeats`.
#[derive(Debug)]
pub(crate) struct Sequence {
    /// How many lookups reached it: the n-th (from 0) gets the n-th answer.
    asked: AtomicU64,
    /// Its first entry.
    first: u32,
    /// Where the rest are in the group's `repeats`, or [`Sequence::NO_REPEATS`].
    rest: u32,
}

impl Sequence {
    const NO_REPEATS: u32 = u32::MAX;

    fn new(entry_idx: usize) -> Sequence {
        Sequence {
            asked: AtomicU64::new(0),
            first: entry_u32(entry_idx),
            rest: Sequence::NO_REPEATS,
        }
    }

    /// Its entries after the first.
    fn rest<'a>(&self, repeats: &'a [Vec<u32>]) -> &'a [u32] {
        match self.rest {
            Sequence::NO_REPEATS => &[],
            idx => &repeats[idx as usize],
        }
    }

    fn get(&self, n: u64, repeats: &[Vec<u32>]) -> Option<usize> {
        match n {
            0 => Some(self.first as usize),
            n => {
                let idx = usize::try_from(n - 1).ok()?;
                self.rest(repeats).get(idx).map(|&e| e as usize)
            }
        }
    }

    fn last(&self, repeats: &[Vec<u32>]) -> usize {
        self.rest(repeats).last().copied().unwrap_or(self.first) as usize
    }

    fn len(&self, repeats: &[Vec<u32>]) -> usize {
        1 + self.rest(repeats).len()
    }

    /// Its entries, in order.
    fn entries<'a>(&self, repeats: &'a [Vec<u32>]) -> impl Iterator<Item = usize> + 'a {
        std::iter::once(self.first)
            .chain(self.rest(repeats).iter().copied())
            .map(|e| e as usize)
    }
}

/// An entry's number as the index keeps it.
fn entry_u32(entry_idx: usize) -> u32 {
    // Invariant: memory runs out long before four billion interactions load (each keeps at
    // least a prepared answer of over a hundred bytes).
    u32::try_from(entry_idx).expect("fewer than 2^32 interactions")
}

/// How many answers position `k` of a sequence of `len` gave, when it was asked `asked` times:
/// one each, except that the last repeats for every extra request unless the sequence is strict.
fn served(asked: u64, k: usize, len: usize, end: SequenceEnd) -> u64 {
    let (k, last) = (k as u64, len as u64 - 1);
    if asked <= k {
        0
    } else if k < last || end == SequenceEnd::Strict {
        1
    } else {
        asked - last
    }
}

/// Passes a [`MatchKey`]'s own bits through as its hash, where SipHash would hash a hash again.
/// The table's keys come from the operator's cassettes, so no request can crowd a bucket.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `MatchKey` is hashed with it, through `write_u64`; anything else still hashes.
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

type SequenceMap = HashMap<MatchKey, Sequence, std::hash::BuildHasherDefault<KeyHasher>>;

/// One interaction in the index.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Which cassette it belongs to (index into the loaded cassettes).
    pub cassette_idx: usize,
    /// Its position in that cassette.
    pub interaction_idx: usize,
    /// The operation of the request, shared by every entry of that operation.
    pub operation: Arc<str>,
    /// The rest of the request, normalized under its cassette's options, as compact JSON: only
    /// a near-miss report reads it (see [`Entry::normalized`]), so it is kept small rather than
    /// ready to use.
    stored: Box<str>,
    /// The recorded status, to prefer successes for operation-level answers.
    pub status: u16,
    /// How many times it answered by operation; exact answers are counted by their sequence.
    operation_uses: AtomicU64,
}

/// One set of matching options and the sequences filed under it.
#[derive(Debug)]
struct Group {
    matching: Matching,
    sequences: SequenceMap,
    /// The entries after the first of every sequence that has more than one.
    repeats: Vec<Vec<u32>>,
}

/// The interactions a client can reach: every cassette, or one selected through the URL.
#[derive(Debug, Default)]
struct Scope {
    groups: Vec<Group>,
    /// True when every group matches under the default options.
    plain: bool,
    /// Operation name → entries, in order, for operation-level answers and near-miss reports.
    by_operation: HashMap<Arc<str>, Vec<usize>>,
}

/// The replay index over a set of cassettes.
#[derive(Debug)]
pub(crate) struct Index {
    pub entries: Vec<Entry>,
    /// Cassette names in load order.
    pub cassette_names: Vec<String>,
    all: Scope,
    per_cassette: Vec<Scope>,
    level: MatchLevel,
    sequence_end: SequenceEnd,
}

/// Why a lookup found nothing; [`Index::explain`] turns it into a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Miss {
    /// The operation of the request.
    pub operation: String,
    /// With `--strict-sequence`: the number of recorded answers already used up.
    pub exhausted: Option<usize>,
}

/// How many recorded interactions a near-miss report compares a request with, of its own
/// operation or (when the cassettes never saw it) of others. A report costs at most this many
/// comparisons, whatever the cassettes hold.
const NEAREST_CANDIDATE_LIMIT: usize = 64;

/// How many JSON nodes (members and elements, on either side) one comparison visits before it
/// stops: a hostile body of 60,000 keys costs the same as one of 2,000.
pub(crate) const COMPARE_NODE_BUDGET: usize = 2_000;

/// How many differences one comparison collects; beyond it, a candidate is simply "far".
const DIFFERENCE_LIMIT: usize = 32;

/// Whether a lookup may fall back to an answer by operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fallback {
    /// As the index's [`MatchLevel`] allows.
    AsLevelAllows,
    /// Only an exact match answers (a first, exact try before region translation).
    ExactOnly,
}

/// A successful lookup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hit {
    /// The entry that answers.
    pub entry_idx: usize,
    /// True when the answer comes from an operation-level match rather than an exact one.
    pub by_operation: bool,
}

impl Index {
    /// Builds the index; entries are numbered across cassettes in load order.
    pub fn build(cassettes: &[Cassette], level: MatchLevel, sequence_end: SequenceEnd) -> Index {
        let mut entries = Vec::with_capacity(cassettes.iter().map(|c| c.interactions.len()).sum());
        let mut all = Scope::default();
        let mut per_cassette = Vec::with_capacity(cassettes.len());
        // One `Arc<str>` per operation name, shared by its entries and both scopes.
        let mut operations: HashMap<String, Arc<str>> = HashMap::new();
        for (cassette_idx, cassette) in cassettes.iter().enumerate() {
            let mut scope = Scope::default();
            for (interaction_idx, interaction) in cassette.interactions.iter().enumerate() {
                let entry_idx = entries.len();
                let normalized = normalize::request(&interaction.request, &cassette.matching);
                let key = normalize::match_key(&normalized);
                let operation = match operations.get(&normalized.operation) {
                    Some(op) => op.clone(),
                    None => {
                        let op: Arc<str> = Arc::from(normalized.operation.as_str());
                        operations.insert(normalized.operation.clone(), op.clone());
                        op
                    }
                };
                for scope in [&mut all, &mut scope] {
                    scope.insert(&cassette.matching, key, &operation, entry_idx);
                }
                entries.push(Entry {
                    cassette_idx,
                    interaction_idx,
                    operation,
                    stored: store(&normalized),
                    status: interaction.response.status,
                    operation_uses: AtomicU64::new(0),
                });
            }
            scope.shrink();
            per_cassette.push(scope);
        }
        all.shrink();
        Index {
            entries,
            cassette_names: cassettes.iter().map(|c| c.name.clone()).collect(),
            all,
            per_cassette,
            level,
            sequence_end,
        }
    }

    /// The index of the cassette with this name, for `/cassette/<name>/` URLs.
    pub fn cassette_idx(&self, name: &str) -> Option<usize> {
        self.cassette_names.iter().position(|n| n == name)
    }

    /// Finds the answer to `req`, within one cassette or all of them, and counts its use. With
    /// [`Fallback::ExactOnly`], only an exact match answers, whatever the match level.
    ///
    /// A miss is cheap: the report saying why is built only when asked, by [`Index::explain`].
    pub fn lookup(
        &self,
        req: &RecordedRequest,
        cassette: Option<usize>,
        fallback: Fallback,
    ) -> Result<Hit, Miss> {
        let key = |matching: &Matching| normalize::request_match_key(req, matching);
        self.lookup_by(key, (&req.method, &req.path), cassette, fallback)
    }

    /// Whether every cassette in reach (one, or all of them) matches under the default options,
    /// so that one key stands for a request in all of them ([`Index::lookup_flat`]).
    pub fn is_plain(&self, cassette: Option<usize>) -> bool {
        self.scope(cassette).plain
    }

    /// [`Index::lookup`] for a request whose key under the default options is known
    /// (`normalize::flat_request_match_key`), within a scope that [`Index::is_plain`].
    pub fn lookup_flat(
        &self,
        key: MatchKey,
        (method, path): (&str, &str),
        cassette: Option<usize>,
        fallback: Fallback,
    ) -> Result<Hit, Miss> {
        debug_assert!(
            self.is_plain(cassette),
            "a flat lookup in a scope with options"
        );
        self.lookup_by(|_| key, (method, path), cassette, fallback)
    }

    fn lookup_by(
        &self,
        key: impl Fn(&Matching) -> MatchKey,
        (method, path): (&str, &str),
        cassette: Option<usize>,
        fallback: Fallback,
    ) -> Result<Hit, Miss> {
        let by_operation = fallback == Fallback::AsLevelAllows;
        let scope = self.scope(cassette);
        let mut exhausted = None;
        for group in &scope.groups {
            if let Some(seq) = group.sequences.get(&key(&group.matching)) {
                match self.take(seq, &group.repeats) {
                    Some(entry_idx) => {
                        return Ok(Hit {
                            entry_idx,
                            by_operation: false,
                        });
                    }
                    None => exhausted = Some(seq.len(&group.repeats)),
                }
            }
        }
        let operation = normalize::operation_name(method, path);
        if by_operation && self.level == MatchLevel::Operation {
            if let Some(entry_idx) = self.operation_answer(scope, &operation) {
                self.entries[entry_idx]
                    .operation_uses
                    .fetch_add(1, Ordering::Relaxed);
                return Ok(Hit {
                    entry_idx,
                    by_operation: true,
                });
            }
        }
        Err(Miss {
            operation,
            exhausted,
        })
    }

    fn scope(&self, cassette: Option<usize>) -> &Scope {
        match cassette {
            Some(idx) => &self.per_cassette[idx],
            None => &self.all,
        }
    }

    fn take(&self, seq: &Sequence, repeats: &[Vec<u32>]) -> Option<usize> {
        let n = seq.asked.fetch_add(1, Ordering::Relaxed);
        match seq.get(n, repeats) {
            Some(entry_idx) => Some(entry_idx),
            None if self.sequence_end == SequenceEnd::RepeatLast => Some(seq.last(repeats)),
            None => None,
        }
    }

    /// Every scope's groups.
    fn groups(&self) -> impl Iterator<Item = &Group> {
        std::iter::once(&self.all)
            .chain(&self.per_cassette)
            .flat_map(|scope| &scope.groups)
    }

    fn operation_answer(&self, scope: &Scope, operation: &str) -> Option<usize> {
        let candidates = scope.by_operation.get(operation)?;
        candidates
            .iter()
            .copied()
            .find(|&idx| (200..300).contains(&self.entries[idx].status))
            .or_else(|| candidates.first().copied())
    }

    /// Why nothing answered `req`: what was asked, then the nearest recorded interaction of the
    /// same operation and the first field that differs, in one line.
    pub fn explain(&self, req: &RecordedRequest, cassette: Option<usize>, miss: &Miss) -> String {
        let scope = self.scope(cassette);
        let operation = &miss.operation;
        let mut report = format!("{operation}: no recorded interaction");
        if let Some(n) = miss.exhausted {
            let _ = write!(
                report,
                " left: all {n} recorded answers to this request were used and --strict-sequence is on"
            );
            return report;
        }
        let matching = scope
            .groups
            .first()
            .map(|g| g.matching.clone())
            .unwrap_or_default();
        let mut got = normalize::request(req, &matching);
        // The report is logged and kept for the summary: it shows no secret, even one in the
        // wrong member, and none cut in half by the preview's length limit.
        redact_normalized(&mut got);
        let _ = write!(report, " for {}", describe(&got));
        // Comparing costs a walk of both bodies per candidate, so a request of an operation the
        // cassettes never saw is compared with a bounded number of others.
        let candidates: Vec<usize> = match scope.by_operation.get(operation.as_str()) {
            Some(same_op) => same_op
                .iter()
                .copied()
                .take(NEAREST_CANDIDATE_LIMIT)
                .collect(),
            None => scope
                .by_operation
                .values()
                .flatten()
                .copied()
                .take(NEAREST_CANDIDATE_LIMIT)
                .collect(),
        };
        let nearest = candidates
            .into_iter()
            .filter_map(|idx| {
                let mut recorded = self.entries[idx].normalized()?;
                redact_normalized(&mut recorded);
                Some((differences(&recorded, &got), idx))
            })
            .filter(|(diffs, _)| !diffs.is_empty())
            .min_by_key(|(diffs, idx)| (diffs.len(), *idx));
        match nearest {
            Some((diffs, idx)) => {
                let entry = &self.entries[idx];
                let _ = write!(
                    report,
                    "; nearest is {} #{} ({}), which differs at {}",
                    self.cassette_names[entry.cassette_idx],
                    entry.interaction_idx,
                    entry.operation,
                    diffs[0]
                );
                if diffs.len() >= DIFFERENCE_LIMIT {
                    report.push_str(" (and more)");
                } else if diffs.len() > 1 {
                    let _ = write!(report, " (and {} more)", diffs.len() - 1);
                }
            }
            None => report.push_str("; the cassettes hold no interaction to compare with"),
        }
        // The report is logged and kept for the summary: no stream key, wherever the request
        // carried it, and nothing that could forge a line or reach the terminal as a control.
        redact::printable(&redact::redact_text(&report)).into_owned()
    }

    /// Rewinds every sequence to its first answer and forgets use counts (the control plane's
    /// reset, so a suite can run again on the same server).
    pub fn rewind(&self) {
        for group in self.groups() {
            for sequence in group.sequences.values() {
                sequence.asked.store(0, Ordering::Relaxed);
            }
        }
        for entry in &self.entries {
            entry.operation_uses.store(0, Ordering::Relaxed);
        }
    }

    /// How many times each entry answered: by operation, plus what its sequences in every scope
    /// served (see [`served`]).
    fn uses(&self) -> Vec<u64> {
        let mut uses: Vec<u64> = self
            .entries
            .iter()
            .map(|entry| entry.operation_uses.load(Ordering::Relaxed))
            .collect();
        for group in self.groups() {
            for seq in group.sequences.values() {
                let asked = seq.asked.load(Ordering::Relaxed);
                if asked == 0 {
                    continue;
                }
                let len = seq.len(&group.repeats);
                for (k, entry_idx) in seq.entries(&group.repeats).enumerate() {
                    uses[entry_idx] += served(asked, k, len, self.sequence_end);
                }
            }
        }
        uses
    }

    /// Per-operation use counts: (operation, matched, never-used interactions).
    pub fn usage(&self) -> BTreeMap<String, (u64, Vec<usize>)> {
        let mut usage: BTreeMap<String, (u64, Vec<usize>)> = BTreeMap::new();
        for ((idx, entry), uses) in self.entries.iter().enumerate().zip(self.uses()) {
            let slot = usage.entry(entry.operation.to_string()).or_default();
            slot.0 += uses;
            if uses == 0 {
                slot.1.push(idx);
            }
        }
        usage
    }
}

impl Scope {
    fn insert(
        &mut self,
        matching: &Matching,
        key: MatchKey,
        operation: &Arc<str>,
        entry_idx: usize,
    ) {
        let group_idx = match self.groups.iter().position(|g| &g.matching == matching) {
            Some(idx) => idx,
            None => {
                self.groups.push(Group {
                    matching: matching.clone(),
                    sequences: SequenceMap::default(),
                    repeats: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[group_idx];
        match group.sequences.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut seq) => {
                let seq = seq.get_mut();
                if seq.rest == Sequence::NO_REPEATS {
                    seq.rest = entry_u32(group.repeats.len());
                    group.repeats.push(Vec::new());
                }
                group.repeats[seq.rest as usize].push(entry_u32(entry_idx));
            }
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Sequence::new(entry_idx));
            }
        }
        match self.by_operation.get_mut(&**operation) {
            Some(entries) => entries.push(entry_idx),
            None => {
                self.by_operation.insert(operation.clone(), vec![entry_idx]);
            }
        }
    }

    /// Once every entry is in: gives back what growing the lists left unused, and notes whether
    /// the scope is plain.
    fn shrink(&mut self) {
        self.plain = self
            .groups
            .iter()
            .all(|g| g.matching == Matching::default());
        for group in &mut self.groups {
            group.sequences.shrink_to_fit();
            group.repeats.shrink_to_fit();
            for rest in &mut group.repeats {
                rest.shrink_to_fit();
            }
        }
        self.by_operation.shrink_to_fit();
        for entries in self.by_operation.values_mut() {
            entries.shrink_to_fit();
        }
    }
}

/// The normalized request of an entry (its service by id), less its operation, in the compact JSON that
/// [`Entry::normalized`] reads back. The body is wrapped in a list so that a JSON `null` body
/// stays apart from no body; `float_roundtrip` makes every number read back as it was.
type Stored = (
    String,
    String,
    String,
    BTreeMap<String, Vec<String>>,
    String,
    Option<Vec<Value>>,
    BTreeMap<String, String>,
);

fn store(n: &Normalized) -> Box<str> {
    let stored = (
        n.service.id(),
        &n.method,
        &n.path,
        &n.query,
        &n.region,
        n.body.as_ref().map(std::slice::from_ref),
        &n.headers,
    );
    // Invariant: a tuple of strings, string-keyed maps and JSON values always serializes.
    serde_json::to_string(&stored)
        .unwrap_or_default()
        .into_boxed_str()
}

impl Entry {
    /// The request, normalized under its cassette's options, read back from its compact form.
    /// `None` only for a body nested deeper than JSON is read (a cassette built in code; a loaded
    /// one is limited to less), which is then left out of the comparison.
    pub(crate) fn normalized(&self) -> Option<Normalized> {
        let (service, method, path, query, region, body, headers): Stored =
            serde_json::from_str(&self.stored).ok()?;
        Some(Normalized {
            service: crate::ivs::Service::from_id(&service)?,
            operation: self.operation.to_string(),
            method,
            path,
            query,
            region,
            body: body.and_then(|b| b.into_iter().next()),
            headers,
        })
    }
}

/// Longest body text shown in a diagnostic, in characters.
const BODY_PRINT_LIMIT: usize = 300;

/// A one-line description of what was asked: method, path, query, region and body.
/// `n` with every secret replaced before it is shown: in its body (`redact::redact_for_report`),
/// and by shape in its path, query and headers.
fn redact_normalized(n: &mut Normalized) {
    if let Some(body) = n.body.as_mut() {
        redact::redact_for_report(body);
    }
    let text = |s: &mut String| {
        if let std::borrow::Cow::Owned(redacted) = redact::redact_text(s) {
            *s = redacted;
        }
    };
    text(&mut n.path);
    n.query.values_mut().flatten().for_each(text);
    n.headers.values_mut().for_each(text);
}

fn describe(n: &Normalized) -> String {
    let mut out = format!("{} {}", n.method, n.path);
    if !n.query.is_empty() {
        let _ = write!(
            out,
            " query {}",
            serde_json::to_string(&n.query).unwrap_or_default()
        );
    }
    let _ = write!(out, " in {}", n.region);
    if let Some(body) = &n.body {
        out.push_str(" with body ");
        out.push_str(&normalize::canonical_json_preview(body, BODY_PRINT_LIMIT));
    }
    out
}

/// Every field where `got` differs from `recorded`, first difference first, each as
/// `field: recorded X, got Y`.
pub(crate) fn differences(recorded: &Normalized, got: &Normalized) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |field: &str, recorded: String, got: String| {
        out.push(format!("{field}: recorded {recorded}, got {got}"));
    };
    if recorded.method != got.method {
        differ("method", recorded.method.clone(), got.method.clone());
    }
    if recorded.path != got.path {
        differ("path", quote(&recorded.path), quote(&got.path));
    }
    if recorded.region != got.region {
        differ("region", quote(&recorded.region), quote(&got.region));
    }
    if recorded.query != got.query {
        let json = |q| serde_json::to_string(q).unwrap_or_default();
        differ("query", json(&recorded.query), json(&got.query));
    }
    if recorded.headers != got.headers {
        let json = |h| serde_json::to_string(h).unwrap_or_default();
        differ("headers", json(&recorded.headers), json(&got.headers));
    }
    let null = Value::Null;
    let mut budget = COMPARE_NODE_BUDGET;
    json_differences(
        "body",
        recorded.body.as_ref().unwrap_or(&null),
        got.body.as_ref().unwrap_or(&null),
        &mut out,
        &mut budget,
    );
    out
}

/// Collects the differences of two bodies, visiting at most `budget` nodes and collecting at most
/// [`DIFFERENCE_LIMIT`] differences (see [`COMPARE_NODE_BUDGET`]).
fn json_differences(
    path: &str,
    recorded: &Value,
    got: &Value,
    out: &mut Vec<String>,
    budget: &mut usize,
) {
    if *budget == 0 || out.len() >= DIFFERENCE_LIMIT {
        return;
    }
    *budget -= 1;
    match (recorded, got) {
        (Value::Object(r), Value::Object(g)) => {
            // Both maps are sorted: a merge walk visits each key once, with no allocation
            // beyond the path of a key that is looked at.
            let (mut rs, mut gs) = (r.iter().peekable(), g.iter().peekable());
            loop {
                if *budget == 0 || out.len() >= DIFFERENCE_LIMIT {
                    return;
                }
                let (key, rv, gv) = match (rs.peek(), gs.peek()) {
                    (None, None) => return,
                    (Some((rk, _)), Some((gk, _))) if rk == gk => {
                        let (key, rv) = rs.next().expect("peeked");
                        let (_, gv) = gs.next().expect("peeked");
                        (key, Some(rv), Some(gv))
                    }
                    (Some((rk, _)), Some((gk, _))) if rk < gk => {
                        let (key, rv) = rs.next().expect("peeked");
                        (key, Some(rv), None)
                    }
                    (Some(_), None) => {
                        let (key, rv) = rs.next().expect("peeked");
                        (key, Some(rv), None)
                    }
                    _ => {
                        let (key, gv) = gs.next().expect("peeked");
                        (key, None, Some(gv))
                    }
                };
                *budget = budget.saturating_sub(1);
                let child = format!("{path}.{key}");
                match (rv, gv) {
                    (Some(rv), Some(gv)) => json_differences(&child, rv, gv, out, budget),
                    (Some(rv), None) => {
                        out.push(format!("{child}: recorded {}, got nothing", show(rv)))
                    }
                    (None, Some(gv)) => {
                        out.push(format!("{child}: recorded nothing, got {}", show(gv)))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(r), Value::Array(g)) if r.len() == g.len() => {
            for (i, (rv, gv)) in r.iter().zip(g).enumerate() {
                if *budget == 0 || out.len() >= DIFFERENCE_LIMIT {
                    return;
                }
                json_differences(&format!("{path}[{i}]"), rv, gv, out, budget);
            }
        }
        (r, g) if r != g => out.push(format!("{path}: recorded {}, got {}", show(r), show(g))),
        _ => {}
    }
}

fn show(value: &Value) -> String {
    normalize::canonical_json_preview(value, 120)
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[cfg(test)]
mod tests;
