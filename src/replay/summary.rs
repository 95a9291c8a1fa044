//! What a replay server served: counts per operation, unmatched requests, unused interactions;
//! and, per account, the emulated and faulted answers.
//!
//! Accounts: a request's access key id picks its emulator account (`emulator::account_of`), so
//! one server serves many parallel workers, each in its own account. The emulated and faulted
//! answers are counted per account as well as in total ([`PerAccount`]), so that
//! `GET /_ivs-vcr/summary?account=ID` answers one worker's part. Matched, unmatched and unused
//! are not: a cassette interaction is shared by every account that replays it, and keeping who
//! used it would cost the replay path a lookup per hit; they stay server-wide.

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
/// counted together. Those of an operation of the catalog are also counted per account, when the
/// request's account is known (the server has an emulator).
#[derive(Debug)]
pub(super) struct Faulted {
    per_operation: BTreeMap<String, u64>,
    per_account: PerAccount,
}

impl Faulted {
    /// No faulted request yet; at most `max_accounts` accounts counted one by one.
    pub(super) fn new(max_accounts: usize) -> Faulted {
        Faulted {
            per_operation: BTreeMap::new(),
            per_account: PerAccount::new(max_accounts),
        }
    }

    /// Counts one faulted request of `operation`, made in `account` when known.
    pub(super) fn add(&mut self, operation: String, account: Option<&str>) {
        if let Some(account) = account {
            if let Some(idx) = crate::ivs::service::operation_index(&operation) {
                self.per_account.add(account, idx);
            }
        }
        let key = if self.per_operation.len() < UNMATCHED_REPORT_LIMIT
            || self.per_operation.contains_key(&operation)
        {
            operation
        } else {
            "(other paths)".to_owned()
        };
        *self.per_operation.entry(key).or_default() += 1;
    }

    /// Forgets every count.
    fn forget(&mut self) {
        self.per_operation.clear();
        self.per_account.forget();
    }
}

/// Requests the emulator answered, per operation of the catalog (in
/// `ivs::service::all_operations` order): in total, and per account.
#[derive(Debug)]
pub(super) struct Emulated {
    total: Box<[u64]>,
    per_account: PerAccount,
}

impl Emulated {
    /// No emulated request yet; at most `max_accounts` accounts counted one by one.
    pub(super) fn new(max_accounts: usize) -> Emulated {
        Emulated {
            total: vec![0; crate::ivs::service::all_operations().count()].into_boxed_slice(),
            per_account: PerAccount::new(max_accounts),
        }
    }

    /// Counts one answer of operation `op_idx` (its place in the catalog) in `account`.
    pub(super) fn add(&mut self, account: &str, op_idx: usize) {
        if let Some(n) = self.total.get_mut(op_idx) {
            *n += 1;
            self.per_account.add(account, op_idx);
        }
    }

    /// Forgets every count.
    fn forget(&mut self) {
        self.total.fill(0);
        self.per_account.forget();
    }
}

/// Counts per account and per operation of the catalog. An account's counters are allocated at
/// its first request, and the count of an account costs a map lookup by `&str` under the lock its
/// owner already takes. At most `max_accounts` accounts (the emulator's own bound on accounts
/// with state) are kept: a client can sign with any number of 12-digit keys, and the requests of
/// the accounts past the bound are counted only in the totals.
#[derive(Debug)]
pub(super) struct PerAccount {
    counts: BTreeMap<Box<str>, Box<[u64]>>,
    max_accounts: usize,
}

impl PerAccount {
    fn new(max_accounts: usize) -> PerAccount {
        PerAccount {
            counts: BTreeMap::new(),
            max_accounts,
        }
    }

    fn add(&mut self, account: &str, op_idx: usize) {
        // Looked up first, so that counting in a known account allocates nothing.
        if let Some(counts) = self.counts.get_mut(account) {
            if let Some(n) = counts.get_mut(op_idx) {
                *n += 1;
            }
            return;
        }
        if self.counts.len() >= self.max_accounts {
            return;
        }
        let mut counts = vec![0; crate::ivs::service::all_operations().count()];
        if let Some(n) = counts.get_mut(op_idx) {
            *n += 1;
        }
        self.counts
            .insert(account.into(), counts.into_boxed_slice());
    }

    fn get(&self, account: &str) -> Option<&[u64]> {
        self.counts.get(account).map(|counts| &counts[..])
    }

    fn forget(&mut self) {
        self.counts.clear();
    }

    fn forget_account(&mut self, account: &str) {
        self.counts.remove(account);
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
            "accounts": self.accounts_json(),
        })
    }

    /// Every counted account's part of the summary (see [`ReplayState::account_json`]), by id.
    fn accounts_json(&self) -> serde_json::Value {
        let emulated = self.emulated.lock().unwrap_or_else(|p| p.into_inner());
        let faulted = self.faulted.lock().unwrap_or_else(|p| p.into_inner());
        let mut ids: Vec<&str> = emulated.per_account.counts.keys().map(|id| &**id).collect();
        ids.extend(faulted.per_account.counts.keys().map(|id| &**id));
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter()
            .map(|id| {
                let part = account_part(emulated.per_account.get(id), faulted.per_account.get(id));
                (id.to_owned(), part)
            })
            .collect::<serde_json::Map<_, _>>()
            .into()
    }

    /// One account's part of the summary, as `GET /_ivs-vcr/summary?account=ID` answers it:
    /// `{mode, account, operations: {<op>: {emulated, faulted}}, n_emulated, n_faulted}`, zeros
    /// for an account nothing was answered in. Cassette counts (matched, unmatched, unused) are
    /// server-wide, and only in the whole summary (see the module doc).
    pub(super) fn account_json(&self, account: &str) -> serde_json::Value {
        let emulated = self.emulated.lock().unwrap_or_else(|p| p.into_inner());
        let faulted = self.faulted.lock().unwrap_or_else(|p| p.into_inner());
        let mut part = account_part(
            emulated.per_account.get(account),
            faulted.per_account.get(account),
        );
        if let Some(object) = part.as_object_mut() {
            object.insert("mode".to_owned(), self.mode().into());
            object.insert("account".to_owned(), account.into());
        }
        part
    }

    /// Forgets what was served: unmatched reports and emulated counts (the index rewinds itself).
    pub(super) fn forget(&self) {
        *self.unmatched.lock().unwrap_or_else(|p| p.into_inner()) = Unmatched::default();
        self.faulted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget();
        self.emulated
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .forget();
    }

    /// Forgets one account's counts, as `POST /_ivs-vcr/reset?account=ID` empties its state.
    pub(super) fn forget_account(&self, account: &str) {
        let mut faulted = self.faulted.lock().unwrap_or_else(|p| p.into_inner());
        faulted.per_account.forget_account(account);
        drop(faulted);
        let mut emulated = self.emulated.lock().unwrap_or_else(|p| p.into_inner());
        emulated.per_account.forget_account(account);
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
        let emulated = self.emulated.lock().unwrap_or_else(|p| p.into_inner());
        for (op, &n) in crate::ivs::service::all_operations().zip(&emulated.total[..]) {
            if n > 0 {
                operations.entry(op.name.to_owned()).or_default().emulated += n;
            }
        }
        drop(emulated);
        ReplaySummary {
            operations,
            n_unmatched: unmatched.per_operation.values().sum(),
            unmatched: unmatched.reports.iter().map(|r| r.report.clone()).collect(),
            unused,
            load_errors: self.load_errors.clone(),
        }
    }
}

/// One account's counts as JSON: `{operations: {<op>: {emulated, faulted}}, n_emulated,
/// n_faulted}`, the operations that have a count, sorted; the tag operations every service names
/// alike are counted together, as in the whole summary.
fn account_part(emulated: Option<&[u64]>, faulted: Option<&[u64]>) -> serde_json::Value {
    let mut operations: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let at = |counts: Option<&[u64]>, idx: usize| counts.and_then(|c| c.get(idx)).copied();
    for (idx, op) in crate::ivs::service::all_operations().enumerate() {
        let (e, f) = (
            at(emulated, idx).unwrap_or(0),
            at(faulted, idx).unwrap_or(0),
        );
        if e > 0 || f > 0 {
            let slot = operations.entry(op.name).or_default();
            slot.0 += e;
            slot.1 += f;
        }
    }
    let (n_emulated, n_faulted) = operations
        .values()
        .fold((0, 0), |(e, f), (oe, of)| (e + oe, f + of));
    let operations: serde_json::Map<String, serde_json::Value> = operations
        .into_iter()
        .map(|(op, (e, f))| {
            (
                op.to_owned(),
                serde_json::json!({"emulated": e, "faulted": f}),
            )
        })
        .collect();
    serde_json::json!({
        "operations": operations,
        "n_emulated": n_emulated,
        "n_faulted": n_faulted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_account_counts_stop_at_the_bound_and_allocate_once() {
        let mut counts = PerAccount::new(2);
        counts.add("111111111111", 0);
        counts.add("111111111111", 0);
        counts.add("222222222222", 1);
        counts.add("333333333333", 1);
        assert_eq!(counts.get("111111111111").map(|c| c[0]), Some(2));
        assert_eq!(counts.get("222222222222").map(|c| c[1]), Some(1));
        assert_eq!(counts.get("333333333333"), None, "past the bound");
        counts.forget_account("111111111111");
        counts.add("333333333333", 1);
        assert_eq!(counts.get("333333333333").map(|c| c[1]), Some(1));
    }

    #[test]
    fn emulated_totals_count_accounts_past_the_bound() {
        let mut emulated = Emulated::new(1);
        emulated.add("111111111111", 3);
        emulated.add("222222222222", 3);
        assert_eq!(emulated.total[3], 2);
        assert_eq!(
            emulated.per_account.get("111111111111").map(|c| c[3]),
            Some(1)
        );
        assert_eq!(emulated.per_account.get("222222222222"), None);
    }

    #[test]
    fn account_part_names_operations_and_sums() {
        let n = crate::ivs::service::all_operations().count();
        let create = crate::ivs::service::operation_index("CreateChannel").unwrap();
        let get = crate::ivs::service::operation_index("GetChannel").unwrap();
        let mut emulated = vec![0; n];
        emulated[create] = 2;
        emulated[get] = 1;
        let mut faulted = vec![0; n];
        faulted[get] = 4;
        let part = account_part(Some(&emulated), Some(&faulted));
        assert_eq!(
            part,
            serde_json::json!({
                "operations": {
                    "CreateChannel": {"emulated": 2, "faulted": 0},
                    "GetChannel": {"emulated": 1, "faulted": 4},
                },
                "n_emulated": 3,
                "n_faulted": 4,
            })
        );
        assert_eq!(
            account_part(None, None),
            serde_json::json!({"operations": {}, "n_emulated": 0, "n_faulted": 0})
        );
    }
}
