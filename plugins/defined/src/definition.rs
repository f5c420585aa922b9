//! A check's definition: a table of `[tool.greenlight.checks]` (or a definition shipped in
//! the binary), read with the positions of its values, so that every mistake is a
//! configuration error naming file, line and column.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use globset::{Glob, GlobMatcher};
use greenlight_checker::{ConfigError, ConfigSource, Project, ToolSpec, intern, normalize_name, requirement_name};
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::reader::{RawReader, Reader};

/// The placeholders a command may contain, replaced when it runs.
pub const PLACEHOLDERS: &[&str] = &["{report}", "{scratch}", "{state}", "{root}", "{python}"];

/// The keys a definition accepts besides the common ones (`enabled`, `timeout`, `needs`,
/// `pass-env`, `cache`), in the order the docs list them.
pub const DEFINITION_KEYS: &[&str] = &[
    "title",
    "command",
    "args",
    "args-when",
    "environment",
    "tool",
    "applies-when",
    "cpu-bound",
    "env",
    "inputs",
    "reader",
    "exit-codes",
    "homepage",
    "older",
];

/// A validated definition.
#[derive(Debug, Clone)]
pub struct Definition {
    /// The check id.
    pub id: &'static str,
    /// Its title (default: the id).
    pub title: &'static str,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Arguments after those of `args-when` (the targets: `["."]`); a built-in check's
    /// section may replace them with its `args`.
    pub args: Vec<String>,
    /// Arguments added when a condition holds, before `args`.
    pub args_when: Vec<(Condition, Vec<String>)>,
    /// True when it runs in the project environment (its `bin` first on `PATH`).
    pub environment: bool,
    /// The tool greenlight resolves (and installs) for it; `None`: the program is run as
    /// written (a script in the project, or a program on `PATH`).
    pub tool: Option<ToolSpec>,
    /// It applies when any of these holds; always when empty.
    pub applies_when: Vec<Condition>,
    /// True (the default) when it takes a `--jobs` slot.
    pub cpu_bound: bool,
    /// Extra environment variables for the command.
    pub env: Vec<(String, String)>,
    /// Globs of the files its result depends on (the result cache's key); empty: every file.
    pub inputs: Vec<String>,
    /// How its output is read.
    pub reader: Reader,
    /// What its exit codes mean.
    pub exit_codes: ExitCodes,
    /// The tool's home page, for reports.
    pub homepage: Option<&'static str>,
    /// Other commands or readers for older releases of the tool, oldest last.
    pub older: Vec<Older>,
}

/// Which exit codes mean what; any other code, or a signal, is `errored`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitCodes {
    /// Codes of a run that completed (findings in the output still fail it).
    pub success: Vec<i32>,
    /// Codes of a run that found problems.
    pub findings: Vec<i32>,
}

impl Default for ExitCodes {
    fn default() -> Self {
        Self { success: vec![0], findings: vec![1] }
    }
}

/// The command or reader for the releases of the tool below a version.
#[derive(Debug, Clone)]
pub struct Older {
    /// The first release this does not apply to.
    pub below: [u64; 3],
    /// The same, as written.
    pub below_text: String,
    /// Replaces the definition's command.
    pub command: Option<Vec<String>>,
    /// Replaces the definition's reader.
    pub reader: Option<Reader>,
}

/// A fact about the project that `applies-when` and `args-when` test.
#[derive(Debug, Clone)]
pub enum Condition {
    /// A file matching the glob exists (relative to the project root).
    File(String, GlobMatcher),
    /// `[tool.<name>]` is in pyproject.toml.
    Pyproject(String),
    /// The INI file has the `[section]`.
    Ini {
        /// The file, relative to the project root.
        file: String,
        /// The section's name, without brackets.
        section: String,
    },
    /// The project declares the package in its dependencies or an extra.
    Dependency(String),
}

impl Condition {
    /// Whether it holds for `project`, and in words.
    pub fn holds(&self, project: &Project) -> Option<String> {
        match self {
            Condition::File(glob, matcher) => {
                let literal = !glob.contains(['*', '?', '[', '{']);
                let found = if literal { project.has(glob) } else { crate::walk::any_file(&project.root, matcher) };
                found.then(|| format!("`{glob}` found"))
            }
            Condition::Pyproject(name) => project
                .pyproject
                .as_ref()
                .is_some_and(|pyproject| pyproject.has_tool(name))
                .then(|| format!("[tool.{name}] in pyproject.toml")),
            Condition::Ini { file, section } => {
                let text = std::fs::read_to_string(project.path(file)).unwrap_or_default();
                let header = format!("[{section}]");
                text.lines().any(|line| line.trim() == header).then(|| format!("{header} in {file}"))
            }
            Condition::Dependency(package) => {
                let pyproject = project.pyproject.as_ref()?;
                let wanted = normalize_name(package);
                let declared = |requirements: &[String]| {
                    requirements.iter().any(|requirement| normalize_name(requirement_name(requirement)) == wanted)
                };
                if declared(&pyproject.dependencies) {
                    return Some(format!("`{package}` in [project] dependencies"));
                }
                pyproject
                    .optional_dependencies
                    .iter()
                    .find(|(_, requirements)| declared(requirements))
                    .map(|(extra, _)| format!("`{package}` in the `{extra}` extra"))
            }
        }
    }
}

/// Reads and checks the definition at `keys` of `source` for check `id`.
pub fn parse(source: &ConfigSource, keys: &[&str], id: &str) -> Result<Definition, ConfigError> {
    let table = source.table_name(&keys.join("."));
    let Some(raw) = source.table_at::<RawDefinition>(keys)? else {
        return Err(ConfigError::new(source.path.as_deref(), format!("{table} is missing")));
    };
    let at = |span: std::ops::Range<usize>, message: String| source.error_at(span.start, format!("{table}: {message}"));
    let command = words(&raw.command).map_err(|message| at(raw.command.span(), message))?;
    let environment = raw.environment.unwrap_or(false);
    let tool = match &raw.tool {
        None => None,
        Some(tool) => Some(tool_spec(&tool.get_ref().0, &command, environment).map_err(|m| at(tool.span(), m))?),
    };
    let reader = match &raw.reader {
        None => Reader::exit_code(),
        Some(reader) => Reader::new(&reader.get_ref().0).map_err(|message| at(reader.span(), message))?,
    };
    let exit_codes = match &raw.exit_codes {
        None => ExitCodes::default(),
        Some(codes) => {
            let exit = ExitCodes {
                success: codes.get_ref().success.clone().unwrap_or_else(|| vec![0]),
                findings: codes.get_ref().findings.clone().unwrap_or_else(|| vec![1]),
            };
            if let Some(both) = exit.success.iter().find(|code| exit.findings.contains(code)) {
                return Err(at(codes.span(), format!("exit code {both} is in both `success` and `findings`")));
            }
            exit
        }
    };
    let mut applies_when = Vec::new();
    for condition in &raw.applies_when {
        applies_when.push(self::condition(&condition.get_ref().0).map_err(|m| at(condition.span(), m))?);
    }
    let mut args_when = Vec::new();
    for entry in &raw.args_when {
        let when = self::condition(&entry.get_ref().when.0).map_err(|m| at(entry.span(), m))?;
        args_when.push((when, entry.get_ref().args.clone()));
    }
    let mut inputs = Vec::new();
    for input in &raw.inputs {
        glob(input.get_ref()).map_err(|message| at(input.span(), message))?;
        inputs.push(input.get_ref().clone());
    }
    let mut older = Vec::new();
    for entry in &raw.older {
        let span = entry.span();
        let entry = entry.get_ref();
        if tool.is_none() {
            return Err(at(span, "`older` needs a `tool` whose version greenlight can read".to_string()));
        }
        let below = greenlight_checker::release::release(&entry.below)
            .ok_or_else(|| at(span.clone(), format!("`below = \"{}\"` is not a version", entry.below)))?;
        let command = match &entry.command {
            Some(command) => Some(words(command).map_err(|message| at(command.span(), message))?),
            None => None,
        };
        let reader = match &entry.reader {
            Some(reader) => Some(Reader::new(&reader.get_ref().0).map_err(|message| at(reader.span(), message))?),
            None => None,
        };
        older.push(Older { below, below_text: entry.below.clone(), command, reader });
    }
    older.sort_by_key(|older| std::cmp::Reverse(older.below));
    let every_word = command.iter().chain(&raw.args).chain(older.iter().flat_map(|o| o.command.iter().flatten()));
    if !environment && every_word.clone().any(|word| word.contains("{python}")) {
        return Err(at(
            raw.command.span(),
            "`{python}` is the project environment's interpreter: set `environment = true`".into(),
        ));
    }
    let env = raw.env.iter().map(|(name, value)| (name.clone(), value.clone())).collect();
    Ok(Definition {
        id: intern(id),
        title: intern(raw.title.as_deref().unwrap_or(id)),
        command,
        args: raw.args,
        args_when,
        environment,
        tool,
        applies_when,
        cpu_bound: raw.cpu_bound.unwrap_or(true),
        env,
        inputs,
        reader,
        exit_codes,
        homepage: raw.homepage.as_deref().map(intern),
        older,
    })
}

fn words(command: &Spanned<Command>) -> Result<Vec<String>, String> {
    let words = match command.get_ref() {
        Command::Words(words) => words.clone(),
        Command::Line(line) => shlex::split(line)
            .ok_or_else(|| format!("cannot split `{line}` into words (an unclosed quote?); write it as a list"))?,
    };
    if words.first().is_none_or(|program| program.trim().is_empty()) {
        return Err("`command` is empty; give the program and its arguments".to_string());
    }
    Ok(words)
}

fn tool_spec(tool: &RawTool, command: &[String], environment: bool) -> Result<ToolSpec, String> {
    let (package, version) = match (&tool.package, &tool.version) {
        (Some(package), version) => match package.split_once("==") {
            Some((name, pinned)) if version.is_none() => (name.trim().to_string(), Some(pinned.trim().to_string())),
            Some(_) => return Err("give the version in `package` or in `version`, not both".to_string()),
            None => (package.trim().to_string(), version.clone()),
        },
        (None, _) => return Err("`tool` needs a `package` (the PyPI name: \"mypy==2.4.1\")".to_string()),
    };
    if package.is_empty() || package.contains(|c: char| c.is_whitespace() || "<>=!~;[".contains(c)) {
        return Err(format!("`{package}` is not a package name; write \"name==version\""));
    }
    if let Some(version) = &version
        && greenlight_checker::release::release(version).is_none()
    {
        return Err(format!("`{version}` is not a version (write an exact one: \"2.4.1\")"));
    }
    let executable = tool.executable.clone().unwrap_or_else(|| command[0].clone());
    if executable.contains('/') {
        return Err(format!(
            "`{executable}` is a path; a `tool` is found by its executable's name (set `executable`), or drop `tool` to run the path as written"
        ));
    }
    let name = tool.name.clone().unwrap_or_else(|| package.clone());
    let hint = format!(
        "install `{package}` (it is on PyPI), pin it with `tool = \"{package}==VERSION\"` so greenlight installs it, or set its path in [tool.greenlight.tools]"
    );
    Ok(ToolSpec {
        name: intern(&name),
        executable: intern(&executable),
        version_args: &["--version"],
        pypi: Some(intern(&package)),
        in_environment: environment,
        install_hint: intern(&hint),
        default_version: version.as_deref().map(intern),
        wheel: None,
    })
}

fn condition(raw: &RawCondition) -> Result<Condition, String> {
    let kinds = [raw.file.is_some(), raw.pyproject.is_some(), raw.ini.is_some(), raw.dependency.is_some()];
    if kinds.iter().filter(|kind| **kind).count() != 1 {
        return Err("a condition is one of `file`, `pyproject`, `ini` (with `section`) or `dependency`".to_string());
    }
    if raw.section.is_some() != raw.ini.is_some() {
        return Err("`ini` and `section` go together: { ini = \"setup.cfg\", section = \"mypy\" }".to_string());
    }
    Ok(if let Some(file) = &raw.file {
        Condition::File(file.clone(), glob(file)?)
    } else if let Some(name) = &raw.pyproject {
        Condition::Pyproject(name.trim_start_matches("tool.").to_string())
    } else if let (Some(file), Some(section)) = (&raw.ini, &raw.section) {
        Condition::Ini { file: file.clone(), section: section.clone() }
    } else {
        Condition::Dependency(raw.dependency.clone().unwrap_or_default())
    })
}

fn glob(pattern: &str) -> Result<GlobMatcher, String> {
    if pattern.starts_with('/') || pattern.split('/').any(|part| part == "..") {
        return Err(format!("`{pattern}` must be relative to the project root, inside it"));
    }
    Glob::new(pattern).map(|glob| glob.compile_matcher()).map_err(|error| format!("`{pattern}` is not a glob: {error}"))
}

/// A definition as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawDefinition {
    #[serde(default)]
    title: Option<String>,
    command: Spanned<Command>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    args_when: Vec<Spanned<RawArgsWhen>>,
    #[serde(default)]
    environment: Option<bool>,
    #[serde(default)]
    tool: Option<Spanned<Short<RawTool>>>,
    #[serde(default)]
    applies_when: Vec<Spanned<Short<RawCondition>>>,
    #[serde(default)]
    cpu_bound: Option<bool>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    inputs: Vec<Spanned<String>>,
    #[serde(default)]
    reader: Option<Spanned<Short<RawReader>>>,
    #[serde(default)]
    exit_codes: Option<Spanned<RawExitCodes>>,
    #[serde(default)]
    homepage: Option<String>,
    #[serde(default)]
    older: Vec<Spanned<RawOlder>>,
    // The common keys, read by the orchestrator.
    #[serde(default)]
    #[expect(dead_code, reason = "read by the orchestrator")]
    enabled: IgnoredAny,
    #[serde(default)]
    #[expect(dead_code, reason = "read by the orchestrator")]
    timeout: IgnoredAny,
    #[serde(default)]
    #[expect(dead_code, reason = "read by the orchestrator")]
    needs: IgnoredAny,
    #[serde(default)]
    #[expect(dead_code, reason = "read by the orchestrator")]
    pass_env: IgnoredAny,
    #[serde(default)]
    #[expect(dead_code, reason = "read by the orchestrator")]
    cache: IgnoredAny,
}

/// `command`: a list of words, or a line split like a shell splits words.
#[derive(Debug)]
enum Command {
    Words(Vec<String>),
    Line(String),
}

impl<'de> Deserialize<'de> for Command {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct CommandVisitor;
        impl<'de> Visitor<'de> for CommandVisitor {
            type Value = Command;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a command: a list of words, or a string")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Command, E> {
                Ok(Command::Line(value.to_string()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Command, A::Error> {
                let mut words = Vec::new();
                while let Some(word) = seq.next_element::<String>()? {
                    words.push(word);
                }
                Ok(Command::Words(words))
            }
        }
        deserializer.deserialize_any(CommandVisitor)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawArgsWhen {
    when: Short<RawCondition>,
    args: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawTool {
    package: Option<String>,
    version: Option<String>,
    name: Option<String>,
    executable: Option<String>,
}

impl FromShort for RawTool {
    fn from_short(text: &str) -> Self {
        Self { package: Some(text.to_string()), ..Self::default() }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCondition {
    file: Option<String>,
    pyproject: Option<String>,
    ini: Option<String>,
    section: Option<String>,
    dependency: Option<String>,
}

impl FromShort for RawCondition {
    fn from_short(text: &str) -> Self {
        Self { file: Some(text.to_string()), ..Self::default() }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawExitCodes {
    success: Option<Vec<i32>>,
    findings: Option<Vec<i32>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawOlder {
    below: String,
    #[serde(default)]
    command: Option<Spanned<Command>>,
    #[serde(default)]
    reader: Option<Spanned<Short<RawReader>>>,
}

/// A table that may be written as one string (`tool = "mypy==2.4.1"`, `reader = "sarif"`,
/// `"mypy.ini"` for `{ file = "mypy.ini" }`).
pub(crate) trait FromShort {
    fn from_short(text: &str) -> Self;
}

/// A [`FromShort`] table, as a string or a table.
#[derive(Debug)]
pub(crate) struct Short<T>(pub T);

impl<'de, T: Deserialize<'de> + FromShort> Deserialize<'de> for Short<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShortVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + FromShort> Visitor<'de> for ShortVisitor<T> {
            type Value = T;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string or a table")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<T, E> {
                Ok(T::from_short(value))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_any(ShortVisitor(PhantomData)).map(Short)
    }
}
