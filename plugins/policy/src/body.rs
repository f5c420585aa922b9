//! Reading a pull-request body: its sections (`[BA]`) and metadata lines (`PR_TYPE: FIX`).
//!
//! Line endings (CRLF, CR) and surrounding whitespace do not matter. HTML comments are
//! removed first, so a template's hints (`<!-- PR_TYPE: FEATURE | FIX -->`) never count as
//! filled in. Markdown decoration around a key or a section marker is ignored:
//! `- **PR_TYPE:** FIX`, `## [QA]`, `> [DEV] notes` all count.

use std::collections::BTreeMap;

/// A parsed pull-request body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Body {
    /// The body's lines after normalization (line endings, HTML comments removed), trimmed.
    pub lines: Vec<String>,
    /// Section markers found (`BA` for `[BA]`), with the index of their line.
    pub sections: Vec<(String, usize)>,
    /// Metadata values by key, the first occurrence of each, with the index of its line.
    pub keys: BTreeMap<String, (String, usize)>,
}

impl Body {
    /// Parses `text`.
    pub fn parse(text: &str) -> Self {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text).replace("\r\n", "\n").replace('\r', "\n");
        let text = strip_html_comments(&text);
        let lines: Vec<String> = text.lines().map(|line| line.trim().to_string()).collect();
        let mut sections = Vec::new();
        let mut keys = BTreeMap::new();
        for (index, line) in lines.iter().enumerate() {
            if let Some(name) = section_marker(line) {
                sections.push((name, index));
            }
            if let Some((key, value)) = metadata(line) {
                keys.entry(key).or_insert((value, index));
            }
        }
        Self { lines, sections, keys }
    }

    /// True when the body has the section `[name]`.
    pub fn has_section(&self, name: &str) -> bool {
        self.sections.iter().any(|(section, _)| section == name)
    }

    /// The value of `key`, if the body has a `KEY:` line.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.keys.get(key).map(|(value, _)| value.as_str())
    }

    /// The text of section `name`: what follows its marker on the same line and the lines up to
    /// the next marker of one of `all` sections. `None` when absent.
    pub fn section_text(&self, name: &str, all: &[String]) -> Option<String> {
        let (_, start) = self.sections.iter().find(|(section, _)| section == name)?;
        let marker = format!("[{name}]");
        let first = self.lines[*start].split_once(&marker).map_or("", |(_, rest)| rest).trim();
        let mut text = vec![first.trim_matches(|c| c == '*' || c == '_' || c == ':').trim().to_string()];
        for line in &self.lines[start + 1..] {
            if section_marker(line).is_some_and(|other| all.contains(&other)) {
                break;
            }
            text.push(line.clone());
        }
        Some(text.join("\n").trim().to_string())
    }
}

/// Removes `<!-- ... -->` comments (an unterminated one runs to the end).
fn strip_html_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("<!--") {
        out.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => {
                // Keep the line structure: a comment spanning lines leaves its newlines.
                let comment = &rest[start..start + 4 + end + 3];
                out.extend(comment.chars().filter(|c| *c == '\n'));
                rest = &rest[start + 4 + end + 3..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Strips Markdown decoration at the start of a line: quote and list markers, heading hashes,
/// emphasis and code marks.
fn undecorate(line: &str) -> &str {
    let mut line = line.trim();
    loop {
        let before = line;
        line = line.trim_start_matches('>').trim_start();
        line = line.trim_start_matches('#').trim_start();
        for marker in ["- [ ] ", "- [x] ", "- [X] ", "- ", "* ", "+ "] {
            if let Some(rest) = line.strip_prefix(marker) {
                line = rest.trim_start();
            }
        }
        line = line.trim_start_matches(['*', '_', '`']).trim_start();
        if line == before {
            return line;
        }
    }
}

/// `BA` for a line starting with `[BA]` (after decoration).
fn section_marker(line: &str) -> Option<String> {
    let line = undecorate(line);
    let rest = line.strip_prefix('[')?;
    let end = rest.find(']')?;
    let name = &rest[..end];
    let valid = !name.is_empty()
        && name.len() <= 32
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ');
    // `[ ]` and `[x]` are task-list boxes, not sections.
    (valid && name.trim().len() > 1).then(|| name.trim().to_string())
}

/// `("PR_TYPE", "FIX")` for a line `PR_TYPE: FIX` (after decoration).
fn metadata(line: &str) -> Option<(String, String)> {
    let line = undecorate(line);
    let colon = line.find(':')?;
    let key = line[..colon].trim_end_matches(['*', '_', '`']).trim();
    let valid = key.len() >= 2
        && key.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && key.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return None;
    }
    let value = line[colon + 1..]
        .trim()
        .trim_start_matches(['*', '_', '`'])
        .trim_end_matches(['*', '_', '`'])
        .trim()
        .to_string();
    Some((key.to_string(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_keys_with_decoration() {
        let body = Body::parse(
            "## [BA]\nWhy.\n\n- **PR_TYPE:** FIX\n* AUTO_RUN_MODE: `MANUAL`\n> [QA] tested locally\n### [SRE]\n[DEV]\nMILESTONE_ID:M-12\n",
        );
        assert!(body.has_section("BA") && body.has_section("QA") && body.has_section("SRE") && body.has_section("DEV"));
        assert_eq!(body.value("PR_TYPE"), Some("FIX"));
        assert_eq!(body.value("AUTO_RUN_MODE"), Some("MANUAL"));
        assert_eq!(body.value("MILESTONE_ID"), Some("M-12"));
        assert_eq!(body.value("BLUEPRINT_REF"), None);
    }

    #[test]
    fn crlf_and_whitespace_do_not_matter() {
        let lf = Body::parse("[BA]\nx\nPR_TYPE: FIX\n");
        let crlf = Body::parse("  [BA]  \r\n x \r\n\tPR_TYPE:   FIX  \r\n");
        assert_eq!((&lf.sections, &lf.keys), (&crlf.sections, &crlf.keys));
        let cr = Body::parse("[BA]\rx\rPR_TYPE: FIX\r");
        assert_eq!(lf, cr);
    }

    #[test]
    fn html_comments_do_not_count() {
        let body = Body::parse("<!-- PR_TYPE: FEATURE | FIX -->\n<!--\n[QA]\n-->\nPR_TYPE: FIX\n[BA]\n");
        assert_eq!(body.value("PR_TYPE"), Some("FIX"));
        assert_eq!(body.keys["PR_TYPE"].1, 4, "line numbers survive the comment");
        assert!(!body.has_section("QA"));
        assert!(body.has_section("BA"));
    }

    #[test]
    fn first_occurrence_wins_and_lowercase_keys_are_not_keys() {
        let body = Body::parse("PR_TYPE: FIX\nPR_TYPE: WIP\npr_type: WIP\nNote: see https://x\n");
        assert_eq!(body.value("PR_TYPE"), Some("FIX"));
        assert_eq!(body.keys.len(), 1, "{:?}", body.keys);
    }

    #[test]
    fn task_boxes_are_not_sections() {
        let body = Body::parse("- [ ] done\n- [x] tested\n[QA] yes\n");
        assert_eq!(body.sections, vec![("QA".to_string(), 2)]);
    }

    #[test]
    fn section_text_runs_to_the_next_section() {
        let all: Vec<String> = ["BA", "QA"].iter().map(|s| s.to_string()).collect();
        let body = Body::parse("[BA]\n\n[QA] ran pytest\nall green\n");
        assert_eq!(body.section_text("BA", &all).as_deref(), Some(""));
        assert_eq!(body.section_text("QA", &all).as_deref(), Some("ran pytest\nall green"));
        assert_eq!(body.section_text("DEV", &all), None);
    }
}
