//! What a record server did: counts per operation, and every answer it did not record, bounded.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

/// How many distinct (operation, reason) pairs each list of the summary keeps; further reasons
/// are counted under [`OTHER_REASONS`]. Reasons can hold what a request said (a refused region),
/// so without a bound a hostile client could grow the summary without end.
const MAX_REASONS: usize = 100;

/// How many operations the summary counts one by one (IVS has 46; the rest are made-up paths).
const MAX_OPERATIONS: usize = 100;

/// The operation under which requests past [`MAX_OPERATIONS`] or [`MAX_REASONS`] are counted.
const OTHER_OPERATIONS: &str = "(other operations)";

/// The reason that counts requests past [`MAX_REASONS`].
const OTHER_REASONS: &str = "other reasons (too many distinct reasons to list)";

/// Counts and reports, as the summary shows them.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) operations: BTreeMap<String, RecordOperationSummary>,
    not_recorded: Reasons,
    refused: Reasons,
    pub(super) written: BTreeSet<PathBuf>,
    pub(super) write_errors: BTreeMap<PathBuf, String>,
    /// Unmatched requests of the replaying modes, with their cassette, for the control plane
    /// (the first [`MAX_REASONS`]).
    pub(super) unmatched: Vec<(String, String, String)>,
    /// Requests refused because the run already used `MAX_CASSETTES` cassettes.
    n_over_cassette_limit: u64,
}

/// Skipped requests grouped by operation and reason, in the order each group first appeared.
#[derive(Debug, Default)]
struct Reasons {
    groups: Vec<Skipped>,
    /// (operation, reason) → index in `groups`.
    index: HashMap<(String, String), usize>,
}

impl Reasons {
    fn add(&mut self, operation: &str, reason: String) {
        // Past the bound, everything new goes under one key, whose operation is fixed too:
        // operation names come from request paths, and would otherwise grow the table.
        let key = if self.index.len() >= MAX_REASONS
            && !self
                .index
                .contains_key(&(operation.to_owned(), reason.clone()))
        {
            (OTHER_OPERATIONS.to_owned(), OTHER_REASONS.to_owned())
        } else {
            (operation.to_owned(), reason)
        };
        let groups = &mut self.groups;
        let idx = *self
            .index
            .entry(key)
            .or_insert_with_key(|(operation, reason)| {
                groups.push(Skipped {
                    operation: operation.clone(),
                    reason: reason.clone(),
                    n_requests: 0,
                });
                groups.len() - 1
            });
        groups[idx].n_requests += 1;
    }
}

impl Tally {
    pub(super) fn op(&mut self, operation: &str) -> &mut RecordOperationSummary {
        // Operation names come from request paths: past a bound, new ones are counted together.
        let operation = if self.operations.len() >= MAX_OPERATIONS
            && !self.operations.contains_key(operation)
        {
            OTHER_OPERATIONS
        } else {
            operation
        };
        self.operations.entry(operation.to_owned()).or_default()
    }

    /// Counts a forwarded request whose answer was not recorded, and why (without the operation).
    pub(super) fn not_recorded(&mut self, operation: &str, reason: String) {
        self.op(operation).not_recorded += 1;
        self.not_recorded.add(operation, reason);
    }

    /// Keeps an unmatched request's report for the control plane's summary.
    pub(super) fn unmatched(&mut self, operation: &str, cassette: &str, report: &str) {
        if self.unmatched.len() < MAX_REASONS {
            self.unmatched
                .push((operation.to_owned(), cassette.to_owned(), report.to_owned()));
        }
    }

    /// Forgets what was counted (the control plane's reset); what was written stays listed.
    pub(super) fn forget(&mut self) {
        self.operations.clear();
        self.not_recorded = Reasons::default();
        self.refused = Reasons::default();
        self.unmatched.clear();
        self.n_over_cassette_limit = 0;
    }

    /// Counts a request refused before forwarding, and why (without the operation).
    pub(super) fn refused(&mut self, operation: &str, reason: String) {
        self.op(operation).refused += 1;
        self.refused.add(operation, reason);
    }

    /// Counts a request refused because its cassette would pass the run's limit. Kept apart from
    /// the reasons: each refusal names a new cassette, and would soon be lost among them.
    pub(super) fn over_cassette_limit(&mut self, operation: &str) {
        self.op(operation).refused += 1;
        self.n_over_cassette_limit += 1;
    }

    pub(super) fn summary(&self) -> RecordSummary {
        RecordSummary {
            operations: self.operations.clone(),
            not_recorded: self.not_recorded.groups.clone(),
            refused: self.refused.groups.clone(),
            n_over_cassette_limit: self.n_over_cassette_limit,
            written: self.written.iter().cloned().collect(),
            write_errors: self
                .write_errors
                .iter()
                .map(|(path, e)| (path.clone(), e.clone()))
                .collect(),
        }
    }
}

/// What a record server did: per operation, and every answer it did not record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordSummary {
    /// Per operation counts, sorted by operation.
    pub operations: BTreeMap<String, RecordOperationSummary>,
    /// Forwarded requests whose answer was not recorded (upstream 5xx, upstream faults, the
    /// secret scan), grouped by operation and reason, in order of first occurrence.
    pub not_recorded: Vec<Skipped>,
    /// Requests refused before forwarding (bad region, bad cassette name, unmatched in a mode
    /// that does not forward), grouped the same way.
    pub refused: Vec<Skipped>,
    /// Requests refused because the run already used as many cassettes as it may (1,000).
    pub n_over_cassette_limit: u64,
    /// Cassette files written.
    pub written: Vec<PathBuf>,
    /// Cassette files that could not be written, and why (the last error of each).
    pub write_errors: Vec<(PathBuf, String)>,
}

/// Requests of one operation that were not recorded, or were refused, for the same reason.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// The IVS operation.
    pub operation: String,
    /// Why, as logged and as told to the downstream client.
    pub reason: String,
    /// How many requests.
    pub n_requests: u64,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.reason)?;
        if self.n_requests > 1 {
            write!(f, " (×{})", self.n_requests)?;
        }
        Ok(())
    }
}

/// Counts for one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordOperationSummary {
    /// Answers recorded.
    pub recorded: u64,
    /// Answers replayed from the existing cassette.
    pub replayed: u64,
    /// Answers passed downstream but not recorded.
    pub not_recorded: u64,
    /// Requests refused before forwarding.
    pub refused: u64,
    /// Requests answered by an injected fault (never forwarded, never recorded).
    pub faulted: u64,
}

impl RecordSummary {
    /// Interactions recorded, in total.
    pub fn n_recorded(&self) -> u64 {
        self.operations.values().map(|o| o.recorded).sum()
    }

    /// True when every answer was recorded or replayed and every cassette written.
    pub fn is_clean(&self) -> bool {
        self.not_recorded.is_empty()
            && self.refused.is_empty()
            && self.n_over_cassette_limit == 0
            && self.write_errors.is_empty()
    }
}

impl fmt::Display for RecordSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .operations
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(9)
            .max(9);
        let total = |pick: fn(&RecordOperationSummary) -> u64| -> u64 {
            self.operations.values().map(pick).sum()
        };
        // The faulted column shows only when a fault was injected.
        let n_faulted = total(|o| o.faulted);
        write!(
            f,
            "{:<width$}  {:>8}  {:>8}  {:>12}  {:>7}",
            "operation", "recorded", "replayed", "not recorded", "refused"
        )?;
        if n_faulted > 0 {
            write!(f, "  {:>7}", "faulted")?;
        }
        writeln!(f)?;
        for (op, s) in &self.operations {
            write!(
                f,
                "{op:<width$}  {:>8}  {:>8}  {:>12}  {:>7}",
                s.recorded, s.replayed, s.not_recorded, s.refused
            )?;
            if n_faulted > 0 {
                write!(f, "  {:>7}", s.faulted)?;
            }
            writeln!(f)?;
        }
        write!(
            f,
            "total: {} recorded, {} replayed, {} not recorded, {} refused",
            total(|o| o.recorded),
            total(|o| o.replayed),
            total(|o| o.not_recorded),
            total(|o| o.refused)
        )?;
        if n_faulted > 0 {
            write!(f, ", {n_faulted} injected fault(s)")?;
        }
        writeln!(f)?;
        for path in &self.written {
            writeln!(f, "wrote {}", path.display())?;
        }
        let sections: [(&str, &[Skipped]); 2] = [
            ("not recorded:", &self.not_recorded),
            ("refused:", &self.refused),
        ];
        for (title, lines) in sections {
            if !lines.is_empty() {
                writeln!(f, "{title}")?;
                for line in lines {
                    writeln!(f, "  - {line}")?;
                }
            }
        }
        if self.n_over_cassette_limit > 0 {
            writeln!(
                f,
                "refused past the cassette limit: {} requests named a new cassette after this run had opened {} (the limit for one run)",
                self.n_over_cassette_limit,
                super::MAX_CASSETTES
            )?;
        }
        if !self.write_errors.is_empty() {
            writeln!(f, "not written:")?;
            for (path, e) in &self.write_errors {
                writeln!(f, "  - {}: {e}", path.display())?;
            }
        }
        Ok(())
    }
}
