//! Finding fingerprints that survive line shifts.
//!
//! A finding's identity across runs (SARIF `partialFingerprints`, the comparison of
//! `--new-from` and of a baseline file) must not change when lines are added above it, and must
//! change when the line it is about changes. So the fingerprint of a finding on a line is made
//! of the rule, the path, the content of the line and of its nearest non-blank neighbours
//! (whitespace removed, so re-indenting or reformatting does not change it), and an occurrence
//! index that tells apart findings of the same rule on identical lines of one file (in line
//! order). The line number is not in it.
//!
//! [`LineFingerprints::line`] is the same without the neighbours: a finding whose neighbour
//! changed (a line inserted right above it) keeps that one, so a comparison can match on it
//! when the context no longer matches.
//!
//! This module is pure: the caller reads the files and hands their text over.

use std::collections::BTreeMap;

use crate::model::{Finding, fingerprint};

/// Non-blank lines on each side of a finding's line that go into its fingerprint.
pub const NEIGHBOURS: usize = 1;

/// A file's text, split into lines with whitespace removed: what fingerprints are made of.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceText {
    lines: Vec<String>,
}

impl SourceText {
    /// The normalised lines of `text` (any line ending).
    pub fn new(text: &str) -> Self {
        Self { lines: text.lines().map(normalize).collect() }
    }

    /// The normalised content of the 1-based `line`, `None` past the end of the file.
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        self.lines.get(index).map(String::as_str)
    }

    /// The normalised line and up to [`NEIGHBOURS`] non-blank lines before and after it (blank
    /// lines are skipped, so adding or removing blank lines around a finding keeps its
    /// context). `None` when the line is not in the file.
    pub fn context(&self, line: u32) -> Option<Vec<&str>> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        let own = self.lines.get(index)?;
        let before = self.lines[..index].iter().rev().filter(|line| !line.is_empty()).take(NEIGHBOURS);
        let after = self.lines[index + 1..].iter().filter(|line| !line.is_empty()).take(NEIGHBOURS);
        let mut context: Vec<&str> = before.map(String::as_str).collect();
        context.reverse();
        context.push("\u{1}");
        context.push(own);
        context.push("\u{1}");
        context.extend(after.map(String::as_str));
        Some(context)
    }
}

/// A line's content without whitespace (indentation, spaces around operators, `\r`).
pub fn normalize(line: &str) -> String {
    line.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The two fingerprints of a finding on a line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFingerprints {
    /// Rule, path, the line and its neighbours, occurrence: the finding's fingerprint.
    pub context: String,
    /// Rule, path, the line alone, occurrence: survives an edit of a neighbouring line.
    pub line: String,
}

/// The fingerprint a finding gets from [`Finding::new`] when it has a line: rule, path and the
/// line number. [`fingerprint_findings`] replaces exactly these (a checker that set its own
/// identity, such as pytest's node id or gitleaks' fingerprint, keeps it).
pub fn line_number_fingerprint(finding: &Finding) -> Option<String> {
    let location = finding.location.as_ref()?;
    Some(fingerprint(&[&finding.rule, &location.path, &location.line.unwrap_or(0).to_string()]))
}

/// Fingerprints every finding on a line of a file from the file's content instead of the line
/// number (see the module doc), where the checker left the default fingerprint. `source` gives
/// the text of a path relative to the project root, `None` when it cannot be read: such
/// findings (and findings past the end of their file) get rule, path and message instead.
///
/// Returns the line-only fingerprint of each finding (by index) that was fingerprinted from
/// content, for comparisons that fall back to it.
pub fn fingerprint_findings(
    findings: &mut [Finding],
    mut source: impl FnMut(&str) -> Option<SourceText>,
) -> BTreeMap<usize, String> {
    let mut texts: BTreeMap<String, Option<SourceText>> = BTreeMap::new();
    let mut order: Vec<usize> = (0..findings.len())
        .filter(|index| {
            let finding = &findings[*index];
            finding.location.as_ref().is_some_and(|location| location.line.is_some())
                && line_number_fingerprint(finding).as_deref() == Some(finding.fingerprint.as_str())
        })
        .collect();
    order.sort_by_key(|index| findings[*index].location.as_ref().and_then(|location| location.line));
    let mut occurrences: BTreeMap<String, u32> = BTreeMap::new();
    let mut line_only = BTreeMap::new();
    for index in order {
        let finding = &findings[index];
        let Some(location) = finding.location.as_ref() else { continue };
        let line = location.line.unwrap_or(0);
        let text = texts.entry(location.path.clone()).or_insert_with(|| source(&location.path));
        let parts = text.as_ref().and_then(|text| Some((text.context(line)?, text.line(line)?.to_string())));
        let new = match parts {
            Some((context, own)) => {
                let context = context.join("\n");
                let context_key = fingerprint(&[&finding.rule, &location.path, &context]);
                let line_key = fingerprint(&[&finding.rule, &location.path, &own]);
                let fingerprints = LineFingerprints {
                    context: with_occurrence(&mut occurrences, context_key),
                    line: with_occurrence(&mut occurrences, line_key),
                };
                line_only.insert(index, fingerprints.line);
                fingerprints.context
            }
            None => fingerprint(&[&finding.rule, &location.path, &finding.message]),
        };
        findings[index].fingerprint = new;
    }
    line_only
}

/// `key` with the number of earlier findings that had the same key: identical lines of one
/// file get distinct fingerprints, in line order.
fn with_occurrence(occurrences: &mut BTreeMap<String, u32>, key: String) -> String {
    let seen = occurrences.entry(key.clone()).or_insert(0);
    let occurrence = *seen;
    *seen += 1;
    fingerprint(&[&key, &occurrence.to_string()])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Location;

    const APP: &str =
        "import os\nimport sys\n\n\ndef handler(request):\n    value = eval(request.body)\n    return value\n";

    fn finding(rule: &str, line: u32) -> Finding {
        Finding::new(rule, "message", Some(Location::at("app/main.py", Some(line), Some(5))))
    }

    fn fingerprints(text: &str, findings: &mut [Finding]) -> Vec<String> {
        let source = SourceText::new(text);
        fingerprint_findings(findings, |path| (path == "app/main.py").then(|| source.clone()));
        findings.iter().map(|finding| finding.fingerprint.clone()).collect()
    }

    #[test]
    fn a_line_shift_keeps_the_fingerprint() {
        let before = fingerprints(APP, &mut [finding("S307", 6), finding("F401", 1)]);
        let shifted = format!("\"\"\"The service.\"\"\"\n{}", APP.replace("\n\n\ndef", "\n\n\nTIMEOUT = 3\n\n\ndef"));
        let after = fingerprints(&shifted, &mut [finding("S307", 10), finding("F401", 2)]);
        assert_eq!(before[0], after[0], "the line moved from 6 to 10");
        assert_ne!(before[1], after[1], "a new line above `import os` is its neighbour");
        let reindented = APP.replace("    value = eval(request.body)", "\tvalue = eval( request.body )");
        assert_eq!(fingerprints(&reindented, &mut [finding("S307", 6)])[0], before[0], "whitespace only");
        let blank = APP.replace("    value = eval", "\n    value = eval");
        assert_eq!(fingerprints(&blank, &mut [finding("S307", 7)])[0], before[0], "a blank line is no neighbour");
    }

    #[test]
    fn an_edit_of_the_line_or_its_neighbour_changes_it() {
        let before = fingerprints(APP, &mut [finding("S307", 6)]);
        let edited = APP.replace("eval(request.body)", "eval(request.text)");
        assert_ne!(fingerprints(&edited, &mut [finding("S307", 6)]), before);
        let neighbour = APP.replace("return value", "return value or None");
        assert_ne!(fingerprints(&neighbour, &mut [finding("S307", 6)]), before);
        assert_ne!(fingerprints(APP, &mut [finding("PGH001", 6)]), before, "another rule");
    }

    #[test]
    fn the_line_alone_survives_a_neighbour_edit() {
        let source = SourceText::new(APP);
        let mut findings = [finding("S307", 6)];
        let before = fingerprint_findings(&mut findings, |_| Some(source.clone()));
        let neighbour = SourceText::new(&APP.replace("return value", "return value or None"));
        let mut findings = [finding("S307", 6)];
        let after = fingerprint_findings(&mut findings, |_| Some(neighbour.clone()));
        assert_eq!(before[&0], after[&0]);
        assert_ne!(findings[0].fingerprint, before[&0], "the line-only fingerprint is another hash");
    }

    #[test]
    fn identical_lines_get_occurrence_indices() {
        let text = "x = 1\nprint(x)\nx = 1\nprint(x)\nx = 1\nprint(x)\n";
        // Lines 2 and 4 have the same context, 6 has no line after it.
        let prints = fingerprints(text, &mut [finding("T201", 6), finding("T201", 2), finding("T201", 4)]);
        assert_eq!(prints.iter().collect::<std::collections::BTreeSet<_>>().len(), 3, "{prints:?}");
        let text = "print(x)\nprint(x)\nprint(x)\nprint(x)\n";
        let once = fingerprints(text, &mut [finding("T201", 2), finding("T201", 3)]);
        assert_ne!(once[0], once[1], "identical lines with identical neighbours");
        let shifted = format!("import x\n\n{text}");
        assert_eq!(fingerprints(&shifted, &mut [finding("T201", 4), finding("T201", 5)]), once);
    }

    #[test]
    fn own_fingerprints_and_unreadable_files_are_kept_apart() {
        let mut own = finding("test_failed", 6);
        own.fingerprint = fingerprint(&["test_failed", "tests/test_api.py::test_x"]);
        let kept = own.fingerprint.clone();
        let gone = Finding::new("F401", "message", Some(Location::at("deleted.py", Some(1), None)));
        let mut past_end = finding("F401", 40);
        let mut findings = [own, gone];
        let prints = fingerprints(APP, &mut findings);
        assert_eq!(prints[0], kept, "a checker's own identity wins");
        assert_eq!(prints[1], fingerprint(&["F401", "deleted.py", "message"]));
        assert_eq!(
            fingerprints(APP, std::slice::from_mut(&mut past_end))[0],
            fingerprint(&["F401", "app/main.py", "message"])
        );
        let mut no_place = Finding::new("PYSEC-1", "requests 2.19.0", None);
        let before = no_place.fingerprint.clone();
        fingerprints(APP, std::slice::from_mut(&mut no_place));
        assert_eq!(no_place.fingerprint, before);
    }
}
