//! Pure parsers of what gitleaks writes: its JSON report and its log on stderr.
//!
//! The report is parsed into [`Leak`], which has no field for `Match` or `Secret`: whatever
//! gitleaks put there is skipped by the deserializer and never held in a `Leak`. The secrets
//! are read apart ([`parse_secrets`]), only to be masked in every output of the run.

use serde::Deserialize;

/// One entry of gitleaks' JSON report, without the secret and the match.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct Leak {
    /// Rule id (`aws-access-token`).
    #[serde(rename = "RuleID")]
    pub rule_id: String,
    /// Rule description (`AWS`).
    #[serde(rename = "Description")]
    pub description: String,
    /// 1-based first line.
    #[serde(rename = "StartLine")]
    pub start_line: u32,
    /// 1-based last line.
    #[serde(rename = "EndLine")]
    pub end_line: u32,
    /// Start column as gitleaks reports it (see [`crate::columns`] for its off-by-one).
    #[serde(rename = "StartColumn")]
    pub start_column: u32,
    /// End column as gitleaks reports it.
    #[serde(rename = "EndColumn")]
    pub end_column: u32,
    /// File: relative to the repository root in git mode, to the source in directory mode.
    #[serde(rename = "File")]
    pub file: String,
    /// Full sha of the commit that added the secret; empty in directory mode.
    #[serde(rename = "Commit")]
    pub commit: String,
    /// Author date (RFC 3339); empty in directory mode.
    #[serde(rename = "Date")]
    pub date: String,
    /// `commit:file:rule:line` in git mode, `file:rule:line` in directory mode.
    #[serde(rename = "Fingerprint")]
    pub fingerprint: String,
}

impl Leak {
    /// The fingerprint gitleaks gives this leak, computed when the report lacks it.
    pub fn fingerprint(&self) -> String {
        if !self.fingerprint.is_empty() {
            return self.fingerprint.clone();
        }
        if self.commit.is_empty() {
            self.global_fingerprint()
        } else {
            format!("{}:{}:{}:{}", self.commit, self.file, self.rule_id, self.start_line)
        }
    }

    /// `file:rule:line`: the fingerprint without the commit.
    pub fn global_fingerprint(&self) -> String {
        format!("{}:{}:{}", self.file, self.rule_id, self.start_line)
    }
}

/// Parses gitleaks' JSON report: an array of findings (`[]` when clean).
///
/// A leak gitleaks reports twice (8.28 and later scan base64-decoded text too, and report a
/// secret found in both forms twice with one fingerprint) is kept once.
pub fn parse_report(bytes: &[u8]) -> Result<Vec<Leak>, serde_json::Error> {
    let leaks: Vec<Leak> = serde_json::from_slice(bytes)?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(leaks.into_iter().filter(|leak| seen.insert(leak.fingerprint())).collect())
}

/// The secrets of gitleaks' report (its `Secret` fields; not the `"REDACTED"` of a redacted
/// report), to mask them everywhere ([`greenlight_checker::report::Secrets`]).
pub fn parse_secrets(bytes: &[u8]) -> Vec<String> {
    #[derive(Deserialize)]
    struct SecretOf {
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let entries: Vec<SecretOf> = serde_json::from_slice(bytes).unwrap_or_default();
    entries.into_iter().map(|entry| entry.secret).filter(|secret| !secret.is_empty() && secret != "REDACTED").collect()
}

/// Severity of a gitleaks log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// `TRC`, `DBG`.
    Debug,
    /// `INF`.
    Info,
    /// `WRN`.
    Warn,
    /// `ERR`.
    Error,
    /// `FTL`: gitleaks stopped.
    Fatal,
}

/// One line of gitleaks' log, without colours and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its level; `None` for lines that are not log records (usage text, panics).
    pub level: Option<Level>,
    /// The text after the level.
    pub message: String,
}

/// Parses gitleaks' stderr: `<time> <LVL> <message>` lines coloured with ANSI escapes even when
/// not on a terminal, the banner, and cobra's usage text.
pub fn parse_log(stderr: &str) -> Vec<LogLine> {
    greenlight_checker::text::strip_ansi(stderr)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut words = line.split_whitespace();
            let first = words.next().unwrap_or("");
            let (level, rest) = match level_of(first) {
                Some(level) => (Some(level), after_word(line, 1)),
                None => match words.next().and_then(level_of) {
                    Some(level) if looks_like_time(first) => (Some(level), after_word(line, 2)),
                    _ => (None, line.trim_end()),
                },
            };
            LogLine { level, message: rest.to_string() }
        })
        .collect()
}

fn level_of(word: &str) -> Option<Level> {
    Some(match word {
        "TRC" | "DBG" => Level::Debug,
        "INF" => Level::Info,
        "WRN" => Level::Warn,
        "ERR" => Level::Error,
        "FTL" => Level::Fatal,
        _ => return None,
    })
}

fn looks_like_time(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_digit()) && word.contains(':')
}

/// `line` after its first `count` words, trimmed.
fn after_word(line: &str, count: usize) -> &str {
    let mut rest = line.trim_start();
    for _ in 0..count {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        rest = &rest[end..];
    }
    rest.trim()
}

/// The number in gitleaks' `N commits scanned.` line, when present.
pub fn commits_scanned(log: &[LogLine]) -> Option<u64> {
    log.iter().find_map(|line| {
        let rest = line.message.strip_suffix("commits scanned.")?;
        rest.trim().parse().ok()
    })
}

/// The messages of error and fatal lines.
pub fn errors(log: &[LogLine]) -> Vec<&str> {
    log.iter().filter(|line| line.level >= Some(Level::Error)).map(|line| line.message.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn a_leak_reported_twice_is_kept_once() {
        // gitleaks 8.30 `dir` on a private key: the key and its base64-decoded body match the
        // same rule at the same place (recorded report, secrets removed).
        let report = br#"[
          {"RuleID":"private-key","StartLine":1,"EndLine":4,"StartColumn":1,"EndColumn":34,"File":"keys/deploy_key","Commit":"","Tags":[],"Fingerprint":"keys/deploy_key:private-key:1"},
          {"RuleID":"private-key","StartLine":1,"EndLine":4,"StartColumn":1,"EndColumn":34,"File":"keys/deploy_key","Commit":"","Tags":["decoded:base64","decode-depth:1"],"Fingerprint":"keys/deploy_key:private-key:1"},
          {"RuleID":"private-key","StartLine":9,"EndLine":12,"StartColumn":1,"EndColumn":34,"File":"keys/deploy_key","Commit":"","Tags":[],"Fingerprint":"keys/deploy_key:private-key:9"}
        ]"#;
        let leaks = parse_report(report).unwrap();
        let lines: Vec<u32> = leaks.iter().map(|leak| leak.start_line).collect();
        assert_eq!(lines, [1, 9]);
    }

    #[test]
    fn history_report() {
        let leaks = parse_report(include_bytes!("../tests/data/history-findings.json")).unwrap();
        assert_eq!(leaks.len(), 2);
        let leak = &leaks[1];
        assert_eq!(leak.rule_id, "aws-access-token");
        assert_eq!(leak.description, "AWS");
        assert_eq!(leak.file, "settings.py");
        assert_eq!((leak.start_line, leak.end_line, leak.start_column, leak.end_column), (3, 3, 23, 42));
        assert_eq!(leak.commit, "f3561935dd9b8975a1f9073bf1ba597bd052cba5");
        assert_eq!(leak.date, "2026-01-02T03:04:05Z");
        assert_eq!(leak.fingerprint(), "f3561935dd9b8975a1f9073bf1ba597bd052cba5:settings.py:aws-access-token:3");
        assert_eq!(leak.global_fingerprint(), "settings.py:aws-access-token:3");
    }

    #[test]
    fn tree_report() {
        let leaks = parse_report(include_bytes!("../tests/data/tree-findings.json")).unwrap();
        let summary: Vec<_> =
            leaks.iter().map(|l| (l.rule_id.as_str(), l.file.as_str(), l.start_line, l.end_line)).collect();
        assert_eq!(summary, [("aws-access-token", "settings.py", 3, 3), ("private-key", "keys/deploy_key", 1, 4)]);
        assert!(leaks.iter().all(|leak| leak.commit.is_empty()));
        assert_eq!(leaks[1].fingerprint(), "keys/deploy_key:private-key:1");
    }

    #[test]
    fn clean_and_garbage() {
        assert!(parse_report(include_bytes!("../tests/data/clean.json")).unwrap().is_empty());
        assert!(parse_report(b"").is_err());
        assert!(parse_report(b"{\"a\": 1}").is_err());
        assert!(parse_report(b"RuleID,Commit,File").is_err());
    }

    #[test]
    fn secrets_are_not_kept() {
        let report = br#"[{"RuleID": "generic-api-key", "Match": "token = \"cleartext-value-1234\"",
            "Secret": "cleartext-value-1234", "File": "a.py", "StartLine": 1, "NewField": [1, 2]}]"#;
        let leaks = parse_report(report).unwrap();
        assert!(!format!("{leaks:?}").contains("cleartext"));
        assert_eq!(leaks[0].fingerprint(), "a.py:generic-api-key:1");
        assert_eq!(parse_secrets(report), ["cleartext-value-1234"]);
        assert!(parse_secrets(br#"[{"Secret": "REDACTED"}]"#).is_empty());
        assert!(parse_secrets(b"<html>").is_empty());
    }

    #[test]
    fn log_of_a_scan_with_leaks() {
        let log = parse_log(&text(include_bytes!("../tests/data/history-findings.stderr")));
        assert_eq!(commits_scanned(&log), Some(3));
        assert_eq!(log[2], LogLine { level: Some(Level::Warn), message: "leaks found: 2".into() });
        assert!(errors(&log).is_empty());
    }

    #[test]
    fn log_of_failures() {
        let log = parse_log(&text(include_bytes!("../tests/data/dubious-ownership.stderr")));
        let errors = errors(&log);
        assert_eq!(errors[0], "[git] fatal: detected dubious ownership in repository at '/tmp/glx/dub'");
        assert_eq!(errors.last().unwrap(), &"error=\"git error encountered, see logs\"");
        assert_eq!(commits_scanned(&log), Some(0));

        let log = parse_log(&text(include_bytes!("../tests/data/bad-config.stderr")));
        assert_eq!(log[0].level, Some(Level::Fatal));
        assert!(log[0].message.starts_with("unable to load gitleaks config"));

        let log = parse_log(&text(include_bytes!("../tests/data/unknown-flag.stderr")));
        assert_eq!(log[0], LogLine { level: None, message: "Error: unknown flag: --bogus".into() });
    }
}
