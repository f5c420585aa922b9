//! Unit tests of definitions, readers and the verdict, on recorded tool output
//! (`tests/data/`: mypy 2.4.1, bandit 1.9.4 and ruff 0.17.6 on the fixtures).

use std::path::Path;

use greenlight_checker::{ConfigSource, Outcome, Severity};

use super::*;
use crate::reader::{Read, Reader};

fn pyproject(text: &str) -> ConfigSource {
    ConfigSource::new("pyproject.toml", text, &["tool", "greenlight"])
}

fn define(text: &str, id: &str) -> Result<Definition, ConfigError> {
    definition::parse(&pyproject(text), &[CHECKS, id], id)
}

#[test]
fn the_shipped_definitions_parse() {
    for factory in [MYPY, BANDIT] {
        let checker = (factory.build)(&ConfigSource::empty()).unwrap();
        assert_eq!(checker.id(), factory.id);
        let info = checker.info();
        assert_eq!(info.tools.len(), 1, "{}", factory.id);
        assert!(info.tools[0].default_version.is_some());
    }
    let mypy = (MYPY.build)(&ConfigSource::empty()).unwrap();
    assert!(mypy.info().tools[0].in_environment);
    assert_eq!(mypy.info().needs, [greenlight_checker::ENVIRONMENT]);
}

#[test]
fn a_builtin_section_replaces_the_targets_and_rejects_unknown_keys() {
    let source = pyproject("[tool.greenlight.mypy]\nargs = ['apps', 'packages']\n");
    assert!((MYPY.build)(&source).is_ok());
    let source = pyproject("[tool.greenlight.mypy]\nargz = []\n");
    let error = (MYPY.build)(&source).err().unwrap();
    assert_eq!((error.line, error.column), (2, 1), "{error}");
}

#[test]
fn a_command_string_is_split_like_a_shell_splits_words() {
    let definition = define("[tool.greenlight.checks.x]\ncommand = \"sh -c 'echo \\\"a b\\\"' c\"\n", "x").unwrap();
    assert_eq!(definition.command, ["sh", "-c", "echo \"a b\"", "c"]);
    let definition = define("[tool.greenlight.checks.x]\ncommand = ['a b', 'c']\n", "x").unwrap();
    assert_eq!(definition.command, ["a b", "c"]);
    assert_eq!(definition.title, "x");
    assert!(definition.tool.is_none());
    assert_eq!(definition.exit_codes, ExitCodes::default());
}

#[test]
fn every_bad_definition_names_its_line_and_column() {
    let cases: &[(&str, (usize, usize), &str)] = &[
        ("[tool.greenlight.checks.x]\ncommand = 'a'\ncomand = 'b'\n", (3, 1), "unknown field `comand`"),
        ("[tool.greenlight.checks.x]\ntitle = 'no command'\n", (1, 1), "missing field `command`"),
        ("[tool.greenlight.checks.x]\ncommand = \"a 'b\"\n", (2, 11), "cannot split"),
        ("[tool.greenlight.checks.x]\ncommand = []\n", (2, 11), "`command` is empty"),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\nreader = 'xml'\n", (3, 10), "unknown reader format `xml`"),
        (
            "[tool.greenlight.checks.x]\ncommand = 'a'\nreader = { format = 'regex', pattern = '(' }\n",
            (3, 10),
            "not a regular expression",
        ),
        (
            "[tool.greenlight.checks.x]\ncommand = 'a'\nreader = { format = 'regex', pattern = '(?P<file>.*)' }\n",
            (3, 10),
            "needs a `(?P<message>...)` group",
        ),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\nreader = { format = 'json' }\n", (3, 10), "needs `message`"),
        (
            "[tool.greenlight.checks.x]\ncommand = 'a'\nreader = { format = 'sarif', fromat = 'x' }\n",
            (3, 30),
            "unknown field `fromat`",
        ),
        (
            "[tool.greenlight.checks.x]\ncommand = 'a'\nexit-codes = { success = [0, 1], findings = [1] }\n",
            (3, 14),
            "exit code 1 is in both",
        ),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\ntool = 'mypy>=1'\n", (3, 8), "not a package name"),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\ntool = 'mypy==latest'\n", (3, 8), "not a version"),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\napplies-when = ['../x']\n", (3, 17), "inside it"),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\napplies-when = [{ ini = 'setup.cfg' }]\n", (3, 17), "go together"),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\ninputs = ['src/[']\n", (3, 11), "not a glob"),
        ("[tool.greenlight.checks.x]\ncommand = 'a {python}'\n", (2, 11), "environment = true"),
        ("[tool.greenlight.checks.x]\ncommand = 'a'\ntimeout = 'soon'\n", (3, 11), "duration"),
        (
            "[tool.greenlight.checks.x]\ncommand = 'a'\n[[tool.greenlight.checks.x.older]]\nbelow = '1'\n",
            (3, 1),
            "needs a `tool`",
        ),
    ];
    for (text, (line, column), wanted) in cases {
        let error = match define(text, "x") {
            // `timeout` is a common key: the orchestrator reads it.
            Ok(_) => match pyproject(text).table_at::<greenlight_checker::CommonOptions>(&["checks", "x"]) {
                Err(error) => error,
                Ok(_) => panic!("accepted:\n{text}"),
            },
            Err(error) => error,
        };
        assert!(error.message.contains(wanted), "{text}\n{error}");
        assert_eq!((error.line, error.column), (*line, *column), "{text}\n{error}");
        assert_eq!(error.file.as_deref(), Some(Path::new("pyproject.toml")));
    }
}

fn mypy_reader() -> (Definition, Reader) {
    let shipped = ConfigSource::new("mypy.toml", MYPY_DEFINITION, &[]);
    let definition = definition::parse(&shipped, &[], "mypy").unwrap();
    let reader = definition.reader.clone();
    (definition, reader)
}

#[test]
fn reads_mypy_json_lines_with_columns_rules_and_urls() {
    let (definition, reader) = mypy_reader();
    let root = Path::new("/work/project");
    let read = reader.read(include_str!("../tests/data/mypy-2.4.1.jsonl"), root, "mypy").unwrap();
    let found: String = read
        .findings
        .iter()
        .map(|f| format!("{} {} {}\n", f.rule, f.location.clone().unwrap().display(), f.severity.as_str()))
        .collect();
    assert_eq!(found, include_str!("../tests/data/mypy-2.4.1.expected"));
    let first = &read.findings[0];
    assert!(first.url.as_deref().unwrap().ends_with("_refs.html#code-arg-type"), "{:?}", first.url);
    let result = interpret(&definition, &reader, 1, Ok(read), "");
    assert_eq!(result.outcome, Outcome::Failed, "{result:?}");
}

/// The mypy text of the same run, for releases before 1.11: the same findings.
#[test]
fn reads_mypy_text_the_same_as_its_json() {
    let (definition, json_reader) = mypy_reader();
    let root = Path::new("/work/project");
    let text_reader = definition.older[0].reader.clone().unwrap();
    let from_json = json_reader.read(include_str!("../tests/data/mypy-2.4.1.jsonl"), root, "mypy").unwrap();
    let from_text = text_reader.read(include_str!("../tests/data/mypy-2.4.1.txt"), root, "mypy").unwrap();
    let key = |read: &Read| -> Vec<(String, Option<greenlight_checker::Location>, String, Severity)> {
        read.findings.iter().map(|f| (f.rule.clone(), f.location.clone(), f.message.clone(), f.severity)).collect()
    };
    assert_eq!(key(&from_text), key(&from_json));
}

#[test]
fn reads_bandit_json() {
    let shipped = ConfigSource::new("bandit.toml", BANDIT_DEFINITION, &[]);
    let definition = definition::parse(&shipped, &[], "bandit").unwrap();
    let root = Path::new("/work/project");
    let read = definition.reader.read(include_str!("../tests/data/bandit-1.9.4.json"), root, "bandit").unwrap();
    let found: Vec<String> = read
        .findings
        .iter()
        .map(|f| {
            let location = f.location.clone().unwrap();
            format!("{} {} {}", f.rule, location.display(), f.severity.as_str())
        })
        .collect();
    assert_eq!(found.join("\n"), include_str!("../tests/data/bandit-1.9.4.expected").trim_end());
    assert!(read.findings.iter().all(|f| f.url.as_deref().is_some_and(|url| url.starts_with("https://bandit"))));
}

#[test]
fn reads_sarif_with_rules_and_help_urls() {
    let definition = define("[tool.greenlight.checks.x]\ncommand = 'a'\nreader = 'sarif'\n", "x").unwrap();
    let root = Path::new("/work/project");
    let read = definition.reader.read(include_str!("../tests/data/ruff-0.17.6.sarif"), root, "x").unwrap();
    assert!(!read.findings.is_empty());
    for finding in &read.findings {
        let location = finding.location.as_ref().unwrap();
        assert!(!location.path.starts_with('/') && !location.path.starts_with("file:"), "{location:?}");
        assert!(location.line.is_some() && location.column.is_some());
        assert!(finding.url.is_some(), "{finding:?}");
    }
}

#[test]
fn the_exit_code_contract_decides_crashes() {
    let definition = define("[tool.greenlight.checks.x]\ncommand = 'a'\n", "x").unwrap();
    let reader = definition.reader.clone();
    let result = interpret(&definition, &reader, 0, Ok(Read::default()), "");
    assert_eq!(result.outcome, Outcome::Passed);
    let result = interpret(&definition, &reader, 1, Ok(Read::default()), "");
    assert_eq!(result.outcome, Outcome::Failed);
    let result = interpret(&definition, &reader, 2, Ok(Read::default()), "Traceback (most recent call last)");
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");
    assert!(result.reason.unwrap().contains("Traceback"));

    // A report that cannot be read is errored, whatever the code.
    let definition = define("[tool.greenlight.checks.x]\ncommand = 'a'\nreader = 'sarif'\n", "x").unwrap();
    let reader = definition.reader.clone();
    let read = reader.read("not json", Path::new("/"), "x");
    let result = interpret(&definition, &reader, 0, read, "");
    assert_eq!(result.outcome, Outcome::Errored, "{result:?}");

    // Findings reported with a success code: the reader's verdict.
    let read = reader.read(include_str!("../tests/data/ruff-0.17.6.sarif"), Path::new("/"), "x").unwrap();
    let result = interpret(&definition, &reader, 0, Ok(read), "");
    assert_eq!(result.outcome, Outcome::Failed, "{result:?}");
}

#[test]
fn reads_junit_test_cases_like_pytest() {
    let definition =
        define("[tool.greenlight.checks.x]\ncommand = 'a'\nreader = { format = 'junit', file = '{report}' }\n", "x")
            .unwrap();
    let reader = definition.reader.clone();
    let xml = include_str!("../../../crates/greenlight-checker/tests/data/mixed-xunit1.xml");
    let read = reader.read(xml, Path::new("/"), "x").unwrap();
    let tests = read.tests.clone().unwrap();
    assert_eq!((tests.total, tests.failed, tests.errors), (9, 2, 3));
    assert!(read.findings.iter().any(|f| f.rule == "test-failed"));
    assert!(!DefinedCheck { definition: definition.clone() }.info().sarif);
    let result = interpret(&definition, &reader, 1, Ok(read), "");
    assert_eq!(result.outcome, Outcome::Failed);
    assert_eq!(result.summary, "2 failed, 2 passed, 2 skipped, 3 errors");
}

#[test]
fn regex_groups_and_severity_words() {
    let text = "[tool.greenlight.checks.x]\ncommand = 'a'\nreader = { format = 'regex', stream = 'stderr', pattern = '^(?P<path>[^:]+):(?P<line>\\d+): (?P<severity>\\w+) (?P<rule>[A-Z]+\\d+) (?P<message>.+)$' }\n";
    let definition = define(text, "x").unwrap();
    let read = definition
        .reader
        .read("src/a.py:3: warning W1 too long\nnoise\n./src/b.py:9: error E2 broken\n", Path::new("/"), "x")
        .unwrap();
    let found: Vec<String> = read
        .findings
        .iter()
        .map(|f| format!("{} {} {}", f.rule, f.location.clone().unwrap().display(), f.severity.as_str()))
        .collect();
    assert_eq!(found, ["W1 src/a.py:3 warning", "E2 src/b.py:9 error"]);
}
