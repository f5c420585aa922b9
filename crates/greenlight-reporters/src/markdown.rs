//! The Markdown summary (`--markdown FILE`, and `$GITHUB_STEP_SUMMARY` on GitHub Actions).
//!
//! A headline with the verdict, a table of every check (outcome, duration, one-line summary),
//! then one section per check with something to look at: its findings as a table, failing
//! tests with their tracebacks folded in `<details>`, why it errored with the last lines of
//! its log, and where the full log is.
//!
//! GitHub drops the *whole* step summary when a step writes more than 1 MiB, so the output is
//! capped ([`MarkdownOptions::max_bytes`], 512 KiB by default) and says what it left out. Table
//! cells escape `|`, line breaks and `<`.

use std::fmt::Write as _;

use greenlight_report::{CheckReport, Finding, FindingKind, Outcome, RunReport};

use crate::common::{diff_head, elapsed, facts, findings_of, is_problem, message_without_title, prepare};
use crate::text::{clip, duration, first_line};

/// Limits of the Markdown summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// Most bytes written; GitHub's step summary limit is 1 MiB.
    pub max_bytes: usize,
    /// Most findings listed per check.
    pub max_findings_per_check: usize,
    /// Most lines of a traceback or log excerpt.
    pub max_excerpt_lines: usize,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        Self { max_bytes: 512 * 1024, max_findings_per_check: 100, max_excerpt_lines: 40 }
    }
}

/// Room kept for the closing note about what was cut.
const RESERVE: usize = 1024;

/// The report as GitHub-flavoured Markdown with the default limits.
pub fn render(report: &RunReport) -> String {
    render_with(report, &MarkdownOptions::default())
}

/// The report as GitHub-flavoured Markdown within `options`.
pub fn render_with(report: &RunReport, options: &MarkdownOptions) -> String {
    let report = prepare(report);
    let mut out = Budget::new(options.max_bytes.saturating_sub(RESERVE));

    let verdict = match (report.interrupted, report.outcome) {
        (true, _) => "⏹️ interrupted".to_string(),
        (_, Outcome::Passed | Outcome::Skipped) => "✅ green".to_string(),
        (_, outcome) => format!("{} {}", icon(outcome), outcome.as_str().replace('_', " ")),
    };
    let mut header = format!("## greenlight: {verdict}\n\n");
    let mut facts_line = Vec::new();
    if let Some(name) = &report.project.name {
        facts_line.push(format!("**{}**", inline(name)));
    }
    if let Some(prefix) = report.project.path_in_repo.as_deref().filter(|prefix| !prefix.is_empty()) {
        facts_line.push(code(prefix));
    }
    if let Some(commit) = &report.project.commit {
        let mut text = format!("commit {}", code(&commit[..commit.len().min(12)]));
        if report.project.dirty == Some(true) {
            text.push_str(" (uncommitted changes)");
        }
        facts_line.push(text);
    }
    facts_line.push(duration(report.duration_ms));
    let counts: Vec<String> = report.counts().iter().map(|(outcome, count)| format!("{count} {outcome}")).collect();
    facts_line.push(counts.join(", "));
    facts_line.push(format!("greenlight {}", inline(&report.greenlight_version)));
    let _ = writeln!(header, "{}\n", facts_line.join(" · "));
    header.push_str("| | Check | Outcome | Duration | Summary |\n|:-:|---|---|--:|---|\n");
    for check in &report.checks {
        let name = if check.kind == greenlight_report::NodeKind::Setup {
            format!("{} (setup)", code(&check.id))
        } else {
            code(&check.id)
        };
        let time = elapsed(check);
        let _ = writeln!(
            header,
            "| {} | {name} | {} | {time} | {} |",
            icon(check.outcome),
            check.outcome,
            cell(&clip(first_line(&check.summary), 200))
        );
    }
    out.push_always(&header);

    // Sections: problems first (worst first), then checks with findings that did not fail.
    let mut sections: Vec<&CheckReport> =
        report.checks.iter().filter(|check| is_problem(check.outcome) || !findings_of(check).is_empty()).collect();
    sections.sort_by_key(|check| std::cmp::Reverse(check.outcome.rank()));
    let mut cut_findings = 0usize;
    let mut cut_sections = Vec::new();
    for check in sections {
        if !section(&mut out, check, options, &mut cut_findings) {
            cut_sections.push(check.id.clone());
        }
    }

    let mut text = out.text;
    if cut_findings > 0 || !cut_sections.is_empty() {
        let mut note = format!(
            "\n> [!NOTE]\n> This summary lists at most {} findings per check and stays under {} KiB",
            options.max_findings_per_check,
            options.max_bytes / 1024
        );
        if cut_findings > 0 {
            let _ = write!(note, "; {cut_findings} findings are not listed");
        }
        if !cut_sections.is_empty() {
            let ids: Vec<String> = cut_sections.iter().map(|id| code(id)).collect();
            let _ = write!(note, "; sections left out: {}", ids.join(", "));
        }
        note.push_str(". The JSON report and the SARIF file have everything.\n");
        text.push_str(&note);
    }
    text
}

/// Writes the section of one check; false when not even its heading fitted.
fn section(out: &mut Budget, check: &CheckReport, options: &MarkdownOptions, cut: &mut usize) -> bool {
    let findings = findings_of(check);
    let mut head = format!(
        "\n### {} {} · {}{}\n\n",
        icon(check.outcome),
        code(&check.id),
        check.outcome.as_str().replace('_', " "),
        if check.summary.is_empty() { String::new() } else { format!(" · {}", inline(first_line(&check.summary))) }
    );
    if let Some(reason) = &check.reason
        && reason.trim() != check.summary.trim()
    {
        for line in reason.trim().lines() {
            let _ = writeln!(head, "> {}", inline(line));
        }
        head.push('\n');
    }
    if !out.push(&head) {
        *cut += findings.len();
        return false;
    }

    let tests = check.tests.is_some();
    if !findings.is_empty() {
        let table_head = if tests {
            "| Test | Location | Message |\n|---|---|---|\n"
        } else {
            "| Location | Rule | Message |\n|---|---|---|\n"
        };
        if !out.push(table_head) {
            *cut += findings.len();
            return true;
        }
        let mut shown = 0;
        for finding in &findings {
            if shown >= options.max_findings_per_check || !out.push(&row(check, finding, tests)) {
                break;
            }
            shown += 1;
        }
        if shown < findings.len() {
            let rest = findings.len() - shown;
            *cut += rest;
            out.push_always(&format!("\n… and {rest} more; the JSON report and the SARIF file have them all.\n"));
        }
        let excerpts: Vec<&Finding> = findings.iter().take(shown).filter(|finding| finding.detail.is_some()).collect();
        if !excerpts.is_empty() {
            let mut block =
                format!("\n<details><summary>{}</summary>\n\n", if tests { "Tracebacks" } else { "Details" });
            for finding in excerpts.iter().take(20) {
                let _ = writeln!(block, "**{}**\n", inline(label(check, finding)));
                match diff_head(finding, options.max_excerpt_lines) {
                    Some(diff) => block.push_str(&fenced_as(&diff, "diff")),
                    None => block.push_str(&fenced(&excerpt(
                        finding.detail.as_deref().unwrap_or_default(),
                        options.max_excerpt_lines,
                    ))),
                }
                block.push('\n');
            }
            block.push_str("</details>\n");
            out.push(&block);
        }
    }

    let mut tail = String::new();
    if let Some(log) = &check.log {
        let show_tail = matches!(check.outcome, Outcome::Errored | Outcome::TimedOut)
            || (check.outcome == Outcome::Failed && findings.is_empty());
        if show_tail && !log.tail.trim().is_empty() {
            tail.push_str("\n<details><summary>Last lines of the log</summary>\n\n");
            tail.push_str(&fenced(&excerpt(&log.tail, options.max_excerpt_lines)));
            tail.push_str("</details>\n");
        }
        let _ = writeln!(tail, "\nFull log: {}", code(&log.path));
    }
    out.push(&tail);
    true
}

/// What names a finding in its check's section: its title without the check's name.
fn label<'a>(check: &CheckReport, finding: &'a Finding) -> &'a str {
    let title = finding.title.as_deref().map(first_line).unwrap_or(&finding.rule);
    title
        .strip_prefix(check.id.as_str())
        .map(|rest| rest.trim_start_matches(':').trim_start())
        .filter(|rest| !rest.is_empty())
        .unwrap_or(title)
}

fn row(check: &CheckReport, finding: &Finding, tests: bool) -> String {
    let place = finding.location.as_ref().map(|location| code(&location.display())).unwrap_or_else(|| "—".to_string());
    let mut message = cell(&clip(message_without_title(finding).trim(), 1000));
    let facts = facts(finding);
    if !facts.is_empty() {
        let _ = write!(message, "<br>_{}_", cell(&facts));
    }
    if let Some(help) = &finding.help
        && finding.kind != FindingKind::Test
    {
        let _ = write!(message, "<br>help: {}", cell(help));
    }
    if tests && finding.kind == FindingKind::Test {
        return format!("| {} | {place} | {message} |\n", code(label(check, finding)));
    }
    let rule = match finding.url.as_deref().filter(|url| url.starts_with("https://") || url.starts_with("http://")) {
        Some(url) => format!("[{}]({})", cell(&finding.rule).replace(['[', ']'], ""), url.replace([' ', ')', '|'], "")),
        None => code(&finding.rule),
    };
    format!("| {place} | {rule} | {message} |\n")
}

/// Output that stops growing at a byte budget.
struct Budget {
    text: String,
    max: usize,
}

impl Budget {
    fn new(max: usize) -> Self {
        Self { text: String::new(), max }
    }

    /// Appends `piece` if it fits; false when it does not.
    fn push(&mut self, piece: &str) -> bool {
        if self.text.len() + piece.len() > self.max {
            return false;
        }
        self.text.push_str(piece);
        true
    }

    /// Appends `piece` even past the budget (small, bounded pieces only), cut at `max` plus
    /// the reserve.
    fn push_always(&mut self, piece: &str) {
        if self.text.len() + piece.len() <= self.max + RESERVE / 2 {
            self.text.push_str(piece);
        } else {
            let room = (self.max + RESERVE / 2).saturating_sub(self.text.len());
            let mut end = room.min(piece.len());
            while !piece.is_char_boundary(end) {
                end -= 1;
            }
            self.text.push_str(&piece[..end]);
        }
    }
}

fn icon(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "✅",
        Outcome::Failed => "❌",
        Outcome::Errored => "⚠️",
        Outcome::TimedOut => "⏱️",
        Outcome::Skipped => "⏭️",
        Outcome::Cancelled => "⏹️",
    }
}

/// Text for a table cell: `|` escaped, line breaks as `<br>`, no raw HTML.
pub fn cell(text: &str) -> String {
    text.replace('\r', "").replace('<', "&lt;").replace('|', "\\|").replace('\n', "<br>")
}

/// Text for a line outside tables: no raw HTML, no line breaks.
pub(crate) fn inline(text: &str) -> String {
    text.replace('\r', "").replace('<', "&lt;").replace('\n', " ")
}

/// `text` as inline code that is also safe in a table cell.
pub(crate) fn code(text: &str) -> String {
    if text.contains('`') || text.contains('\n') {
        cell(text).replace('`', "\\`")
    } else {
        format!("`{}`", text.replace('|', "\\|"))
    }
}

/// `text` in a fenced code block whose fence no line of it can close.
pub(crate) fn fenced(text: &str) -> String {
    fenced_as(text, "text")
}

/// A fenced code block of `language` (`text`, `diff`).
fn fenced_as(text: &str, language: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body: String = text.chars().filter(|c| *c == '\n' || *c == '\t' || !c.is_control()).collect();
    format!("{fence}{language}\n{}\n{fence}\n", body.trim_end())
}

/// The last `lines` lines of `text`, saying how many came before.
fn excerpt(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.trim_end().lines().collect();
    let start = all.len().saturating_sub(lines);
    let mut out = String::new();
    if start > 0 {
        let _ = writeln!(out, "… {start} earlier lines");
    }
    out.push_str(&all[start..].join("\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a | b\nc <d>"), "a \\| b<br>c &lt;d>");
        assert_eq!(code("x|y"), "`x\\|y`");
        assert_eq!(code("a`b"), "a\\`b");
    }

    #[test]
    fn fences_outgrow_backticks_in_the_text() {
        assert!(fenced("```\ncode\n```").starts_with("````text\n"));
        assert!(fenced("plain").starts_with("```text\n"));
    }
}
