//! Every format rendered from the one sample report: snapshots, plus what each consumer
//! requires (SARIF schema and GitHub's rules, a JUnit reader, the runner's escaping, the step
//! summary's size), and no secret anywhere.

use std::collections::{BTreeMap, HashSet};

use greenlight_report::{Finding, FindingKind, Location, Outcome, RunReport, Severity};
use greenlight_reporters::sample::{PLANTED_SECRET, sample_report};
use greenlight_reporters::{github, json, junit, markdown, sarif, terminal};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Snapshots

#[test]
fn terminal_summary_snapshot() {
    let text = terminal::render_summary(&sample_report(), &terminal::SummaryOptions::default());
    insta::assert_snapshot!("terminal", text);
}

#[test]
fn terminal_points_at_the_log_of_every_problem() {
    let report = sample_report();
    let text = terminal::render_summary(&report, &terminal::SummaryOptions::default());
    for check in report
        .checks
        .iter()
        .filter(|check| matches!(check.outcome, Outcome::Failed | Outcome::Errored | Outcome::TimedOut))
    {
        if let Some(log) = &check.log {
            assert!(text.contains(&format!("full log: {}", log.path)), "{} has no log pointer:\n{text}", check.id);
        }
    }
}

#[test]
fn json_snapshot_and_round_trip() {
    let report = sample_report();
    let text = json::render(&report);
    insta::assert_snapshot!("json", text);
    let parsed = json::parse(&text).expect("the JSON report parses back");
    assert_eq!(parsed, *greenlight_reporters::redact(&report));
}

#[test]
fn junit_snapshot() {
    insta::assert_snapshot!("junit", junit::render(&sample_report()));
}

#[test]
fn sarif_snapshot() {
    let rendered = sarif::render(&sample_report());
    insta::assert_snapshot!("sarif", rendered.text);
    assert_eq!(
        rendered.notes,
        [
            "`docker` timed_out, so the SARIF file has no run for it (code scanning keeps its earlier alerts)",
            "`mypy` errored, so the SARIF file has no run for it (code scanning keeps its earlier alerts)",
            "`semgrep` cancelled, so the SARIF file has no run for it (code scanning keeps its earlier alerts)",
        ]
    );
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", markdown::render(&sample_report()));
}

#[test]
fn github_snapshot() {
    insta::assert_snapshot!("github", github::render(&sample_report()));
}

#[test]
fn headlines_of_green_and_interrupted_runs() {
    let mut report = sample_report();
    for check in &mut report.checks {
        if check.outcome != Outcome::Skipped {
            check.outcome = Outcome::Passed;
        }
        check.findings.clear();
        check.tests = None;
    }
    report.recompute_outcome();
    let options = terminal::SummaryOptions { quiet: true, ..Default::default() };
    assert_eq!(terminal::render_summary(&report, &options).trim(), "GREEN: 11 passed, 1 skipped in 10m 12s");
    assert!(markdown::render(&report).starts_with("## greenlight: ✅ green\n"));
    report.interrupted = true;
    assert!(terminal::render_summary(&report, &options).contains("INTERRUPTED: "));
    assert!(markdown::render(&report).starts_with("## greenlight: ⏹️ interrupted\n"));
}

// ---------------------------------------------------------------------------------------------
// No secret in any format

/// The sample with the planted secret wherever a careless checker could have put it.
fn report_with_planted_secret() -> RunReport {
    let mut report = sample_report();
    let gitleaks = report.checks.iter_mut().find(|check| check.id == "gitleaks").expect("gitleaks in the sample");
    let secret = &mut gitleaks.findings[0];
    secret.message = format!("AWS key {PLANTED_SECRET} in config/settings,prod.py");
    secret.detail = Some(format!("aws_access_key_id = \"{PLANTED_SECRET}\""));
    gitleaks.log.as_mut().expect("a log").tail = format!("Finding: aws_access_key_id = {PLANTED_SECRET}");
    report
}

#[test]
fn no_format_prints_a_secret() {
    let report = report_with_planted_secret();
    let verbose = terminal::SummaryOptions { verbose: true, ..Default::default() };
    let outputs = [
        ("terminal", terminal::render_summary(&report, &terminal::SummaryOptions::default())),
        ("terminal -v", terminal::render_summary(&report, &verbose)),
        ("json", json::render(&report)),
        ("junit", junit::render(&report)),
        ("sarif", sarif::render(&report).text),
        ("markdown", markdown::render(&report)),
        ("github", github::render(&report)),
    ];
    for (format, text) in outputs {
        assert!(!text.contains(PLANTED_SECRET), "{format} prints the secret:\n{text}");
        assert!(text.contains("aws-access-token"), "{format} still reports the secret finding");
    }
}

// ---------------------------------------------------------------------------------------------
// SARIF: the OASIS schema and GitHub's rules

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value =
        serde_json::from_str(include_str!("schemas/sarif-schema-2.1.0.json")).expect("the vendored schema parses");
    jsonschema::draft4::options().should_validate_formats(true).build(&schema).expect("the schema compiles")
}

/// Validates against the schema and GitHub code scanning's ingestion rules; panics with all
/// violations.
fn assert_valid_sarif(text: &str, report: &RunReport) {
    assert_valid_sarif_with(text, report, true);
}

/// [`assert_valid_sarif`]; `complete`: every check that decided must have its run.
fn assert_valid_sarif_with(text: &str, report: &RunReport, complete: bool) {
    let sarif: Value = serde_json::from_str(text).expect("SARIF is JSON");
    let schema_errors: Vec<String> =
        sarif_validator().iter_errors(&sarif).map(|error| format!("{} at {}", error, error.instance_path())).collect();
    assert!(schema_errors.is_empty(), "schema violations:\n{}", schema_errors.join("\n"));

    let mut problems = Vec::new();
    let text_of =
        |value: &Value, pointer: &str| value.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_string();
    if sarif["$schema"] != "https://json.schemastore.org/sarif-2.1.0.json" {
        problems.push("GH1011: $schema is not a schema GitHub accepts".to_string());
    }
    if sarif["version"] != "2.1.0" {
        problems.push("version is not 2.1.0".to_string());
    }
    let runs = sarif["runs"].as_array().expect("runs");
    if runs.len() > 20 {
        problems.push(format!("{} runs; GitHub takes at most 20", runs.len()));
    }
    let mut drivers = HashSet::new();
    for run in runs {
        let driver = text_of(run, "/tool/driver/name");
        if driver.is_empty() {
            problems.push("a run without tool.driver.name".to_string());
        }
        if !drivers.insert((driver.clone(), run.pointer("/automationDetails/id").cloned())) {
            problems.push(format!("two runs of tool `{driver}` in one category: GitHub rejects the upload"));
        }
        let rules = run["tool"]["driver"]["rules"].as_array().expect("rules[]");
        let results = run["results"].as_array().expect("results[]");
        if results.len() > 25_000 || rules.len() > 25_000 {
            problems.push(format!("{driver}: over GitHub's 25,000 results or rules per run"));
        }
        for rule in rules {
            for field in ["/id", "/shortDescription/text", "/fullDescription/text", "/help/text"] {
                if text_of(rule, field).trim().is_empty() {
                    problems.push(format!("GH2012 {driver}: rule {} has no {field}", rule["id"]));
                }
            }
            if let Some(severity) = rule.pointer("/properties/security-severity") {
                let value: f64 = severity.as_str().and_then(|text| text.parse().ok()).unwrap_or(-1.0);
                if !(0.1..=10.0).contains(&value) {
                    problems.push(format!("{driver}: security-severity {severity} out of 0.1..10.0"));
                }
            }
        }
        let bases = run["originalUriBaseIds"].as_object();
        for result in results {
            let rule_id = text_of(result, "/ruleId");
            if text_of(result, "/message/text").trim().is_empty() {
                problems.push(format!("{driver}: result {rule_id} without message"));
            }
            match result["ruleIndex"].as_u64().and_then(|index| rules.get(index as usize)) {
                Some(rule) if rule["id"] == result["ruleId"] => {}
                _ => problems.push(format!("SARIF1009 {driver}: ruleIndex of {rule_id} does not point at its rule")),
            }
            if !matches!(result["level"].as_str(), Some("error" | "warning" | "note")) {
                problems.push(format!("{driver}: {rule_id} has level {}", result["level"]));
            }
            if text_of(result, "/partialFingerprints/primaryLocationLineHash").is_empty() {
                problems.push(format!("{driver}: {rule_id} without partialFingerprints.primaryLocationLineHash"));
            }
            let Some(location) = result.pointer("/locations/0/physicalLocation") else {
                problems.push(format!("GH1015 {driver}: {rule_id} has no location"));
                continue;
            };
            let uri = text_of(location, "/artifactLocation/uri");
            if uri.is_empty()
                || uri.starts_with('/')
                || uri.contains("://")
                || uri.split('/').next().unwrap_or("").contains(':')
            {
                problems.push(format!("{driver}: {rule_id} uri {uri:?} is not a relative reference"));
            }
            let base = text_of(location, "/artifactLocation/uriBaseId");
            match bases.and_then(|bases| bases.get(&base)).and_then(|base| base["uri"].as_str()) {
                Some(root) if root.starts_with("file:///") && root.ends_with('/') => {}
                other => problems.push(format!("{driver}: uriBaseId {base:?} maps to {other:?}")),
            }
            let region = &location["region"];
            let start_line = region["startLine"].as_u64().unwrap_or(0);
            let end_line = region["endLine"].as_u64().unwrap_or(start_line);
            if start_line < 1 || end_line < start_line {
                problems.push(format!("{driver}: {rule_id} has lines {start_line}..{end_line}"));
            }
            let start_column = region["startColumn"].as_u64();
            if start_column == Some(0) || region["endColumn"].as_u64() == Some(0) {
                problems.push(format!("JSON1008 {driver}: {rule_id} has a column 0"));
            }
            if let (Some(start), Some(end)) = (start_column, region["endColumn"].as_u64())
                && end_line == start_line
                && end <= start
            {
                problems.push(format!("{driver}: {rule_id} ends at column {end}, not after {start}"));
            }
        }
    }
    // Every check that decided and belongs in code scanning has its run.
    for check in &report.checks {
        let expected = matches!(check.outcome, Outcome::Passed | Outcome::Failed)
            && check.kind == greenlight_report::NodeKind::Check
            && !matches!(check.id.as_str(), "pytest" | "policy");
        let present =
            runs.iter().any(|run| run.pointer("/properties/greenlight/check") == Some(&Value::from(check.id.as_str())));
        if complete && expected != present {
            problems.push(format!("{}: run present {present}, expected {expected}", check.id));
        }
    }
    assert!(problems.is_empty(), "GitHub would reject or mangle this SARIF:\n{}\n{text}", problems.join("\n"));
}

#[test]
fn sarif_is_valid_for_the_schema_and_github() {
    let report = sample_report();
    assert_valid_sarif(&sarif::render(&report).text, &report);
}

#[test]
fn sarif_locations_are_repository_relative_and_decodable() {
    let report = sample_report();
    let sarif: Value = serde_json::from_str(&sarif::render(&report).text).unwrap();
    let mut uris: Vec<String> = Vec::new();
    for run in sarif["runs"].as_array().unwrap() {
        assert_eq!(run["originalUriBaseIds"]["%SRCROOT%"]["uri"], "file:///home/dev/monorepo/");
        for result in run["results"].as_array().unwrap() {
            let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str().unwrap();
            uris.push(percent_decode(uri));
        }
    }
    for expected in [
        "services/payments/apps/api/a,b:c%d.py",
        "services/payments/apps/api/routes/café.py",
        "services/payments/config/settings,prod.py",
        "services/payments/docs/100%_coverage:notes.md",
        "services/payments/pyproject.toml",
    ] {
        assert!(uris.iter().any(|uri| uri == expected), "{expected} not among {uris:?}");
    }
    // The transitive vulnerability and the build finding have no place: line 1 of pyproject.toml.
    let pip_audit =
        sarif["runs"].as_array().unwrap().iter().find(|run| run["tool"]["driver"]["name"] == "pip-audit").unwrap();
    let transitive =
        pip_audit["results"].as_array().unwrap().iter().find(|r| r["ruleId"] == "GHSA-v845-jxx5-vc9f").unwrap();
    assert_eq!(transitive["locations"][0]["physicalLocation"]["region"]["startLine"], 1);
    assert_eq!(transitive["properties"]["package"], "urllib3");
}

#[test]
fn sarif_respects_limits_and_says_what_it_cut() {
    let report = big_report(40);
    let options = sarif::SarifOptions { max_runs: 2, max_results_per_run: 25, ..Default::default() };
    let rendered = sarif::render_with(&report, &options);
    assert_valid_sarif_with(&rendered.text, &report, false);
    let sarif: Value = serde_json::from_str(&rendered.text).unwrap();
    let runs = sarif["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2);
    for run in runs {
        assert_eq!(run["results"].as_array().unwrap().len(), 25);
        assert_eq!(run["properties"]["greenlight"]["resultsTotal"], 40);
        let notice = run["invocations"][0]["toolExecutionNotifications"][0]["message"]["text"].as_str().unwrap();
        assert!(notice.starts_with("25 of 40 results of"), "{notice}");
        // Errors are kept before warnings.
        assert!(run["results"].as_array().unwrap().iter().all(|result| result["level"] == "error"));
    }
    assert!(rendered.notes.iter().any(|note| note.contains("at most 2 runs; left out")), "{:?}", rendered.notes);
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            out.push(u8::from_str_radix(&text[index + 1..index + 3], 16).expect("a %XX escape"));
            index += 3;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(out).expect("UTF-8")
}

// ---------------------------------------------------------------------------------------------
// JUnit: read back by a JUnit reader

#[test]
fn junit_parses_back_with_one_suite_per_check_and_unique_cases() {
    let report = sample_report();
    let xml = junit::render(&report);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("a JUnit reader parses it");
    assert_eq!(parsed.test_suites.len(), report.checks.len(), "one suite per check");

    let mut seen = HashSet::new();
    for (suite, check) in parsed.test_suites.iter().zip(&report.checks) {
        assert_eq!(suite.name.as_str(), check.id);
        assert!(!suite.test_cases.is_empty(), "{}: every check shows as at least one case", check.id);
        for case in &suite.test_cases {
            let classname = case.classname.as_ref().map(|c| c.as_str().to_string()).unwrap_or_default();
            assert!(!classname.is_empty(), "{}: a case without classname", check.id);
            assert!(
                seen.insert((classname.clone(), case.name.as_str().to_string())),
                "duplicate case {classname} {:?}",
                case.name
            );
        }
    }

    let suite = |id: &str| parsed.test_suites.iter().find(|suite| suite.name.as_str() == id).unwrap();
    // pytest's own cases, with the traceback as the failure text.
    let pytest = suite("pytest");
    assert_eq!((pytest.tests, pytest.failures, pytest.errors, pytest.skipped), (7, 2, 2, 1));
    let refund = pytest.test_cases.iter().find(|case| case.name.as_str() == "test_refund[€-10]").unwrap();
    assert_eq!(refund.classname.as_ref().unwrap().as_str(), "tests.test_api.TestPayments");
    match &refund.status {
        quick_junit::TestCaseStatus::NonSuccess { kind: quick_junit::NonSuccessKind::Failure, description, .. } => {
            assert!(description.as_ref().unwrap().as_str().contains("tests/test_api.py:42: AssertionError"));
        }
        other => panic!("refund: {other:?}"),
    }
    assert_eq!(refund.extra.get("file").map(|f| f.as_str()), Some("services/payments/tests/test_api.py"));
    // Findings of other checks: one failed case each, classname check.rule.
    let ruff = suite("ruff-check");
    assert_eq!(ruff.failures, 4, "four errors; the E501 warning passes");
    assert!(ruff.test_cases.iter().any(|case| case.classname.as_ref().unwrap().as_str() == "ruff-check.F401"
        && case.name.as_str() == "apps/api/a,b:c%d.py:1:8"));
    // Errored and timed out: <error>; skipped and cancelled: <skipped>.
    assert_eq!(suite("mypy").errors, 1);
    assert_eq!(suite("docker").errors, 1);
    assert_eq!(suite("bandit").skipped, 1);
    assert_eq!(suite("semgrep").skipped, 1);
    assert_eq!(suite("environment").tests, 1);
    assert_eq!((suite("environment").failures, suite("environment").errors), (0, 0));
    assert_eq!(suite("policy").failures, 1);
    assert_eq!(suite("build").failures, 1);
}

#[test]
fn junit_has_only_characters_xml_allows() {
    let xml = junit::render(&sample_report());
    for c in xml.chars() {
        let allowed = matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}');
        assert!(allowed, "illegal XML 1.0 character U+{:04X}", c as u32);
    }
    assert!(!xml.contains("\u{1b}["), "ANSI escapes are removed");
    assert!(xml.contains("Hello, Zoë 👋"), "unicode is kept");
}

#[test]
fn junit_names_stay_unique_for_identical_findings() {
    let mut report = sample_report();
    let ruff = report.checks.iter_mut().find(|check| check.id == "ruff-check").unwrap();
    let copy = ruff.findings[0].clone();
    ruff.findings.push(copy.clone());
    ruff.findings.push(copy);
    let parsed = quick_junit::Report::deserialize_from_str(&junit::render(&report)).unwrap();
    let suite = parsed.test_suites.iter().find(|suite| suite.name.as_str() == "ruff-check").unwrap();
    let mut names: Vec<String> =
        suite.test_cases.iter().map(|case| format!("{:?} {:?}", case.classname, case.name)).collect();
    let count = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), count);
}

// ---------------------------------------------------------------------------------------------
// GitHub workflow commands: the runner's parsing and escaping

/// A workflow command as the runner reads it (`ActionCommand.TryParseV2`).
#[derive(Debug)]
struct Command {
    name: String,
    properties: BTreeMap<String, String>,
    data: String,
}

fn unescape_data(text: &str) -> String {
    text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")
}

fn unescape_property(text: &str) -> String {
    text.replace("%0D", "\r").replace("%0A", "\n").replace("%3A", ":").replace("%2C", ",").replace("%25", "%")
}

/// The commands the runner would execute from `output`, honouring `::stop-commands::`.
fn runner_commands(output: &str) -> Vec<Command> {
    let mut commands = Vec::new();
    let mut stopped: Option<String> = None;
    for line in output.lines() {
        let line = line.trim_start();
        if let Some(token) = &stopped {
            if line == format!("::{token}::") {
                stopped = None;
            }
            continue;
        }
        let Some(rest) = line.strip_prefix("::") else { continue };
        let Some(end) = rest.find("::") else { continue };
        let (info, data) = (&rest[..end], &rest[end + 2..]);
        let (name, props) = info.split_once(' ').unwrap_or((info, ""));
        let mut properties = BTreeMap::new();
        for pair in props.split(',').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').expect("key=value");
            assert!(
                properties.insert(key.to_lowercase(), unescape_property(value)).is_none(),
                "duplicate property {key}"
            );
        }
        if name == "stop-commands" {
            stopped = Some(data.to_string());
        }
        commands.push(Command { name: name.to_string(), properties, data: unescape_data(data) });
    }
    assert!(stopped.is_none(), "stop-commands never resumed");
    commands
}

#[test]
fn annotations_survive_the_runner_with_commas_colons_and_percents() {
    let report = sample_report();
    let everything = github::GithubOptions { max_per_level: 1000, ..Default::default() };
    let commands = runner_commands(&github::render_with(&report, &everything));
    let files: Vec<&str> =
        commands.iter().filter_map(|command| command.properties.get("file").map(String::as_str)).collect();
    for expected in [
        "services/payments/apps/api/a,b:c%d.py",
        "services/payments/config/settings,prod.py",
        "services/payments/docs/100%_coverage:notes.md",
        "services/payments/apps/api/routes/café.py",
    ] {
        assert!(files.contains(&expected), "{expected} not among {files:?}");
    }
    let f401 = commands
        .iter()
        .find(|command| command.properties.get("title").is_some_and(|t| t == "ruff-check: ruff F401"))
        .unwrap();
    assert_eq!(f401.name, "error");
    assert_eq!(
        f401.properties.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>(),
        [
            "col=8",
            "endcolumn=10",
            "endline=1",
            "file=services/payments/apps/api/a,b:c%d.py",
            "line=1",
            "title=ruff-check: ruff F401"
        ]
    );
    // A region over several lines: no columns (the runner would drop them).
    let imports =
        commands.iter().find(|command| command.properties.get("file").is_some_and(|f| f.ends_with("café.py"))).unwrap();
    assert_eq!(imports.properties.get("endline").map(String::as_str), Some("9"));
    assert!(!imports.properties.contains_key("col"));
    // Multi-line messages arrive whole.
    let syntax = commands.iter().find(|command| command.data.starts_with("Expected a parameter")).unwrap();
    assert!(syntax.data.contains("\n(the file cannot be parsed"));
    // Every line of output is either a command or plain text the runner shows; nothing the
    // tools printed runs as a command.
    assert!(!commands.iter().any(|command| command.data == "a test printed this workflow command"));
}

#[test]
fn annotations_put_the_most_important_first_within_the_runner_limit() {
    let commands = runner_commands(&github::render(&big_report(30)));
    let errors: Vec<&Command> = commands.iter().filter(|command| command.name == "error").collect();
    let warnings: Vec<&Command> = commands.iter().filter(|command| command.name == "warning").collect();
    assert_eq!(errors.len(), 10);
    assert_eq!(warnings.len(), 10);
    // Round robin: the first error of each check comes before the second of any.
    let titles: Vec<&str> = errors.iter().map(|command| command.properties["title"].as_str()).collect();
    assert!(
        titles[0].starts_with("check-0") && titles[1].starts_with("check-1") && titles[2].starts_with("check-2"),
        "{titles:?}"
    );
    let text = github::render(&big_report(30));
    assert!(text.contains("greenlight: 110 more errors, 20 more warnings are not annotated"), "{text}");
}

#[test]
fn every_check_has_a_group_with_its_log() {
    let report = sample_report();
    let text = github::render(&report);
    let commands = runner_commands(&text);
    let groups = commands.iter().filter(|command| command.name == "group").count();
    assert_eq!(groups, report.checks.len());
    assert_eq!(commands.iter().filter(|command| command.name == "endgroup").count(), report.checks.len());
    for check in &report.checks {
        if let Some(log) = &check.log {
            assert!(text.contains(&format!("full log: {}", log.path)), "{}", check.id);
        }
    }
    // The tool output is shown, but inside stop-commands.
    assert!(text.contains("\n::error::a test printed this workflow command\n"));
}

// ---------------------------------------------------------------------------------------------
// Markdown: size and escaping

#[test]
fn markdown_stays_under_the_step_summary_limit_and_says_what_it_cut() {
    // 12 checks of 150 findings with 2 KB messages: several MB if nothing were cut.
    let mut report = big_report(150);
    let template = report.checks[0].clone();
    report.checks = (0..12)
        .map(|index| {
            let mut check = template.clone();
            check.id = format!("check-{index}");
            for finding in &mut check.findings {
                finding.message = format!("{} {}", finding.message, "long words ".repeat(200));
            }
            check
        })
        .collect();
    let text = markdown::render(&report);
    assert!(text.len() <= 512 * 1024, "{} bytes", text.len());
    assert!(text.len() > 400 * 1024, "the budget is used: {} bytes", text.len());
    let note = &text[text.rfind("> [!NOTE]").expect("a note of what was cut")..];
    assert!(note.contains("findings are not listed") && note.contains("sections left out"), "{note}");
    let small = markdown::render_with(&report, &markdown::MarkdownOptions { max_bytes: 20_000, ..Default::default() });
    assert!(small.len() <= 20_000, "{} bytes", small.len());
    assert!(small.contains("findings are not listed"));
}

#[test]
fn markdown_cells_escape_pipes_and_line_breaks() {
    let text = markdown::render(&sample_report());
    let e711 = text.lines().find(|line| line.contains("E711")).unwrap();
    assert!(e711.contains("should be `cond is None` \\| use `is`"), "{e711}");
    let syntax = text.lines().find(|line| line.contains("Expected a parameter")).unwrap();
    assert!(syntax.contains("<br>(the file cannot be parsed"), "{syntax}");
    for line in text.lines().filter(|line| line.starts_with('|')) {
        let unescaped = line.replace("\\|", "");
        let columns = unescaped.matches('|').count();
        assert!(columns == 4 || columns == 6, "a row with a stray `|`: {line}");
    }
}

// ---------------------------------------------------------------------------------------------
// A big report: every format within its limits

/// Failing checks (one when `per_check` is over 1,000, else five) with `per_check` findings
/// each: 4 of 5 errors, 1 of 5 warnings.
fn big_report(per_check: usize) -> RunReport {
    let mut report = sample_report();
    report.checks.clear();
    for index in 0..(if per_check > 1000 { 1 } else { 5 }) {
        let mut check =
            greenlight_report::CheckReport::new(format!("check-{index}"), format!("check {index}"), Outcome::Failed);
        check.summary = format!("{per_check} findings");
        for n in 0..per_check {
            let mut finding = Finding::new(
                format!("R{:03}", n % 50),
                format!("finding {n} of check {index}: something | is wrong"),
                Some(Location::at(format!("pkg/module_{}.py", n % 97), Some(1 + (n % 500) as u32), Some(1))),
            );
            finding.kind = FindingKind::Lint;
            finding.severity = if n % 5 == 4 { Severity::Warning } else { Severity::Error };
            check.findings.push(finding);
        }
        greenlight_report::sort_findings(&mut check.findings);
        report.checks.push(check);
    }
    report.recompute_outcome();
    report
}

#[test]
fn a_big_report_renders_in_every_format_within_github_limits() {
    // One more result than GitHub takes in a run.
    let report = big_report(25_001);
    let sarif = sarif::render(&report);
    let junit = junit::render(&report);
    let markdown = markdown::render(&report);
    let github = github::render(&report);
    assert_valid_sarif(&sarif.text, &report);
    assert_eq!(sarif.notes.len(), 1, "{:?}", sarif.notes);
    assert!(sarif.notes[0].starts_with("25000 of 25001 results of `check-0`"), "{:?}", sarif.notes);
    assert_eq!(junit.matches("<testcase ").count(), 25_001);
    assert!(markdown.len() <= 512 * 1024);
    assert_eq!(github.lines().filter(|line| line.starts_with("::error ")).count(), 10);
}
