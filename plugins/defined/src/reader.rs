//! Readers: how a defined check's output becomes findings and test results. Each is a pure
//! function from the tool's bytes to [`Read`]; `Err` is why the output could not be read,
//! which makes the check `errored`.
//!
//! - `sarif`: SARIF 2.1.0 (`runs[].results[]`, rule help URLs from the driver's rules);
//! - `junit`: JUnit XML test cases, with the parser pytest's check uses;
//! - `json`: one document, findings at a JSON pointer (`/results`), fields by key or pointer;
//! - `json-lines`: one finding per line, the same field mapping;
//! - `regex`: one finding per matching line, fields from named groups;
//! - `exit-code`: nothing is read; the exit code decides.

use std::collections::BTreeMap;
use std::path::Path;

use greenlight_checker::junit::{case_findings, parse_junit};
use greenlight_checker::report::TestSummary;
use greenlight_checker::{Finding, Location, Severity};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

use crate::definition::FromShort;

/// The reader formats, as written in `reader`.
pub const FORMATS: &[&str] = &["sarif", "junit", "json", "json-lines", "regex", "exit-code"];

/// The field names a `json`/`json-lines` mapping and a `regex`'s named groups may give.
pub const FIELDS: &[&str] = &["path", "line", "column", "end-line", "end-column", "rule", "message", "severity", "url"];

/// A reader's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// SARIF 2.1.0.
    Sarif,
    /// JUnit XML.
    Junit,
    /// One JSON document.
    Json,
    /// One JSON value per line.
    JsonLines,
    /// A regular expression per line.
    Regex,
    /// The exit code alone.
    ExitCode,
}

/// Where a reader reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The command's standard output.
    Stdout,
    /// Its standard error.
    Stderr,
    /// A file it writes (placeholders allowed), relative to the project root.
    File(String),
}

/// A validated reader.
#[derive(Debug, Clone)]
pub struct Reader {
    /// The format.
    pub format: Format,
    /// Where its text comes from.
    pub input: Input,
    /// Field → JSON key or pointer (`json`, `json-lines`).
    fields: BTreeMap<&'static str, String>,
    /// Pointer to the array of findings (`json`); `None`: the document is the array.
    findings: Option<String>,
    /// The pattern (`regex`).
    pattern: Option<Regex>,
    /// 0 when the tool counts columns from 0.
    column_base: u32,
    /// A rule's URL, `{rule}` replaced.
    url_template: Option<String>,
    /// The tool's severity words (lowercase) → severity.
    severities: BTreeMap<String, Severity>,
}

/// What a reader found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Read {
    /// Findings, paths relative to the project root.
    pub findings: Vec<Finding>,
    /// Test results (`junit`).
    pub tests: Option<TestSummary>,
}

/// A reader as written: a format name, or a table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawReader {
    format: String,
    file: Option<String>,
    stream: Option<String>,
    findings: Option<String>,
    path: Option<String>,
    line: Option<String>,
    column: Option<String>,
    end_line: Option<String>,
    end_column: Option<String>,
    rule: Option<String>,
    message: Option<String>,
    severity: Option<String>,
    url: Option<String>,
    url_template: Option<String>,
    column_base: Option<u32>,
    pattern: Option<String>,
    #[serde(default)]
    severities: BTreeMap<String, String>,
}

impl FromShort for RawReader {
    fn from_short(text: &str) -> Self {
        Self { format: text.to_string(), ..Self::default() }
    }
}

impl Reader {
    /// Reads nothing: the exit code decides.
    pub fn exit_code() -> Self {
        Self {
            format: Format::ExitCode,
            input: Input::Stdout,
            fields: BTreeMap::new(),
            findings: None,
            pattern: None,
            column_base: 1,
            url_template: None,
            severities: BTreeMap::new(),
        }
    }

    /// Checks a reader as written; `Err` says what is wrong.
    pub fn new(raw: &RawReader) -> Result<Self, String> {
        let format = match raw.format.as_str() {
            "sarif" => Format::Sarif,
            "junit" => Format::Junit,
            "json" => Format::Json,
            "json-lines" => Format::JsonLines,
            "regex" => Format::Regex,
            "exit-code" => Format::ExitCode,
            other => {
                let valid: Vec<String> = FORMATS.iter().map(|format| format!("`{format}`")).collect();
                return Err(format!("unknown reader format `{other}`; formats are {}", valid.join(", ")));
            }
        };
        let input = match (&raw.file, raw.stream.as_deref()) {
            (Some(_), Some(_)) => return Err("a reader reads a `file` or a `stream`, not both".to_string()),
            (Some(file), None) => Input::File(file.clone()),
            (None, None | Some("stdout")) => Input::Stdout,
            (None, Some("stderr")) => Input::Stderr,
            (None, Some(other)) => return Err(format!("`stream = \"{other}\"`: write \"stdout\" or \"stderr\"")),
        };
        let mapped = [
            ("path", &raw.path),
            ("line", &raw.line),
            ("column", &raw.column),
            ("end-line", &raw.end_line),
            ("end-column", &raw.end_column),
            ("rule", &raw.rule),
            ("message", &raw.message),
            ("severity", &raw.severity),
            ("url", &raw.url),
        ];
        let fields: BTreeMap<&'static str, String> =
            mapped.iter().filter_map(|(name, value)| (*value).clone().map(|value| (*name, value))).collect();
        let json = matches!(format, Format::Json | Format::JsonLines);
        let regex = format == Format::Regex;
        if !json && !fields.is_empty() {
            let names: Vec<&str> = fields.keys().copied().collect();
            return Err(format!(
                "`{}` map JSON fields: only the `json` and `json-lines` readers take them{}",
                names.join("`, `"),
                if regex { " (a `regex` names its groups instead)" } else { "" }
            ));
        }
        if json && !fields.contains_key("message") {
            return Err("a JSON reader needs `message` (the key or pointer of each finding's message)".to_string());
        }
        if raw.findings.is_some() && format != Format::Json {
            return Err("`findings` (the pointer to the array of findings) is for the `json` reader".to_string());
        }
        if raw.pattern.is_some() != regex {
            return Err(if regex {
                "the `regex` reader needs a `pattern` with named groups (`path`, `line`, `col`, `rule`, `message`, `severity`)".to_string()
            } else {
                "`pattern` is for the `regex` reader".to_string()
            });
        }
        let pattern = match &raw.pattern {
            Some(pattern) => {
                let compiled =
                    Regex::new(pattern).map_err(|error| format!("`pattern` is not a regular expression: {error}"))?;
                let groups: Vec<&str> = compiled.capture_names().flatten().collect();
                if !groups.contains(&"message") {
                    return Err("the `pattern` needs a `(?P<message>...)` group".to_string());
                }
                if let Some(unknown) = groups.iter().find(|group| group_field(group).is_none()) {
                    return Err(format!(
                        "the group `{unknown}` names no field; groups are `path`, `line`, `col`, `end_line`, `end_col`, `rule`, `message`, `severity`, `url`"
                    ));
                }
                Some(compiled)
            }
            None => None,
        };
        if format == Format::ExitCode && raw.file.is_some() {
            return Err("the `exit-code` reader reads nothing: remove `file`".to_string());
        }
        if (raw.url_template.is_some() || raw.column_base.is_some() || !raw.severities.is_empty()) && !(json || regex) {
            return Err(
                "`url-template`, `column-base` and `severities` are for the `json`, `json-lines` and `regex` readers"
                    .to_string(),
            );
        }
        let column_base = raw.column_base.unwrap_or(1);
        if column_base > 1 {
            return Err("`column-base` is 0 or 1".to_string());
        }
        let mut severities = BTreeMap::new();
        for (word, severity) in &raw.severities {
            let severity = severity_word(severity).ok_or_else(|| {
                format!("`severities.{word} = \"{severity}\"`: write \"error\", \"warning\" or \"note\"")
            })?;
            severities.insert(word.to_lowercase(), severity);
        }
        Ok(Self {
            format,
            input,
            fields,
            findings: raw.findings.clone(),
            pattern,
            column_base,
            url_template: raw.url_template.clone(),
            severities,
        })
    }

    /// Reads `text` (what [`Reader::input`] gave) of a project at `root`; `title` names the
    /// tool in test findings' titles.
    pub fn read(&self, text: &str, root: &Path, title: &str) -> Result<Read, String> {
        match self.format {
            Format::ExitCode => Ok(Read::default()),
            Format::Junit => {
                let junit = parse_junit(text).map_err(|error| format!("its JUnit XML cannot be read: {error}"))?;
                let mut findings = case_findings(&junit.summary, &junit.failure_lines, title);
                for finding in &mut findings {
                    if let Some(location) = &mut finding.location {
                        location.path = relative_path(root, &location.path);
                    }
                }
                Ok(Read { findings, tests: Some(junit.summary) })
            }
            Format::Sarif => {
                let document: Value =
                    serde_json::from_str(text).map_err(|error| format!("its SARIF is not JSON: {error}"))?;
                sarif(&document, root).map(|findings| Read { findings, tests: None })
            }
            Format::Json => {
                let document: Value =
                    serde_json::from_str(text).map_err(|error| format!("its output is not JSON: {error}"))?;
                let items = match &self.findings {
                    Some(pointer) => {
                        document.pointer(pointer).ok_or_else(|| format!("its JSON has nothing at `{pointer}`"))?
                    }
                    None => &document,
                };
                let items = items.as_array().ok_or_else(|| {
                    format!("its JSON at `{}` is not an array of findings", self.findings.as_deref().unwrap_or(""))
                })?;
                let findings = items.iter().map(|item| self.json_finding(item, root)).collect::<Result<_, _>>()?;
                Ok(Read { findings, tests: None })
            }
            Format::JsonLines => {
                let mut findings = Vec::new();
                for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
                    let item: Value = serde_json::from_str(line)
                        .map_err(|error| format!("line {} of its output is not JSON: {error}", index + 1))?;
                    findings.push(self.json_finding(&item, root)?);
                }
                Ok(Read { findings, tests: None })
            }
            Format::Regex => {
                let pattern = self.pattern.as_ref().ok_or("the `regex` reader has no pattern")?;
                let mut findings = Vec::new();
                for line in text.lines() {
                    let Some(captures) = pattern.captures(line) else { continue };
                    let field = |name: &str| {
                        pattern
                            .capture_names()
                            .flatten()
                            .filter(|group| group_field(group) == Some(name))
                            .find_map(|group| captures.name(group))
                            .map(|value| value.as_str().to_string())
                            .filter(|value| !value.is_empty())
                    };
                    findings.push(self.finding(&field, root));
                }
                Ok(Read { findings, tests: None })
            }
        }
    }

    fn json_finding(&self, item: &Value, root: &Path) -> Result<Finding, String> {
        let field = |name: &str| {
            let key = self.fields.get(name)?;
            let value = if key.starts_with('/') { item.pointer(key) } else { item.get(key.as_str()) }?;
            match value {
                Value::String(text) => Some(text.clone()),
                Value::Number(number) => Some(number.to_string()),
                Value::Bool(flag) => Some(flag.to_string()),
                _ => None,
            }
        };
        if field("message").is_none() {
            let key = self.fields.get("message").map_or("", String::as_str);
            return Err(format!("a finding in its JSON has no message at `{key}`: {}", clip_json(item)));
        }
        Ok(self.finding(&field, root))
    }

    /// A finding from its fields as text.
    fn finding(&self, field: &dyn Fn(&str) -> Option<String>, root: &Path) -> Finding {
        let number = |name: &str| field(name).and_then(|value| value.trim().parse::<u32>().ok());
        let column = |name: &str| number(name).map(|column| column + 1 - self.column_base).filter(|column| *column > 0);
        let location = field("path").map(|path| {
            let mut location =
                Location::at(relative_path(root, &path), number("line").filter(|line| *line > 0), column("column"));
            location.end_line = number("end-line").filter(|line| *line > 0);
            location.end_column = column("end-column");
            location
        });
        let rule = field("rule").unwrap_or_else(|| "finding".to_string());
        let message = field("message").unwrap_or_default();
        let mut finding = Finding::new(rule.clone(), message.trim().to_string(), location);
        finding.severity = field("severity").map_or(Severity::Error, |word| {
            self.severities
                .get(&word.to_lowercase())
                .copied()
                .or_else(|| severity_word(&word))
                .unwrap_or(Severity::Error)
        });
        finding.url =
            field("url").or_else(|| self.url_template.as_ref().map(|template| template.replace("{rule}", &rule)));
        finding
    }
}

/// The field a regex group fills (`col` and `column` are the column).
fn group_field(group: &str) -> Option<&'static str> {
    Some(match group {
        "path" | "file" => "path",
        "line" => "line",
        "col" | "column" => "column",
        "end_line" => "end-line",
        "end_col" | "end_column" => "end-column",
        "rule" | "code" => "rule",
        "message" => "message",
        "severity" => "severity",
        "url" => "url",
        _ => return None,
    })
}

/// A tool's word for a severity, as greenlight's.
fn severity_word(word: &str) -> Option<Severity> {
    Some(match word.trim().to_lowercase().as_str() {
        "error" | "err" | "e" | "fatal" | "critical" | "high" | "failure" => Severity::Error,
        "warning" | "warn" | "w" | "medium" | "moderate" => Severity::Warning,
        "note" | "info" | "information" | "low" | "hint" | "style" | "none" | "n" | "i" => Severity::Note,
        _ => return None,
    })
}

/// `path` relative to `root` with `/` separators: a `file://` URI or an absolute path inside
/// the root loses the root, a leading `./` goes.
pub fn relative_path(root: &Path, path: &str) -> String {
    let path = path.strip_prefix("file://").unwrap_or(path).replace('\\', "/").replace("%20", " ");
    let root_text = root.to_string_lossy().replace('\\', "/");
    let relative =
        path.strip_prefix(&format!("{}/", root_text.trim_end_matches('/'))).map(str::to_string).unwrap_or(path);
    let mut relative = relative.as_str();
    while let Some(rest) = relative.strip_prefix("./") {
        relative = rest;
    }
    relative.to_string()
}

fn clip_json(value: &Value) -> String {
    greenlight_checker::text::clip(&value.to_string(), 200)
}

/// The results of every run of a SARIF log.
fn sarif(document: &Value, root: &Path) -> Result<Vec<Finding>, String> {
    let runs = document["runs"].as_array().ok_or("its SARIF has no `runs` array")?;
    let mut findings = Vec::new();
    for run in runs {
        let rules = run["tool"]["driver"]["rules"].as_array().map(Vec::as_slice).unwrap_or_default();
        for result in run["results"].as_array().into_iter().flatten() {
            let rule_index = result["ruleIndex"].as_u64().and_then(|index| usize::try_from(index).ok());
            let rule_id = result["ruleId"].as_str().or_else(|| result["rule"]["id"].as_str());
            let rule = rule_index
                .and_then(|index| rules.get(index))
                .or_else(|| rule_id.and_then(|id| rules.iter().find(|rule| rule["id"].as_str() == Some(id))));
            let id = rule_id.or_else(|| rule.and_then(|rule| rule["id"].as_str())).unwrap_or("finding");
            let message = result["message"]["text"]
                .as_str()
                .or_else(|| result["message"]["markdown"].as_str())
                .or_else(|| rule.and_then(|rule| rule["shortDescription"]["text"].as_str()))
                .unwrap_or(id);
            let physical = &result["locations"][0]["physicalLocation"];
            let location = physical["artifactLocation"]["uri"].as_str().map(|uri| {
                let region = &physical["region"];
                let number = |key: &str| region[key].as_u64().and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0);
                let mut location = Location::at(relative_path(root, uri), number("startLine"), number("startColumn"));
                location.end_line = number("endLine");
                location.end_column = number("endColumn");
                location
            });
            let level = result["level"]
                .as_str()
                .or_else(|| rule.and_then(|rule| rule["defaultConfiguration"]["level"].as_str()))
                .unwrap_or("warning");
            let mut finding = Finding::new(id, message.trim(), location);
            finding.severity = severity_word(level).unwrap_or(Severity::Warning);
            finding.url = rule.and_then(|rule| rule["helpUri"].as_str()).map(str::to_string);
            if let Some(fingerprint) = result["partialFingerprints"]
                .as_object()
                .and_then(|prints| prints.values().next())
                .and_then(Value::as_str)
            {
                finding.fingerprint = greenlight_checker::report::fingerprint(&[id, fingerprint]);
            }
            findings.push(finding);
        }
    }
    Ok(findings)
}
