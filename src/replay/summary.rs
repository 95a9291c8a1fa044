//! What a replay server served: counts per operation, unmatched requests, unused interactions.

use std::collections::BTreeMap;
use std::fmt;

use super::ReplayState;

/// The unmatched requests so far: counted per operation, and the first reports kept, so that a
/// client sending wrong requests forever does not grow the server's memory with them.
#[derive(Debug, Default)]
pub(super) struct Unmatched {
    per_operation: BTreeMap<String, u64>,
    reports: Vec<UnmatchedReport>,
}

/// One unmatched request, as the summary keeps it.
#[derive(Debug, Clone)]
pub(super) struct UnmatchedReport {
    operation: String,
    cassette: Option<String>,
    report: String,
}

/// Requests answered by an injected fault (an error or a dropped connection), per operation.
/// Operation names come from request paths: past [`UNMATCHED_REPORT_LIMIT`] names, new ones are
/// counted together.
#[derive(Debug, Default)]
pub(super) struct Faulted {
    per_operation: BTreeMap<String, u64>,
}

impl Faulted {
    pub(super) fn add(&mut self, operation: String) {
        let key = if self.per_operation.len() < UNMATCHED_REPORT_LIMIT
            || self.per_operation.contains_key(&operation)
        {
            operation
        } else {
            "(other paths)".to_owned()
        };
        *self.per_operation.entry(key).or_default() += 1;
    }
}

/// How many unmatched-request reports a server keeps for its summary.
const UNMATCHED_REPORT_LIMIT: usize = 100;

impl Unmatched {
    pub(super) fn add(&mut self, operation: String, cassette: Option<String>, report: String) {
        // Operation names come from request paths: past the limit they are counted together.
        let key = if self.per_operation.len() < UNMATCHED_REPORT_LIMIT
            || self.per_operation.contains_key(&operation)
        {
            operation
        } else {
            "(other paths)".to_owned()
        };
        *self.per_operation.entry(key.clone()).or_default() += 1;
        if self.reports.len() < UNMATCHED_REPORT_LIMIT {
            self.reports.push(UnmatchedReport {
                operation: key,
                cassette,
                report,
            });
        }
    }
}

/// What a replay server served: per operation, and every request or interaction left over.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplaySummary {
    /// Per operation counts, sorted by operation.
    pub operations: BTreeMap<String, ReplayOperationSummary>,
    /// How many requests went unmatched.
    pub n_unmatched: u64,
    /// The diagnostics of the unmatched requests, in arrival order (the first 100).
    pub unmatched: Vec<String>,
    /// Interactions never used.
    pub unused: Vec<UnusedInteraction>,
    /// Cassette files skipped at load.
    pub load_errors: Vec<String>,
}

/// Counts for one operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayOperationSummary {
    /// Requests answered from a cassette.
    pub matched: u64,
    /// Requests nothing answered.
    pub unmatched: u64,
    /// Interactions never used.
    pub unused: u64,
    /// Requests the emulator answered.
    pub emulated: u64,
    /// Requests answered by an injected fault (an error or a dropped connection).
    pub faulted: u64,
}

/// An interaction no request used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedInteraction {
    /// The cassette's name.
    pub cassette: String,
    /// The interaction's 0-based position in the cassette.
    pub interaction_idx: usize,
    /// Its operation.
    pub operation: String,
}

impl ReplaySummary {
    /// Requests answered, in total.
    pub fn n_matched(&self) -> u64 {
        self.operations.values().map(|o| o.matched).sum()
    }

    /// Requests answered by an injected fault, in total.
    pub fn n_faulted(&self) -> u64 {
        self.operations.values().map(|o| o.faulted).sum()
    }

    /// True when nothing went unmatched (and, if `unused_is_failure`, nothing went unused).
    pub fn is_clean(&self, unused_is_failure: bool) -> bool {
        self.n_unmatched == 0 && (!unused_is_failure || self.unused.is_empty())
    }
}

/// How many unused interactions the summary lists one by one.
const UNUSED_LIST_LIMIT: usize = 20;

impl fmt::Display for ReplaySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .operations
            .keys()
            .map(String::len)
            .max()
            .unwrap_or(9)
            .max(9);
        let n_emulated: u64 = self.operations.values().map(|o| o.emulated).sum();
        let n_faulted = self.n_faulted();
        // An emulator without cassettes has only emulated (or faulted) answers: a table of zeros
        // would hide them. The emulated and faulted columns show only when something was.
        let emulated_only = (n_emulated > 0 || n_faulted > 0)
            && self.n_matched() == 0
            && self.n_unmatched == 0
            && self.unused.is_empty();
        type Column = (&'static str, fn(&ReplayOperationSummary) -> u64);
        let mut columns: Vec<Column> = Vec::new();
        if !emulated_only {
            columns.push(("matched", |s| s.matched));
            columns.push(("unmatched", |s| s.unmatched));
            columns.push(("unused", |s| s.unused));
        }
        if n_emulated > 0 {
            columns.push(("emulated", |s| s.emulated));
        }
        if n_faulted > 0 {
            columns.push(("faulted", |s| s.faulted));
        }
        write!(f, "{:<width$}", "operation")?;
        for (name, _) in &columns {
            write!(f, "  {name:>w$}", w = name.len().max(6))?;
        }
        writeln!(f)?;
        for (op, s) in &self.operations {
            write!(f, "{op:<width$}")?;
            for (name, value) in &columns {
                write!(f, "  {:>w$}", value(s), w = name.len().max(6))?;
            }
            writeln!(f)?;
        }
        if emulated_only {
            write!(f, "total: {n_emulated} emulated")?;
        } else {
            write!(
                f,
                "total: {} matched, {} unmatched, {} unused interaction(s)",
                self.n_matched(),
                self.n_unmatched,
                self.unused.len()
            )?;
            if n_emulated > 0 {
                write!(f, ", {n_emulated} emulated")?;
            }
        }
        if n_faulted > 0 {
            write!(f, ", {n_faulted} injected fault(s)")?;
        }
        writeln!(f)?;
        if !self.unmatched.is_empty() {
            writeln!(f, "unmatched requests:")?;
            for report in &self.unmatched {
                writeln!(f, "  - {report}")?;
            }
            let not_listed = self.n_unmatched.saturating_sub(self.unmatched.len() as u64);
            if not_listed > 0 {
                writeln!(f, "  … and {not_listed} more")?;
            }
        }
        if !self.unused.is_empty() {
            writeln!(f, "unused interactions:")?;
            for u in self.unused.iter().take(UNUSED_LIST_LIMIT) {
                writeln!(
                    f,
                    "  - {} #{} ({})",
                    u.cassette, u.interaction_idx, u.operation
                )?;
            }
            if self.unused.len() > UNUSED_LIST_LIMIT {
                writeln!(f, "  … and {} more", self.unused.len() - UNUSED_LIST_LIMIT)?;
            }
        }
        if !self.load_errors.is_empty() {
            writeln!(f, "cassettes skipped at load:")?;
            for e in &self.load_errors {
                writeln!(f, "  - {e}")?;
            }
        }
        Ok(())
    }
}

impl ReplayState {
    /// The summary as the control plane's `GET /_ivs-vcr/summary` answers it.
    pub(super) fn summary_json(&self) -> serde_json::Value {
        let summary = self.summary();
        let operations: serde_json::Map<String, serde_json::Value> = summary
            .operations
            .iter()
            .map(|(op, s)| {
                (
                    op.clone(),
                    serde_json::json!({"matched": s.matched, "unmatched": s.unmatched, "unused": s.unused, "emulated": s.emulated, "faulted": s.faulted}),
                )
            })
            .collect();
        let unmatched: Vec<serde_json::Value> = self
            .unmatched
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reports
            .iter()
            .map(|r| serde_json::json!({"operation": r.operation, "cassette": r.cassette, "report": r.report}))
            .collect();
        let unused: Vec<serde_json::Value> = summary
            .unused
            .iter()
            .map(|u| serde_json::json!({"cassette": u.cassette, "interaction": u.interaction_idx, "operation": u.operation}))
            .collect();
        serde_json::json!({
            "mode": self.mode(),
            "operations": operations,
            "n_unmatched": summary.n_unmatched,
            "n_faulted": summary.n_faulted(),
            "unmatched": unmatched,
            "unused": unused,
            "load_errors": summary.load_errors,
        })
    }

    /// Forgets what was served: unmatched reports and emulated counts (the index rewinds itself).
    pub(super) fn forget(&self) {
        *self.unmatched.lock().unwrap_or_else(|p| p.into_inner()) = Unmatched::default();
        *self.faulted.lock().unwrap_or_else(|p| p.into_inner()) = Faulted::default();
        for n in &self.emulated {
            n.store(0, std::sync::atomic::Ordering::Relaxed);
        }
    }

    pub(super) fn summary(&self) -> ReplaySummary {
        let mut operations: BTreeMap<String, ReplayOperationSummary> = BTreeMap::new();
        let mut unused = Vec::new();
        for (operation, (matched, unused_entries)) in self.index.usage() {
            let slot = operations.entry(operation.clone()).or_default();
            slot.matched = matched;
            slot.unused = unused_entries.len() as u64;
            unused.extend(unused_entries);
        }
        // Entries are numbered in cassette order, so this lists them as the files do.
        unused.sort_unstable();
        let unused = unused
            .into_iter()
            .map(|idx| {
                let entry = &self.index.entries[idx];
                UnusedInteraction {
                    cassette: self.index.cassette_names[entry.cassette_idx].clone(),
                    interaction_idx: entry.interaction_idx,
                    operation: entry.operation.to_string(),
                }
            })
            .collect();
        let unmatched = self.unmatched.lock().unwrap_or_else(|p| p.into_inner());
        for (operation, n) in &unmatched.per_operation {
            operations.entry(operation.clone()).or_default().unmatched += n;
        }
        let faulted = self.faulted.lock().unwrap_or_else(|p| p.into_inner());
        for (operation, n) in &faulted.per_operation {
            operations.entry(operation.clone()).or_default().faulted += n;
        }
        for (op, n) in crate::ivs::service::all_operations().zip(&self.emulated) {
            let n = n.load(std::sync::atomic::Ordering::Relaxed);
            if n > 0 {
                operations.entry(op.name.to_owned()).or_default().emulated += n;
            }
        }
        ReplaySummary {
            operations,
            n_unmatched: unmatched.per_operation.values().sum(),
            unmatched: unmatched.reports.iter().map(|r| r.report.clone()).collect(),
            unused,
            load_errors: self.load_errors.clone(),
        }
    }
}
