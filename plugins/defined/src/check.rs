//! A defined check as a [`Checker`]: detection from its conditions, the command with its
//! placeholders, and the verdict from the exit-code contract and what its reader read.

use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerInfo, Detection, ENVIRONMENT, Outcome, Project, Severity,
    async_trait, text,
};

use crate::definition::Definition;
use crate::reader::{Format, Input, Read, Reader};

/// Most bytes of a stream a reader reads from it (a long mypy run prints megabytes).
const READ_LIMIT: usize = 64 * 1024 * 1024;

/// A check run from its [`Definition`].
#[derive(Debug)]
pub struct DefinedCheck {
    /// What it runs and how it is read.
    pub definition: Definition,
}

#[async_trait]
impl Checker for DefinedCheck {
    fn id(&self) -> &'static str {
        self.definition.id
    }

    fn info(&self) -> CheckerInfo {
        let definition = &self.definition;
        let mut info = CheckerInfo::new(definition.title);
        info.tools = definition.tool.iter().copied().collect();
        info.default_timeout = Duration::from_secs(600);
        info.needs = if definition.environment { vec![ENVIRONMENT] } else { Vec::new() };
        info.cpu_bound = definition.cpu_bound;
        info.expected = Duration::from_secs(5);
        info.homepage = definition.homepage;
        info.inputs = definition.inputs.clone();
        // Test results are not code-scanning alerts.
        info.sarif = definition.reader.format != Format::Junit;
        info
    }

    fn detect(&self, project: &Project) -> Detection {
        let conditions = &self.definition.applies_when;
        if conditions.is_empty() {
            return Detection::applies("defined in the configuration");
        }
        match conditions.iter().find_map(|condition| condition.holds(project)) {
            Some(reason) => Detection::applies(reason),
            None => Detection::not_applicable(format!("none of its `applies-when` holds ({})", describe(conditions))),
        }
    }

    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        let definition = &self.definition;
        let version = definition.tool.and_then(|tool| cx.tools.get(tool.name)).map(|tool| tool.version.as_str());
        let (command, reader) = variant(definition, version);
        let places = Places {
            report: cx.scratch.join("report"),
            scratch: cx.scratch.clone(),
            // A directory kept between runs for the tool's own cache (mypy's), not made until
            // the tool makes it.
            state: cx.state_dir.join("checks").join(self.id()),
            root: cx.project.root.clone(),
            python: cx.environment.as_ref().map(|environment| environment.python.clone()),
        };
        let mut words: Vec<String> = command.to_vec();
        for (condition, args) in &definition.args_when {
            if condition.holds(&cx.project).is_some() {
                words.extend(args.iter().cloned());
            }
        }
        words.extend(definition.args.iter().cloned());
        let words = words.iter().map(|word| places.expand(word)).collect::<Result<Vec<_>, _>>()?;
        let (program, args) = words.split_first().ok_or_else(|| CheckError::errored("the command is empty"))?;
        let mut invocation = match &definition.tool {
            Some(tool) => cx.tool(tool)?.args(args),
            None => {
                let path = if program.contains('/') { cx.project.root.join(program) } else { PathBuf::from(program) };
                let mut command = cx.cmd(path).args(args);
                if definition.environment {
                    command = cx.in_environment(command);
                }
                cx.invocation(program.clone(), command)
            }
        };
        for (name, value) in &definition.env {
            invocation = invocation.env(name, places.expand(value)?);
        }
        match reader.input {
            Input::Stdout => invocation = invocation.stdout_limit(READ_LIMIT),
            Input::Stderr => invocation = invocation.capture_limit(READ_LIMIT),
            Input::File(_) => {}
        }
        let output = invocation.run().await?;
        let code = output.code();
        let read = match &reader.input {
            _ if reader.format == Format::ExitCode => Ok(Read::default()),
            Input::Stdout => reader.read(&output.stdout.text(), &cx.project.root, definition.title),
            Input::Stderr => reader.read(&output.stderr.text(), &cx.project.root, definition.title),
            Input::File(file) => {
                let path = cx.project.root.join(places.expand(file)?);
                match std::fs::read_to_string(&path) {
                    Ok(text) => reader.read(&text, &cx.project.root, definition.title),
                    Err(error) => Err(format!("it wrote no readable report at {} ({error})", path.display())),
                }
            }
        };
        let tail = output.both_tails(15);
        Ok(output.attach(interpret(definition, reader, code, read, &tail)))
    }
}

/// The command and reader for the tool's `version` (`older` entries apply below theirs).
fn variant<'a>(definition: &'a Definition, version: Option<&str>) -> (&'a [String], &'a Reader) {
    let release = version.and_then(greenlight_checker::release::release);
    let mut command = definition.command.as_slice();
    let mut reader = &definition.reader;
    if let Some(release) = release {
        // Newest first: each entry that applies replaces what a newer one chose.
        for older in definition.older.iter().filter(|older| release < older.below) {
            if let Some(older_command) = &older.command {
                command = older_command;
            }
            if let Some(older_reader) = &older.reader {
                reader = older_reader;
            }
        }
    }
    (command, reader)
}

/// The values of the placeholders.
struct Places {
    report: PathBuf,
    scratch: PathBuf,
    state: PathBuf,
    root: PathBuf,
    python: Option<PathBuf>,
}

impl Places {
    fn expand(&self, word: &str) -> Result<String, CheckError> {
        let display = |path: &Path| path.to_string_lossy().into_owned();
        let mut word = word.replace("{report}", &display(&self.report)).replace("{scratch}", &display(&self.scratch));
        word = word.replace("{root}", &display(&self.root));
        if word.contains("{state}") {
            std::fs::create_dir_all(&self.state)
                .map_err(|error| CheckError::errored(format!("cannot make {}: {error}", self.state.display())))?;
            word = word.replace("{state}", &display(&self.state));
        }
        if word.contains("{python}") {
            let python = self.python.as_deref().ok_or_else(|| {
                CheckError::errored("`{python}` needs the project environment, and there is none (is it disabled?)")
            })?;
            word = word.replace("{python}", &display(python));
        }
        Ok(word)
    }
}

/// The verdict: the exit-code contract first (a code outside it is a crash), then what the
/// reader read (an unreadable report is `errored`), then the findings.
pub fn interpret(
    definition: &Definition,
    reader: &Reader,
    code: i32,
    read: Result<Read, String>,
    tail: &str,
) -> CheckResult {
    let exit = &definition.exit_codes;
    let tool = definition.tool.map_or(definition.title, |tool| tool.name);
    let last_output = if tail.trim().is_empty() { "(no output)".to_string() } else { tail.to_string() };
    let success = exit.success.contains(&code);
    if !success && !exit.findings.contains(&code) {
        return CheckResult::errored(format!(
            "{tool} exited with code {code}, which means neither success ({}) nor findings ({}) in its definition: it crashed or was used wrongly; its last output:\n{last_output}",
            codes(&exit.success),
            codes(&exit.findings)
        ));
    }
    let read = match read {
        Ok(read) => read,
        Err(reason) => {
            return CheckResult::errored(format!(
                "{tool} exited with code {code}, but {reason}; its last output:\n{last_output}"
            ));
        }
    };
    let errors = read.findings.iter().filter(|finding| finding.severity == Severity::Error).count();
    let failing_tests = read.tests.as_ref().map_or(0, |tests| tests.failed + tests.errors);
    let summary = summary(&read, code);
    let mut result = if !success {
        let mut result = CheckResult::failed(summary);
        if read.findings.is_empty() && reader.format != Format::ExitCode {
            result.reason = Some(format!(
                "{tool} exited with code {code} (findings), but its output had none the `{}` reader could read; see the log",
                format_name(reader.format)
            ));
        }
        result
    } else if errors > 0 || failing_tests > 0 {
        let mut result = CheckResult::failed(summary);
        result.reason = Some(format!("{tool} exited with code {code}, but its report lists errors"));
        result
    } else {
        CheckResult::new(Outcome::Passed, summary)
    };
    result.findings = read.findings;
    result.tests = read.tests;
    result
}

fn summary(read: &Read, code: i32) -> String {
    if let Some(tests) = &read.tests {
        return greenlight_checker::junit::counts(tests);
    }
    if read.findings.is_empty() {
        return if code == 0 { "no findings".to_string() } else { format!("exit code {code}") };
    }
    let count = |severity: Severity| read.findings.iter().filter(|finding| finding.severity == severity).count();
    let mut parts = Vec::new();
    for (severity, word) in [(Severity::Error, "error"), (Severity::Warning, "warning"), (Severity::Note, "note")] {
        let n = count(severity);
        if n > 0 {
            parts.push(text::plural(n, word));
        }
    }
    format!("{} ({})", text::plural(read.findings.len(), "finding"), parts.join(", "))
}

fn codes(codes: &[i32]) -> String {
    if codes.is_empty() {
        return "none".to_string();
    }
    codes.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Sarif => "sarif",
        Format::Junit => "junit",
        Format::Json => "json",
        Format::JsonLines => "json-lines",
        Format::Regex => "regex",
        Format::ExitCode => "exit-code",
    }
}

fn describe(conditions: &[crate::definition::Condition]) -> String {
    use crate::definition::Condition;
    conditions
        .iter()
        .map(|condition| match condition {
            Condition::File(glob, _) => format!("`{glob}`"),
            Condition::Pyproject(name) => format!("[tool.{name}]"),
            Condition::Ini { file, section } => format!("[{section}] in {file}"),
            Condition::Dependency(package) => format!("`{package}` declared"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
