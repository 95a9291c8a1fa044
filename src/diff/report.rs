//! Rendering a [`DiffReport`]: text (coloured or not), JSON for tools, Markdown for a CI comment.
//!
//! What a finding shows comes from cassettes, which anyone can send in a pull request: the text
//! form escapes control characters (`redact::printable`), so a cassette cannot drive the terminal
//! or forge lines; the Markdown form also escapes HTML, `@mentions` and links, so it cannot
//! change the CI comment it lands in or notify anyone.

use std::fmt::{self, Write as _};

use serde_json::{json, Value};

use super::{DiffReport, FailOn, Finding, FindingKind, Severity};
use crate::redact;

impl DiffReport {
    /// The number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    }

    /// True when the report holds drift that `fail_on` counts. Info findings never count.
    pub fn fails(&self, fail_on: FailOn) -> bool {
        match fail_on {
            FailOn::Any => self.count(Severity::Breaking) + self.count(Severity::Additive) > 0,
            FailOn::Breaking => self.count(Severity::Breaking) > 0,
        }
    }

    /// The one-line summary: `2 breaking, 17 additive (9 old and 13 new interactions)`.
    pub fn summary(&self) -> String {
        let mut line = String::new();
        if self.count(Severity::Breaking) + self.count(Severity::Additive) == 0 {
            line.push_str("no drift: ");
        }
        let _ = write!(
            line,
            "{} breaking, {} additive",
            self.count(Severity::Breaking),
            self.count(Severity::Additive)
        );
        let n_info = self.count(Severity::Info);
        if n_info > 0 {
            let _ = write!(line, ", {n_info} value change(s)");
        }
        let _ = write!(
            line,
            " ({} old and {} new interactions)",
            self.n_old_interactions, self.n_new_interactions
        );
        line
    }

    /// The terminal report, grouped by operation, then by file pair; ANSI-coloured when `color`.
    pub fn render_text(&self, color: bool) -> String {
        let paint = |code: &str, text: &str| {
            if color {
                format!("\x1b[{code}m{text}\x1b[0m")
            } else {
                text.to_owned()
            }
        };
        let mut out = String::new();
        let mut last_operation = None;
        let mut last_files = None;
        for finding in &self.findings {
            if last_operation != Some(&finding.operation) {
                if last_operation.is_some() {
                    out.push('\n');
                }
                out.push_str(&paint("1", &redact::printable(&finding.operation)));
                out.push('\n');
                last_operation = Some(&finding.operation);
                last_files = None;
            }
            let files = (&finding.old_file, &finding.new_file);
            if last_files != Some(files) {
                out.push_str("  ");
                out.push_str(&paint("2", &redact::printable(&files_text(finding))));
                out.push('\n');
                last_files = Some(files);
            }
            let severity = format!("{:<8}", finding.severity().as_str());
            let severity = match finding.severity() {
                Severity::Breaking => paint("1;31", &severity),
                Severity::Additive => paint("32", &severity),
                Severity::Info => paint("36", &severity),
            };
            let _ = writeln!(
                out,
                "    {severity}  {:<19}  {}",
                finding.kind.label(),
                redact::printable(&detail_text(finding))
            );
        }
        if !self.findings.is_empty() {
            out.push('\n');
        }
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    /// The report as pretty JSON: `{"summary": {…}, "findings": [{severity, kind, operation,
    /// path, old_file, new_file, old, new}, …]}`.
    pub fn to_json(&self) -> String {
        let findings: Vec<Value> = self
            .findings
            .iter()
            .map(|f| {
                json!({
                    "severity": f.severity().as_str(),
                    "kind": f.kind.as_str(),
                    "operation": f.operation,
                    "path": f.path,
                    "old_file": f.old_file.as_ref().map(|p| p.display().to_string()),
                    "new_file": f.new_file.as_ref().map(|p| p.display().to_string()),
                    "old": f.old,
                    "new": f.new,
                })
            })
            .collect();
        let report = json!({
            "summary": {
                "breaking": self.count(Severity::Breaking),
                "additive": self.count(Severity::Additive),
                "info": self.count(Severity::Info),
                "old_interactions": self.n_old_interactions,
                "new_interactions": self.n_new_interactions,
            },
            "findings": findings,
        });
        // Invariant: a `serde_json::Value` always serializes.
        let mut text = serde_json::to_string_pretty(&report).expect("Value serializes");
        text.push('\n');
        text
    }

    /// The report as Markdown for a CI comment: a heading with the summary and one table row
    /// per finding.
    pub fn to_markdown(&self) -> String {
        let mut out = String::from("### ivs-vcr diff\n\n");
        let _ = writeln!(out, "**{}**", self.summary());
        if self.findings.is_empty() {
            return out;
        }
        out.push_str("\n| Severity | Operation | Change | Path | Old | New | Files |\n");
        out.push_str("|---|---|---|---|---|---|---|\n");
        for f in &self.findings {
            let code = |text: Option<&str>| {
                text.map(|t| format!("`{}`", markdown_code(t)))
                    .unwrap_or_default()
            };
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                f.severity(),
                markdown_cell(&f.operation),
                f.kind.label(),
                code(f.path.as_deref()),
                code(f.old.as_deref()),
                code(f.new.as_deref()),
                markdown_cell(&files_text(f)),
            );
        }
        out
    }
}

impl fmt::Display for DiffReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render_text(false))
    }
}

pub(super) fn interaction_count(n: usize) -> String {
    if n == 1 {
        "1 interaction".to_owned()
    } else {
        format!("{n} interactions")
    }
}

pub(super) fn files_text(f: &Finding) -> String {
    match (&f.old_file, &f.new_file) {
        (Some(old), Some(new)) => format!("{} → {}", old.display(), new.display()),
        (Some(old), None) => format!("old: {}", old.display()),
        (None, Some(new)) => format!("new: {}", new.display()),
        (None, None) => String::new(),
    }
}

/// The text after the label on a finding's line.
pub(super) fn detail_text(f: &Finding) -> String {
    let path = f.path.as_deref().unwrap_or_default();
    let old = f.old.as_deref().unwrap_or("none");
    let new = f.new.as_deref().unwrap_or("none");
    use FindingKind::*;
    match f.kind {
        OperationAdded | InteractionAdded => new.to_owned(),
        OperationRemoved | InteractionRemoved => old.to_owned(),
        StatusChanged | ErrorTypeChanged => format!("{old} → {new}"),
        FieldAdded => format!("{path} ({new})"),
        FieldRemoved => format!("{path} (was {old})"),
        TypeChanged | ValueChanged => format!("{path}: {old} → {new}"),
        EnumValueAdded => format!("{path}: {new} (old values: {old})"),
        HeaderAdded | HeaderRemoved => path.to_owned(),
    }
}

/// Text made safe for a Markdown table cell: one line, no control character, and nothing that
/// renders as HTML, a link or image, or an `@mention`.
pub(super) fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in redact::printable(text).chars() {
        match c {
            '|' => out.push_str("\\|"),
            '`' => out.push('\''),
            '\\' => out.push_str("\\\\"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => out.push_str("&#64;"),
            '[' => out.push_str("\\["),
            ']' => out.push_str("\\]"),
            c => out.push(c),
        }
    }
    out
}

/// Text made safe inside a Markdown code span in a table cell: there HTML, links and mentions
/// are shown as they are, so only what ends the span or the cell, and control characters, change.
pub(super) fn markdown_code(text: &str) -> String {
    redact::printable(text)
        .replace('|', "\\|")
        .replace('`', "'")
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::super::*;
    use serde_json::json;

    /// Issue 11 §6: what a cassette says cannot drive a terminal, forge lines, or put HTML,
    /// links or mentions into a CI comment.
    #[test]
    fn cassette_text_is_escaped_in_text_and_markdown() {
        let hostile = "x\n\u{1b}[31m<img src=y>@team [a](b) |`";
        let old = side(
            "old.yaml",
            vec![interaction("/GetChannel", json!({}), 200, json!({"a": 1}))],
        );
        let new = side(
            "new.yaml",
            vec![interaction(
                "/GetChannel",
                json!({}),
                200,
                json!({hostile: 1, "a": 1}),
            )],
        );
        let report = diff(&old, &new);
        let text = report.render_text(false);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.contains("x\\n\\u{1b}[31m<img src=y>@team [a](b) |`"),
            "{text}"
        );
        let markdown = report.to_markdown();
        assert!(!markdown.contains('\u{1b}'), "{markdown}");
        assert!(
            markdown.contains("`x\\n\\u{1b}[31m<img src=y>@team [a](b) \\|'`"),
            "{markdown}"
        );
        assert_eq!(
            super::markdown_cell(hostile),
            "x\\\\n\\\\u{1b}\\[31m&lt;img src=y&gt;&#64;team \\[a\\](b) \\|'"
        );
    }

    #[test]
    fn text_is_coloured_only_when_asked() {
        let old = side(
            "old.yaml",
            vec![interaction("/GetChannel", json!({}), 200, json!({"a": 1}))],
        );
        let new = side(
            "new.yaml",
            vec![interaction("/GetChannel", json!({}), 200, json!({}))],
        );
        let report = diff(&old, &new);
        let plain = "\
GetChannel
  old.yaml → new.yaml
    breaking  field removed        a (was number)

1 breaking, 0 additive (1 old and 1 new interactions)
";
        assert_eq!(report.to_string(), plain);
        assert_eq!(report.render_text(false), plain);
        let coloured = report.render_text(true);
        assert!(
            coloured.contains("\x1b[1mGetChannel\x1b[0m\n"),
            "{coloured}"
        );
        assert!(
            coloured.contains("\x1b[1;31mbreaking\x1b[0m  field removed"),
            "{coloured}"
        );
        let stripped = coloured
            .split("\x1b[")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    part
                } else {
                    &part[part.find('m').unwrap() + 1..]
                }
            })
            .collect::<String>();
        assert_eq!(stripped, plain);
    }
}
