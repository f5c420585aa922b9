//! GitHub Actions workflow commands (`--github`; on by default when `GITHUB_ACTIONS=true`).
//!
//! Two parts:
//!
//! 1. A collapsible `::group::` per check with its command, findings, reason, the path of its
//!    full log and the last lines of that log. The body of a group is tool output, so it is
//!    wrapped in `::stop-commands::` with a token derived from the body: a test that prints
//!    `::error::...` or `::add-mask::` cannot issue commands through greenlight.
//! 2. Annotations: `::error`, `::warning` and `::notice` with `file`, `line`, `endLine`, `col`,
//!    `endColumn` and `title`. The runner shows only 10 of each kind per step, so the most
//!    important come first: checks that could not decide, then findings round-robin across
//!    checks (the first of every check, then the second, ...), worst severity and kind first.
//!    At most [`GithubOptions::max_per_level`] of each kind are written, then one plain line
//!    says how many more there are.
//!
//! Escaping follows the runner: in the message `%`, `\r`, `\n` become `%25`, `%0D`, `%0A`; in
//! property values `:` and `,` also become `%3A` and `%2C`. `col`/`endColumn` are written only
//! when the region is on one line (the runner drops them otherwise).

use std::fmt::Write as _;

use greenlight_report::{CheckReport, Finding, FindingKind, Outcome, RunReport, Severity};

use crate::common::{diff_head, facts, findings_of, kind_rank, message_without_title, prepare, severity_rank};
use crate::text::{clip, duration, first_line};

/// How the workflow commands are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GithubOptions {
    /// Annotations written per kind (error, warning, notice); the runner shows 10 per step.
    pub max_per_level: usize,
    /// Lines of each check's log tail shown in its group.
    pub log_lines: usize,
    /// Findings listed in each check's group.
    pub max_findings_in_group: usize,
}

impl Default for GithubOptions {
    fn default() -> Self {
        Self { max_per_level: 10, log_lines: 30, max_findings_in_group: 200 }
    }
}

/// The workflow commands for the report with the default options.
pub fn render(report: &RunReport) -> String {
    render_with(report, &GithubOptions::default())
}

/// The workflow commands for the report.
pub fn render_with(report: &RunReport, options: &GithubOptions) -> String {
    let report = prepare(report);
    let mut out = String::new();
    for check in &report.checks {
        group(&mut out, check, options);
    }
    annotations(&mut out, &report, options);
    out
}

/// Escapes a command's message (data).
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a command's property value.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

fn group(out: &mut String, check: &CheckReport, options: &GithubOptions) {
    let mut body = String::new();
    if let Some(reason) = &check.reason {
        let _ = writeln!(body, "{}", reason.trim_end());
    }
    if let Some(command) = &check.command {
        let _ = writeln!(body, "command: {}", command.join(" "));
    }
    if let Some(code) = check.exit_code {
        let _ = writeln!(body, "exit code: {code}");
    }
    let findings = findings_of(check);
    for finding in findings.iter().take(options.max_findings_in_group) {
        let place = finding.location.as_ref().map(|location| format!("{}  ", location.display())).unwrap_or_default();
        let _ = writeln!(body, "{place}{}  {}", finding.rule, clip(first_line(&finding.message), 300));
    }
    if findings.len() > options.max_findings_in_group {
        let _ =
            writeln!(body, "… and {} more (all in the JSON report)", findings.len() - options.max_findings_in_group);
    }
    if let Some(log) = &check.log {
        let _ = writeln!(body, "full log: {}", log.path);
        let tail: Vec<&str> = log.tail.trim_end().lines().collect();
        let tail = &tail[tail.len().saturating_sub(options.log_lines)..];
        if !tail.iter().all(|line| line.trim().is_empty()) {
            let _ = writeln!(body, "--- last lines of the log ---");
            for line in tail {
                let _ = writeln!(body, "{line}");
            }
        }
    }
    let mut title = format!("{} {} {}", check.outcome.as_str().to_uppercase(), check.id, duration(check.duration_ms));
    if !check.summary.is_empty() {
        let _ = write!(title, " · {}", first_line(&check.summary));
    }
    let _ = writeln!(out, "::group::{}", escape_data(&title));
    if !body.is_empty() {
        // The token depends on the body, so the body cannot contain the line that ends it.
        let body = crate::text::printable(&body);
        let token = format!("greenlight-{}", greenlight_report::fingerprint(&["stop-commands", &body]));
        let _ = writeln!(out, "::stop-commands::{token}");
        out.push_str(&body);
        let _ = writeln!(out, "::{token}::");
    }
    out.push_str("::endgroup::\n");
}

/// One annotation before it is written.
struct Annotation {
    level: Severity,
    /// Sort key: lower first.
    key: (u8, usize, u8, u8, usize),
    properties: Vec<(&'static str, String)>,
    message: String,
}

/// One error annotation for a whole check (one that did not decide, or failed without an error
/// finding to point at): its outcome, summary, reason and log.
fn check_annotation(check: &CheckReport, check_index: usize) -> Annotation {
    let mut message = format!("{} {}: {}", check.id, check.outcome, check.summary);
    if let Some(reason) = check.reason.as_deref().filter(|reason| reason.trim() != check.summary.trim()) {
        let _ = write!(message, "\n{}", reason.trim_end());
    }
    if let Some(log) = &check.log {
        let _ = write!(message, "\nfull log: {}", log.path);
    }
    Annotation {
        level: Severity::Error,
        key: (0, 0, 0, 0, check_index),
        properties: vec![("title", format!("greenlight: {} {}", check.id, check.outcome))],
        message,
    }
}

fn annotations(out: &mut String, report: &RunReport, options: &GithubOptions) {
    let mut all = Vec::new();
    for (check_index, check) in report.checks.iter().enumerate() {
        let findings = findings_of(check);
        match check.outcome {
            Outcome::Errored | Outcome::TimedOut => all.push(check_annotation(check, check_index)),
            Outcome::Failed if findings.iter().all(|finding| finding.severity != Severity::Error) => {
                all.push(check_annotation(check, check_index));
            }
            _ => {}
        }
        for (index, finding) in findings.iter().enumerate() {
            all.push(Annotation {
                level: finding.severity,
                key: (1, index, 2 - severity_rank(finding.severity), kind_rank(finding.kind), check_index),
                properties: properties(report, check, finding),
                message: message(finding),
            });
        }
    }
    all.sort_by_key(|annotation| annotation.key);

    let mut written = [0usize; 3];
    let mut left = [0usize; 3];
    for annotation in &all {
        let slot = match annotation.level {
            Severity::Error => 0,
            Severity::Warning => 1,
            Severity::Note => 2,
        };
        if written[slot] >= options.max_per_level {
            left[slot] += 1;
            continue;
        }
        written[slot] += 1;
        let command = ["error", "warning", "notice"][slot];
        let properties: Vec<String> = annotation
            .properties
            .iter()
            .map(|(name, value)| format!("{name}={}", escape_property(&crate::text::printable(value))))
            .collect();
        let message = escape_data(&crate::text::printable(&annotation.message));
        let _ = writeln!(out, "::{command} {}::{message}", properties.join(","));
    }
    let more: Vec<String> = ["errors", "warnings", "notices"]
        .iter()
        .zip(left)
        .filter(|(_, count)| *count > 0)
        .map(|(name, count)| format!("{count} more {name}"))
        .collect();
    if !more.is_empty() {
        let _ = writeln!(
            out,
            "greenlight: {} are not annotated (GitHub shows {} of each kind per step); the groups above, the step summary and the JSON report list them all",
            more.join(", "),
            options.max_per_level
        );
    }
}

fn properties(report: &RunReport, check: &CheckReport, finding: &Finding) -> Vec<(&'static str, String)> {
    let mut properties = Vec::new();
    if let Some(location) = &finding.location {
        properties.push(("file", report.project.repo_path(&location.path)));
        if let Some(line) = location.line.filter(|line| *line >= 1) {
            properties.push(("line", line.to_string()));
            let end_line = location.end_line.filter(|end| *end >= line);
            if let Some(end) = end_line {
                properties.push(("endLine", end.to_string()));
            }
            if end_line.is_none_or(|end| end == line)
                && let Some(column) = location.column.filter(|column| *column >= 1)
            {
                properties.push(("col", column.to_string()));
                if let Some(end) = location.end_column.filter(|end| *end > column) {
                    properties.push(("endColumn", end.to_string()));
                }
            }
        }
    }
    let what = match finding.title.as_deref().map(first_line) {
        Some(title) if finding.kind == FindingKind::Test || title.contains(&finding.rule) => title.to_string(),
        Some(title) => format!("{} {title}", finding.rule),
        None => finding.rule.clone(),
    };
    let title = if what.starts_with(&check.id) { what } else { format!("{}: {what}", check.id) };
    properties.push(("title", title));
    properties
}

fn message(finding: &Finding) -> String {
    let mut message = message_without_title(finding).trim_end().to_string();
    let facts = facts(finding);
    if !facts.is_empty() {
        let _ = write!(message, "\n{facts}");
    }
    if let Some(help) = &finding.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    if let Some(url) = &finding.url {
        let _ = write!(message, "\nsee {url}");
    }
    if let Some(diff) = diff_head(finding, 30) {
        let _ = write!(message, "\n\n{diff}");
    } else if let Some(detail) = &finding.detail {
        let lines: Vec<&str> = detail.trim_end().lines().collect();
        let tail = &lines[lines.len().saturating_sub(12)..];
        let _ = write!(message, "\n\n{}", tail.join("\n"));
    }
    clip(&message, 4000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_runner() {
        assert_eq!(escape_data("100% done\r\nnext"), "100%25 done%0D%0Anext");
        assert_eq!(escape_property("a,b:c%d.py"), "a%2Cb%3Ac%25d.py");
        assert_eq!(escape_property("%3A"), "%253A");
    }
}
