//! The CI examples in `docs/examples/` and the Action (`action.yml`) are real YAML that GitHub
//! Actions and GitLab CI accept: actionlint (with shellcheck) and the workflow, pipeline and
//! action schemas pass on each, and every `greenlight` (or `cargo xtask ci`) command in them
//! parses with this build's command line.

use std::path::{Path, PathBuf};

use clap::Parser as _;
use serde_yaml_ng::Value;

use crate::cli::Cli;
use crate::registry::registry;

/// Actions the GitHub examples may use: majors that run on Node 24 (a typo, an unpinned
/// action or an older major fails the test).
const ACTIONS: [&str; 6] = [
    "actions/checkout@v5",
    "actions/setup-python@v6",
    "actions/upload-artifact@v6",
    "actions/download-artifact@v7",
    "github/codeql-action/upload-sarif@v4",
    GREENLIGHT_ACTION,
];

/// How the examples use this repository's Action (`action.yml`).
const GREENLIGHT_ACTION: &str = "greenlight-ci/greenlight@v0.1.0";

fn examples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "yml"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "the GitHub and GitLab examples are in {}", dir.display());
    files
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|error| panic!("{} is not YAML: {error}", path.display()))
}

fn get<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    value.as_mapping()?.get(Value::String(key.to_string()))
}

fn text(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Sequence(items) => items.iter().flat_map(text).collect(),
        _ => Vec::new(),
    }
}

/// Shell words of `script`, one list per simple command (split on newlines, `&&`, `||`, `;`).
/// `${{ ... }}` expressions become one placeholder word; quotes are removed.
fn commands(script: &str) -> Vec<Vec<String>> {
    let script = script.replace("\\\n", " ");
    let mut expanded = String::new();
    let mut rest = script.as_str();
    while let Some(start) = rest.find("${{") {
        expanded.push_str(&rest[..start]);
        let end = rest[start..].find("}}").map_or(rest.len(), |end| start + end + 2);
        expanded.push_str("EXPR");
        rest = &rest[end..];
    }
    expanded.push_str(rest);
    let mut all = Vec::new();
    for line in expanded.lines() {
        let line = line.split(" #").next().unwrap_or_default();
        for part in line.split("&&").flat_map(|part| part.split("||")).flat_map(|part| part.split(';')) {
            let words: Vec<String> =
                part.split_whitespace().map(|word| word.trim_matches(|c| c == '"' || c == '\'').to_string()).collect();
            if !words.is_empty() {
                all.push(words);
            }
        }
    }
    all
}

/// Every `greenlight ...` command in the script as the argv clap sees (`cargo xtask ci ARGS`
/// is `greenlight run ARGS`).
fn greenlight_commands(script: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    for words in commands(script) {
        let words: Vec<String> = words.into_iter().skip_while(|word| word == "command" || word == "-v").collect();
        if words.first().is_some_and(|word| word == "greenlight") {
            found.push(words);
        } else if words.len() >= 3 && words[..3] == ["cargo", "xtask", "ci"] {
            let mut argv = vec!["greenlight".to_string(), "run".to_string()];
            argv.extend(words[3..].iter().cloned());
            found.push(argv);
        }
    }
    found
}

/// Parses every greenlight command with clap; returns them.
fn assert_commands_parse(file: &Path, scripts: &[String]) -> Vec<Vec<String>> {
    let mut all = Vec::new();
    for script in scripts {
        for argv in greenlight_commands(script) {
            if argv.len() == 1 {
                continue; // `command -v greenlight`
            }
            // GitLab's `parallel: N` sets the job's index and the count: parse with a value.
            let argv: Vec<String> =
                argv.iter().map(|arg| arg.replace("$CI_NODE_INDEX", "1").replace("$CI_NODE_TOTAL", "3")).collect();
            if let Err(error) = Cli::try_parse_from(&argv) {
                panic!("{}: `{}` does not parse:\n{error}", file.display(), argv.join(" "));
            }
            all.push(argv);
        }
    }
    assert!(!all.is_empty(), "{} runs no greenlight command", file.display());
    all
}

fn flag_value<'a>(argv: &'a [String], flag: &str) -> Option<&'a str> {
    argv.iter().position(|word| word == flag).and_then(|index| argv.get(index + 1)).map(String::as_str)
}

#[test]
fn github_examples_are_valid_workflows_that_run_only_greenlight() {
    for file in examples()
        .into_iter()
        .filter(|file| file.file_name().is_some_and(|name| name.to_string_lossy().starts_with("github")))
    {
        let workflow = load(&file);
        assert!(get(&workflow, "on").is_some(), "{}: no `on` trigger", file.display());
        let jobs =
            get(&workflow, "jobs").and_then(Value::as_mapping).unwrap_or_else(|| panic!("{}: no jobs", file.display()));
        let mut scripts = Vec::new();
        let mut uploads_sarif = false;
        let mut uses_action = false;
        for (name, job) in jobs {
            let name = name.as_str().unwrap_or_default();
            assert!(get(job, "runs-on").is_some(), "{}: job {name} has no runs-on", file.display());
            let steps = get(job, "steps").and_then(Value::as_sequence).unwrap_or_else(|| panic!("{name}: no steps"));
            for step in steps {
                match (get(step, "uses"), get(step, "run")) {
                    (Some(uses), None) => {
                        let uses = uses.as_str().unwrap_or_default();
                        assert!(ACTIONS.contains(&uses), "{}: job {name} uses unknown action {uses}", file.display());
                        if uses == GREENLIGHT_ACTION {
                            uses_action = true;
                            let with = get(step, "with");
                            if with.and_then(|with| get(with, "upload-sarif")) == Some(&Value::Bool(true)) {
                                uploads_sarif = true;
                                assert!(
                                    job_can_write_security_events(&workflow, job),
                                    "{}: job {name} uploads SARIF without security-events: write",
                                    file.display()
                                );
                            }
                        }
                        if uses.starts_with("github/codeql-action/upload-sarif") {
                            uploads_sarif = true;
                            let write = |value: Option<&Value>| {
                                value
                                    .and_then(|permissions| get(permissions, "security-events"))
                                    .and_then(Value::as_str)
                                    == Some("write")
                            };
                            assert!(
                                write(get(job, "permissions")) || write(get(&workflow, "permissions")),
                                "{}: job {name} uploads SARIF without security-events: write",
                                file.display()
                            );
                            let sarif =
                                get(step, "with").and_then(|with| get(with, "sarif_file")).and_then(Value::as_str);
                            assert!(
                                sarif.is_some_and(|path| path.ends_with(".sarif")),
                                "{}: sarif_file",
                                file.display()
                            );
                        }
                    }
                    (None, Some(run)) => scripts.extend(text(run)),
                    _ => panic!("{}: job {name} has a step without exactly one of uses/run: {step:?}", file.display()),
                }
            }
        }
        let parsed = if uses_action { Vec::new() } else { assert_commands_parse(&file, &scripts) };
        assert!(uploads_sarif, "{}: SARIF is uploaded to code scanning", file.display());
        assert!(
            uses_action || parsed.iter().any(|argv| flag_value(argv, "--sarif").is_some()),
            "{}: writes SARIF",
            file.display()
        );
        check_named_checks(&file, &workflow);
        // Only greenlight decides: no tool is run by hand.
        for script in &scripts {
            for words in commands(script) {
                for tool in ["ruff", "pytest", "pip-audit", "gitleaks"] {
                    assert!(words.first().is_none_or(|word| word != tool), "{}: runs {tool} by hand", file.display());
                }
            }
        }
    }
}

#[test]
fn gitlab_examples_are_valid_pipelines_with_junit_and_code_quality_reports() {
    const RESERVED: [&str; 10] = [
        "stages",
        "variables",
        "default",
        "include",
        "workflow",
        "image",
        "services",
        "cache",
        "before_script",
        "after_script",
    ];
    for file in examples()
        .into_iter()
        .filter(|file| file.file_name().is_some_and(|name| name.to_string_lossy().starts_with("gitlab")))
    {
        let pipeline = load(&file);
        let stages: Vec<String> = text(get(&pipeline, "stages").expect("stages"));
        let mapping = pipeline.as_mapping().expect("a mapping");
        let mut scripts = Vec::new();
        let mut junit_reports = Vec::new();
        let mut quality_reports = Vec::new();
        for (name, job) in mapping {
            let name = name.as_str().unwrap_or_default();
            if RESERVED.contains(&name) {
                continue;
            }
            for key in ["before_script", "script"] {
                if let Some(script) = get(job, key) {
                    scripts.extend(text(script));
                }
            }
            if name.starts_with('.') {
                continue; // A template for `extends`.
            }
            assert!(get(job, "script").is_some(), "{}: job {name} has no script", file.display());
            let stage = get(job, "stage").and_then(Value::as_str).unwrap_or("test");
            assert!(stages.iter().any(|s| s == stage), "{}: job {name} is in unknown stage {stage}", file.display());
            if let Some(junit) = get(job, "artifacts").and_then(|a| get(a, "reports")).and_then(|r| get(r, "junit")) {
                junit_reports.extend(text(junit));
                let when = get(job, "artifacts").and_then(|a| get(a, "when")).and_then(Value::as_str);
                assert_eq!(when, Some("always"), "{}: job {name} must keep its reports when it fails", file.display());
            }
            let reports = get(job, "artifacts").and_then(|a| get(a, "reports"));
            if let Some(quality) = reports.and_then(|r| get(r, "codequality")) {
                quality_reports.extend(text(quality));
            }
        }
        let parsed = assert_commands_parse(&file, &scripts);
        let written: Vec<&str> = parsed
            .iter()
            .flat_map(|argv| [flag_value(argv, "--junit"), flag_value(argv, "--gitlab-codequality")])
            .flatten()
            .collect();
        assert!(!junit_reports.is_empty(), "{}: no artifacts:reports:junit", file.display());
        assert!(!quality_reports.is_empty(), "{}: no artifacts:reports:codequality", file.display());
        for report in junit_reports.iter().chain(&quality_reports) {
            assert!(
                written.contains(&report.as_str()),
                "{}: {report} is not written by greenlight ({written:?})",
                file.display()
            );
        }
        check_named_checks(&file, &pipeline);
    }
}

fn job_can_write_security_events(workflow: &Value, job: &Value) -> bool {
    let write = |value: Option<&Value>| {
        value.and_then(|permissions| get(permissions, "security-events")).and_then(Value::as_str) == Some("write")
    };
    write(get(job, "permissions")) || write(get(workflow, "permissions"))
}

/// Check ids named in matrices (`checks:` / `CHECKS:` values) exist.
fn check_named_checks(file: &Path, value: &Value) {
    match value {
        Value::Mapping(mapping) => {
            for (key, value) in mapping {
                if let (Some("checks" | "CHECKS"), Value::String(ids)) = (key.as_str(), value)
                    && !ids.contains("${{")
                {
                    let known: Vec<&str> = registry().iter().map(|factory| factory.id).collect();
                    for id in ids.split_whitespace() {
                        assert!(known.contains(&id), "{}: unknown check id `{id}`", file.display());
                    }
                } else {
                    check_named_checks(file, value);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|item| check_named_checks(file, item)),
        _ => {}
    }
}

#[test]
fn command_extraction() {
    let script = "command -v greenlight || cargo install x\ngreenlight run ${{ matrix.checks }} \\\n  --json \"r/${{ matrix.shard }}.json\"\ncargo xtask ci --project fixtures/clean-service";
    assert_eq!(
        greenlight_commands(script),
        [
            vec!["greenlight"],
            vec!["greenlight", "run", "EXPR", "--json", "r/EXPR.json"],
            vec!["greenlight", "run", "--project", "fixtures/clean-service"],
        ]
    );
    assert!(Cli::try_parse_from(["greenlight", "run", "--no-such-flag"]).is_err(), "unknown flags are caught");
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The action's metadata.
fn action() -> Value {
    load(&workspace().join("action.yml"))
}

#[test]
fn the_action_runs_greenlight_with_every_report_and_exposes_them() {
    let action = action();
    let runs = get(&action, "runs").expect("runs");
    assert_eq!(get(runs, "using").and_then(Value::as_str), Some("composite"));
    let steps = get(runs, "steps").and_then(Value::as_sequence).expect("steps");
    let scripts: Vec<String> = steps.iter().filter_map(|step| get(step, "run")).flat_map(text).collect();
    // `args=(run --json "$out/report.json" ...)`: the fixed part of the command line.
    let line = scripts
        .iter()
        .flat_map(|script| script.lines())
        .find_map(|line| line.trim().strip_prefix("args=(").and_then(|rest| rest.strip_suffix(')')))
        .expect("the action builds greenlight's arguments in `args=(...)`");
    let mut argv = vec!["greenlight".to_string()];
    argv.extend(line.split_whitespace().map(|word| word.trim_matches('"').replace("$out", "/reports")));
    argv.extend(["--skip".to_string(), "docker,pip-audit".to_string(), "ruff-check".to_string()]);
    if let Err(error) = Cli::try_parse_from(&argv) {
        panic!("action.yml: `{}` does not parse:\n{error}", argv.join(" "));
    }
    for flag in ["--json", "--junit", "--sarif", "--markdown"] {
        assert!(flag_value(&argv, flag).is_some(), "the action writes {flag}");
    }
    let outputs = get(&action, "outputs").and_then(Value::as_mapping).expect("outputs");
    for output in ["outcome", "exit-code", "json", "junit", "sarif", "sarif-category", "markdown"] {
        assert!(outputs.contains_key(Value::String(output.to_string())), "output {output}");
    }
    let inputs = get(&action, "inputs").and_then(Value::as_mapping).expect("inputs");
    for input in ["version", "package", "checks", "skip", "args", "working-directory", "upload-sarif", "sarif-category"]
    {
        assert!(inputs.contains_key(Value::String(input.to_string())), "input {input}");
    }
    let uses: Vec<&str> = steps.iter().filter_map(|step| get(step, "uses")).filter_map(Value::as_str).collect();
    assert_eq!(uses, ["github/codeql-action/upload-sarif@v4"]);
}

/// A linter from `target/tools/venv/bin` (installed by `cargo xtask setup`) or `PATH`; `None`
/// prints why the test is skipped, unless `GREENLIGHT_REQUIRE_TOOLS=1`, where it panics.
#[expect(clippy::disallowed_methods, reason = "a test's own switch and the test machine's PATH")]
fn linter(name: &str) -> Option<PathBuf> {
    let venv = workspace().join("target/tools/venv/bin").join(name);
    let found = if venv.is_file() {
        Some(venv)
    } else {
        std::env::var_os("PATH")
            .and_then(|path| std::env::split_paths(&path).map(|dir| dir.join(name)).find(|path| path.is_file()))
    };
    if found.is_none() {
        if std::env::var("GREENLIGHT_REQUIRE_TOOLS").is_ok_and(|value| value == "1") {
            panic!("`{name}` is required (GREENLIGHT_REQUIRE_TOOLS=1) but not installed; run `cargo xtask setup`");
        }
        #[expect(clippy::print_stderr, reason = "the test says why it skips")]
        {
            eprintln!("skipped: `{name}` is not installed (run `cargo xtask setup`)");
        }
    }
    found
}

#[expect(clippy::disallowed_methods, reason = "the test runs the linters")]
fn lint(program: &Path, args: &[&str], files: &[PathBuf]) {
    let output = std::process::Command::new(program)
        .args(args)
        .args(files)
        .output()
        .unwrap_or_else(|error| panic!("cannot run {}: {error}", program.display()));
    assert!(
        output.status.success(),
        "`{} {}` on {files:?} failed:\n{}{}",
        program.display(),
        args.join(" "),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn examples_starting(prefix: &str) -> Vec<PathBuf> {
    examples()
        .into_iter()
        .filter(|file| file.file_name().is_some_and(|name| name.to_string_lossy().starts_with(prefix)))
        .collect()
}

#[test]
fn actionlint_passes_on_every_github_example() {
    let (Some(actionlint), Some(_)) = (linter("actionlint"), linter("shellcheck")) else { return };
    // actionlint runs shellcheck on every `run:` script it finds on PATH.
    lint(&actionlint, &["-no-color"], &examples_starting("github"));
}

#[test]
fn the_workflow_pipeline_and_action_schemas_accept_the_examples_and_the_action() {
    let Some(check) = linter("check-jsonschema") else { return };
    lint(&check, &["--builtin-schema", "vendor.github-workflows"], &examples_starting("github"));
    lint(&check, &["--builtin-schema", "vendor.gitlab-ci"], &examples_starting("gitlab"));
    lint(&check, &["--builtin-schema", "vendor.github-actions"], &[workspace().join("action.yml")]);
}

#[test]
#[expect(clippy::disallowed_methods, reason = "the test runs shellcheck")]
fn shellcheck_passes_on_the_actions_scripts() {
    let Some(shellcheck) = linter("shellcheck") else { return };
    let action = action();
    let steps = get(get(&action, "runs").expect("runs"), "steps").and_then(Value::as_sequence).expect("steps");
    for step in steps {
        let Some(script) = get(step, "run").and_then(Value::as_str) else { continue };
        assert!(!script.contains("${{"), "expressions go through `env:`, not into the script: {script}");
        let mut child = std::process::Command::new(&shellcheck)
            .args(["--shell=bash", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("run shellcheck");
        std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), script.as_bytes()).expect("write");
        let output = child.wait_with_output().expect("shellcheck");
        assert!(output.status.success(), "shellcheck:\n{}\n{script}", String::from_utf8_lossy(&output.stdout));
    }
}

#[test]
fn the_hook_runs_greenlight_before_a_push_from_the_wheel_of_this_version() {
    let hooks = load(&workspace().join(".pre-commit-hooks.yaml"));
    let hook = hooks.as_sequence().and_then(|hooks| hooks.first()).expect("one hook");
    assert_eq!(get(hook, "id").and_then(Value::as_str), Some("greenlight"));
    assert_eq!(get(hook, "language").and_then(Value::as_str), Some("python"));
    assert_eq!(text(get(hook, "stages").expect("stages")), ["pre-push"]);
    let entry: Vec<String> =
        get(hook, "entry").and_then(Value::as_str).expect("entry").split_whitespace().map(str::to_string).collect();
    assert!(Cli::try_parse_from(&entry).is_ok(), "{entry:?}");
    // The package `pip install .` installs for the hook depends on this version's wheel.
    let setup = std::fs::read_to_string(workspace().join("setup.py")).expect("setup.py");
    assert!(setup.contains("install_requires=[f\"greenlight-ci=={VERSION}\"]"), "{setup}");
    let cargo = std::fs::read_to_string(workspace().join("Cargo.toml")).expect("Cargo.toml");
    assert!(cargo.contains(&format!("\nversion = \"{}\"\n", env!("CARGO_PKG_VERSION"))), "the version setup.py reads");
}
