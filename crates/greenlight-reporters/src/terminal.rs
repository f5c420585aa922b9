//! The terminal report: a live view of running checks, then a summary table and the findings
//! grouped by check.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use greenlight_report::{CheckReport, Outcome, RunReport, TestOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::common::{diff_head, elapsed_time, facts, prepare_check};
use crate::text::{clip, duration, gutter, indent, last_lines};

/// How the summary is rendered.
#[derive(Debug, Clone, Copy)]
pub struct SummaryOptions {
    /// ANSI colours.
    pub color: bool,
    /// Show every finding (else at most `max_findings` per check) and every log path.
    pub verbose: bool,
    /// Only problems and the result line.
    pub quiet: bool,
    /// Findings shown per check unless verbose.
    pub max_findings: usize,
    /// The table of checks (off when the live view already printed a line per check: the
    /// table is shown once).
    pub table: bool,
    /// The terminal's width in columns: a check's line is fitted to it. `None` (not a
    /// terminal: a CI log, a pipe) cuts nothing.
    pub width: Option<usize>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self { color: false, verbose: false, quiet: false, max_findings: 30, table: true, width: None }
    }
}

#[derive(Debug, Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn wrap(self, code: &str, text: &str) -> String {
        if self.0 { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }
    fn outcome(self, outcome: Outcome, text: &str) -> String {
        let code = match outcome {
            Outcome::Passed => "32",
            Outcome::Failed => "1;31",
            Outcome::Errored | Outcome::TimedOut => "1;33",
            Outcome::Skipped | Outcome::Cancelled => "2",
        };
        self.wrap(code, text)
    }
    fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }
    fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }
    /// A unified diff with removed lines red and added lines green.
    fn diff(self, text: &str) -> String {
        text.lines()
            .map(|line| match line.as_bytes().first() {
                Some(b'-') if !line.starts_with("---") => self.wrap("31", line),
                Some(b'+') if !line.starts_with("+++") => self.wrap("32", line),
                Some(b'@') => self.wrap("36", line),
                _ => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The fixed-width label of an outcome (`PASS`, `FAIL`, ...).
pub fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Passed => "PASS",
        Outcome::Failed => "FAIL",
        Outcome::Errored => "ERROR",
        Outcome::TimedOut => "TIMEOUT",
        Outcome::Skipped => "SKIP",
        Outcome::Cancelled => "CANCEL",
    }
}

/// Columns before a check's summary: ` FAIL    ruff-check      0.04s  `.
const PREFIX_WIDTH: usize = 1 + 7 + 1 + 13 + 1 + 8 + 2;

/// One line for a finished check: ` FAIL    ruff-check      0.04s  2 findings`, a replayed
/// result marked `(cached)` after its summary (the columns stay aligned). Fitted to `width`
/// when given (the summary is cut, with an ellipsis, to one column less); whole without. `check` must be prepared
/// ([`crate::common::prepare`]); [`live_line`] is the same line for a raw check.
fn check_line(check: &CheckReport, color: bool, width: Option<usize>) -> String {
    let paint = Paint(color);
    let label = paint.outcome(check.outcome, &format!("{:<7}", label(check.outcome)));
    let mut summary = check.summary.lines().next().unwrap_or_default().to_string();
    if check.cached {
        summary.push_str(" (cached)");
    }
    if let Some(width) = width {
        let id = check.id.chars().count().max(13);
        // One column short of the width: a line that fills the last column makes some
        // terminals wrap the next one onto it.
        summary = clip(&summary, width.saturating_sub(PREFIX_WIDTH + id - 13 + 1).max(10));
    }
    format!(" {label} {:<13} {:>8}  {}", check.id, elapsed_time(check), summary).trim_end().to_string()
}

/// The live view's line for a check that just finished, as the summary shows it: redacted and
/// without escapes or control characters from tool output (a tool's clear-screen or window
/// title in a summary never reaches the terminal), fitted to `width` when given.
pub fn live_line(check: &CheckReport, color: bool, width: Option<usize>) -> String {
    check_line(&prepare_check(check), color, width)
}

/// True for a check the live view and the table leave out, counted in one line instead: one
/// the selection left out (`run CHECK...` named others).
pub fn is_deselected(check: &CheckReport) -> bool {
    check.outcome == Outcome::Skipped && check.skip_cause.as_ref().is_some_and(|cause| cause.is_deselected())
}

/// `SKIP     5 checks not selected: build, docker, gitleaks, pip-audit, pytest`, or `None`.
fn deselected_line(report: &RunReport, paint: Paint) -> Option<String> {
    let ids: Vec<&str> =
        report.checks.iter().filter(|check| is_deselected(check)).map(|check| check.id.as_str()).collect();
    if ids.is_empty() {
        return None;
    }
    let what = crate::text::plural(ids.len(), "check");
    Some(format!(" {} {what} not selected: {}", paint.outcome(Outcome::Skipped, "SKIP   "), ids.join(", ")))
}

/// The whole summary printed after a run.
pub fn render_summary(report: &RunReport, options: &SummaryOptions) -> String {
    let report = &crate::common::prepare(report);
    let paint = Paint(options.color);
    let mut out = String::new();
    if !options.quiet {
        let mut header = format!("greenlight {} · {}", report.greenlight_version, report.project.root);
        if let Some(commit) = &report.project.commit {
            let _ = write!(header, " · {}", &commit[..commit.len().min(12)]);
            if report.project.dirty == Some(true) {
                header.push_str(" (uncommitted changes)");
            }
        }
        let _ = writeln!(out, "{}\n", paint.dim(&header));
        if options.table {
            for check in report.checks.iter().filter(|check| !is_deselected(check)) {
                let _ = writeln!(out, "{}", check_line(check, options.color, options.width));
            }
        }
        if let Some(line) = deselected_line(report, paint) {
            let _ = writeln!(out, "{line}");
        }
    }

    for check in &report.checks {
        let problem = matches!(check.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut);
        if !problem && (!options.verbose || check.findings.is_empty()) {
            continue;
        }
        out.push('\n');
        let _ = writeln!(out, "{}", paint.bold(&format!("{} {}: {}", check.id, check.outcome, check.summary)));
        if let Some(reason) = &check.reason {
            // The summary is often the reason's first line: do not print it twice.
            let reason = reason.trim_end();
            let rest = match reason.split_once('\n') {
                Some((first, rest)) if first.trim() == check.summary.trim() => rest,
                None if reason.trim() == check.summary.trim() => "",
                _ => reason,
            };
            if !rest.trim().is_empty() {
                let _ = writeln!(out, "{}", indent(rest, "  "));
            }
        }
        render_tests(&mut out, check, options);
        render_findings(&mut out, check, options, paint);
        if let Some(log) = &check.log
            && (problem || options.verbose)
        {
            if check.findings.is_empty()
                && check.tests.as_ref().is_none_or(|t| t.failed + t.errors == 0)
                && check.reason.is_none()
                && !log.tail.is_empty()
            {
                let _ = writeln!(out, "{}", gutter(&last_lines(&log.tail, 15), "  │ "));
            }
            let _ = writeln!(out, "  {}", paint.dim(&format!("full log: {}", log.path)));
        }
    }

    out.push('\n');
    let counts: Vec<String> = report.counts().iter().map(|(outcome, count)| format!("{count} {outcome}")).collect();
    let result = match (report.interrupted, report.outcome) {
        (true, _) => paint.outcome(Outcome::Cancelled, "INTERRUPTED"),
        (_, Outcome::Passed | Outcome::Skipped) => paint.outcome(Outcome::Passed, "GREEN"),
        (_, outcome) => paint.outcome(outcome, &outcome.as_str().to_uppercase()),
    };
    let _ = writeln!(out, "{result}: {} in {}", counts.join(", "), duration(report.duration_ms));
    out
}

fn render_tests(out: &mut String, check: &CheckReport, options: &SummaryOptions) {
    let Some(tests) = &check.tests else { return };
    let failing = tests.cases.iter().filter(|case| matches!(case.outcome, TestOutcome::Failed | TestOutcome::Error));
    for (shown, case) in failing.enumerate() {
        if shown >= options.max_findings && !options.verbose {
            let _ = writeln!(out, "  … and more failing tests; see the JSON report or the log");
            break;
        }
        let place = match (&case.file, case.line) {
            (Some(file), Some(line)) => format!("{file}:{line}"),
            (Some(file), None) => file.clone(),
            _ => String::new(),
        };
        let kind = if case.outcome == TestOutcome::Error { "ERROR" } else { "FAILED" };
        if place.is_empty() || case.node_id.starts_with(&place) {
            let _ = writeln!(out, "  {kind} {}", case.node_id);
        } else {
            let _ = writeln!(out, "  {kind} {}  ({place})", case.node_id);
        }
        if let Some(message) = &case.message {
            let _ = writeln!(out, "{}", indent(&truncate_lines(message, 3), "      "));
        }
        if let Some(traceback) = &case.traceback {
            let _ = writeln!(out, "{}", gutter(&last_lines(traceback, 12), "    │ "));
        }
    }
}

fn render_findings(out: &mut String, check: &CheckReport, options: &SummaryOptions, paint: Paint) {
    if check.tests.is_some() {
        return; // Test failures are listed above, with their tracebacks.
    }
    let limit = if options.verbose { usize::MAX } else { options.max_findings };
    for finding in check.findings.iter().take(limit) {
        let place = finding.location.as_ref().map(|l| l.display()).unwrap_or_default();
        let mut line = String::from("  ");
        if !place.is_empty() {
            line.push_str(&place);
            line.push_str("  ");
        }
        line.push_str(&paint.bold(&finding.rule));
        line.push_str("  ");
        line.push_str(&truncate_lines(&finding.message, 1));
        if finding.fix_available {
            line.push_str(&paint.dim(" [fixable]"));
        }
        let _ = writeln!(out, "{line}");
        let mut facts = facts(finding);
        if finding.fix_available {
            facts = facts
                .replace("; fixable with `greenlight run --fix`", "")
                .replace("fixable with `greenlight run --fix`", "");
        }
        if !facts.is_empty() {
            let _ = writeln!(out, "    {}", paint.dim(&facts));
        }
        if let Some(diff) = diff_head(finding, if options.verbose { usize::MAX } else { 40 }) {
            let _ = writeln!(out, "{}", gutter(&paint.diff(&diff), "    │ "));
        } else if let Some(detail) = &finding.detail {
            let _ = writeln!(out, "{}", gutter(&last_lines(detail, 8), "    │ "));
        }
        if let Some(help) = &finding.help
            && options.verbose
        {
            let _ = writeln!(out, "    {}", paint.dim(&format!("help: {help}")));
        }
    }
    if check.findings.len() > limit {
        let _ = writeln!(
            out,
            "  … and {} more (all in the JSON report; `-v` shows them here)",
            check.findings.len() - limit
        );
    }
}

fn truncate_lines(text: &str, lines: usize) -> String {
    let kept: Vec<&str> = text.trim_end().lines().take(lines).collect();
    let mut out = kept.join("\n");
    if text.trim_end().lines().count() > lines {
        out.push_str(" …");
    }
    clip(&out, 400)
}

/// How progress is shown while checks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveMode {
    /// Spinners with elapsed time on a terminal.
    Bars,
    /// One plain line per finished check (CI logs, pipes).
    Lines,
    /// Nothing.
    Silent,
}

/// The live view of a run: a spinner per running check with its elapsed time, and one line per
/// finished check. Writes to stderr.
pub struct LiveView {
    mode: LiveMode,
    color: bool,
    width: Option<usize>,
    progress: Option<MultiProgress>,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl std::fmt::Debug for LiveView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveView").field("mode", &self.mode).finish()
    }
}

impl LiveView {
    /// A live view in `mode`, its lines fitted to `width` (the terminal's; `None` in a log).
    pub fn new(mode: LiveMode, color: bool, width: Option<usize>) -> Self {
        let progress = (mode == LiveMode::Bars).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Self { mode, color, width, progress, bars: Mutex::new(BTreeMap::new()) }
    }

    /// The width lines are fitted to.
    pub fn width(&self) -> Option<usize> {
        self.width
    }

    /// True when it prints a line per finished check (then the summary has no table).
    pub fn prints_lines(&self) -> bool {
        self.mode != LiveMode::Silent
    }

    /// A node started.
    pub fn started(&self, id: &str, title: &str) {
        let Some(progress) = &self.progress else {
            return;
        };
        let bar = progress.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("  {spinner} {prefix:<13} {elapsed:>4}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(id.to_string());
        bar.set_message(title.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        self.bars.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), bar);
    }

    /// True when lines may carry colours.
    pub fn color(&self) -> bool {
        self.color
    }

    /// The node `id` finished: its spinner goes, and `line` (a [`live_line`]; none when
    /// empty) is written.
    pub fn finished(&self, id: &str, line: &str) {
        match self.mode {
            LiveMode::Silent => {}
            LiveMode::Lines if line.is_empty() => {}
            LiveMode::Lines => {
                let mut stderr = std::io::stderr().lock();
                let _ = writeln!(stderr, "{line}");
            }
            LiveMode::Bars => {
                if let Some(bar) = self.bars.lock().unwrap_or_else(|p| p.into_inner()).remove(id) {
                    bar.finish_and_clear();
                    if let Some(progress) = &self.progress {
                        progress.remove(&bar);
                    }
                }
                if let Some(progress) = &self.progress
                    && !line.is_empty()
                {
                    let _ = progress.println(line);
                }
            }
        }
    }

    /// Clears any remaining spinners (before the summary is printed).
    pub fn finish(&self) {
        for (_, bar) in std::mem::take(&mut *self.bars.lock().unwrap_or_else(|p| p.into_inner())) {
            bar.finish_and_clear();
        }
        if let Some(progress) = &self.progress {
            let _ = progress.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_fit_the_width_and_keep_cached_aligned() {
        let mut check = CheckReport::new("pytest", "pytest", Outcome::Passed);
        check.summary = "2000 passed ".repeat(20).trim_end().to_string();
        check.duration_ms = 61_000;
        let whole = live_line(&check, false, None);
        assert!(whole.ends_with("2000 passed"), "nothing is cut without a width: {whole}");
        let fitted = live_line(&check, false, Some(80));
        assert_eq!(fitted.chars().count(), 79, "{fitted}");
        assert!(fitted.ends_with('…'), "{fitted}");
        check.cached = true;
        check.summary = "2 passed".to_string();
        let cached = live_line(&check, false, Some(80));
        assert_eq!(cached, " PASS    pytest          1m 01s  2 passed (cached)");
    }

    #[test]
    fn live_lines_carry_no_escapes_from_tool_output() {
        let mut check = CheckReport::new("build", "python -m build", Outcome::Failed);
        check.summary = "RuntimeError: \u{1b}[2J\u{1b}]0;owned\u{7}refused\r".to_string();
        check.duration_ms = 1_390;
        assert_eq!(live_line(&check, false, None), " FAIL    build            1.39s  RuntimeError: refused");
        let coloured = live_line(&check, true, None);
        assert!(coloured.starts_with(" \u{1b}[1;31mFAIL   \u{1b}[0m build"), "{coloured:?}");
        assert!(coloured.ends_with("RuntimeError: refused"), "greenlight's own colours only: {coloured:?}");
    }
}
