//! Just enough of the Dockerfile to decide what the smoke test imports and to point a failing
//! build step at its line: instructions with their lines, stages, and the `CMD` and
//! `ENTRYPOINT` of the stage that is built.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

/// One instruction, continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    /// Upper-case keyword (`RUN`).
    pub keyword: String,
    /// Everything after the keyword, trimmed.
    pub args: String,
    /// 1-based line where it starts.
    pub line: u32,
}

/// A parsed Dockerfile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dockerfile {
    /// Every instruction in order.
    pub instructions: Vec<Instruction>,
    /// True when an instruction has a here-document (`RUN <<EOF`), which only BuildKit reads.
    pub uses_heredoc: bool,
}

/// The command a container of the built image runs, as the Dockerfile sets it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageCommand {
    /// `ENTRYPOINT` (exec form, or `/bin/sh -c ...` for the shell form).
    pub entrypoint: Vec<String>,
    /// `CMD`.
    pub cmd: Vec<String>,
    /// The line of the instruction that set the command last.
    pub line: Option<u32>,
    /// The last `WORKDIR` of the stage (absolute when the Dockerfile says so).
    pub workdir: Option<String>,
}

impl ImageCommand {
    /// `ENTRYPOINT` followed by `CMD`: what the container runs.
    pub fn argv(&self) -> Vec<String> {
        self.entrypoint.iter().chain(&self.cmd).cloned().collect()
    }
}

impl Dockerfile {
    /// Parses `text`: parser directives (`# escape=`), comments, continuation lines (also across
    /// comment lines) and here-documents (skipped).
    pub fn parse(text: &str) -> Self {
        let lines: Vec<&str> = text.lines().collect();
        let mut escape = '\\';
        // Parser directives: `# key=value` lines at the very top.
        for line in &lines {
            let Some(directive) = line.trim().strip_prefix('#') else { break };
            let Some((key, value)) = directive.split_once('=') else { break };
            if key.trim().eq_ignore_ascii_case("escape") {
                escape = value.trim().chars().next().unwrap_or('\\');
            }
        }
        let mut instructions = Vec::new();
        let mut uses_heredoc = false;
        let mut index = 0;
        while index < lines.len() {
            let start = index;
            let line = lines[index].trim();
            index += 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut logical = String::new();
            let mut current = line.to_string();
            loop {
                let trimmed = current.trim_end();
                match trimmed.strip_suffix(escape) {
                    Some(rest) => {
                        logical.push_str(rest);
                        // The next line that is not a comment continues this one.
                        while index < lines.len() && lines[index].trim_start().starts_with('#') {
                            index += 1;
                        }
                        if index >= lines.len() {
                            break;
                        }
                        current = lines[index].to_string();
                        index += 1;
                    }
                    None => {
                        logical.push_str(trimmed);
                        break;
                    }
                }
            }
            let (keyword, args) = match logical.split_once(char::is_whitespace) {
                Some((keyword, args)) => (keyword.to_ascii_uppercase(), args.trim().to_string()),
                None => (logical.to_ascii_uppercase(), String::new()),
            };
            // Here-documents (`RUN <<EOF`): skip their bodies.
            for marker in heredoc_markers(&args) {
                uses_heredoc = true;
                while index < lines.len() {
                    let body = lines[index];
                    index += 1;
                    if body.trim() == marker {
                        break;
                    }
                }
            }
            instructions.push(Instruction { keyword, args, line: start as u32 + 1 });
        }
        Self { instructions, uses_heredoc }
    }

    /// The command of the stage that is built: `target`, else the last stage. The stage
    /// inherits the command of an earlier stage it starts `FROM`; `None` when neither the stage
    /// nor its ancestors in the file set one (it comes from the base image, unknown here).
    pub fn image_command(&self, target: Option<&str>) -> Option<ImageCommand> {
        let stages = self.stages();
        let index = match target {
            Some(target) => {
                stages.iter().position(|stage| stage.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(target)))?
            }
            None => stages.len().checked_sub(1)?,
        };
        let command = self.stage_command(&stages, index, 0);
        (!command.entrypoint.is_empty() || !command.cmd.is_empty()).then_some(command)
    }

    fn stage_command(&self, stages: &[Stage], index: usize, depth: usize) -> ImageCommand {
        let stage = &stages[index];
        let mut command = ImageCommand::default();
        if depth < stages.len()
            && let Some(parent) = stages[..index]
                .iter()
                .position(|earlier| earlier.name.as_deref().is_some_and(|name| name.eq_ignore_ascii_case(&stage.base)))
        {
            command = self.stage_command(stages, parent, depth + 1);
        }
        for instruction in &self.instructions[stage.start..stage.end] {
            match instruction.keyword.as_str() {
                "CMD" => {
                    command.cmd = command_form(&instruction.args);
                    command.line = Some(instruction.line);
                }
                "ENTRYPOINT" => {
                    command.entrypoint = command_form(&instruction.args);
                    // Setting ENTRYPOINT resets a CMD inherited from the base.
                    command.cmd.clear();
                    command.line = Some(instruction.line);
                }
                "WORKDIR" => {
                    let dir = instruction.args.trim().trim_matches('"').to_string();
                    command.workdir = Some(match &command.workdir {
                        Some(previous) if !dir.starts_with('/') => format!("{}/{dir}", previous.trim_end_matches('/')),
                        _ => dir,
                    });
                }
                _ => {}
            }
        }
        command
    }

    /// The images the build reads that are not its own stages, as written (with `${ARG}`
    /// references): each stage's `FROM` base and `COPY --from=` sources. `scratch` is none.
    pub fn external_images(&self) -> Vec<String> {
        let mut stage_names: Vec<&str> = Vec::new();
        let mut images = Vec::new();
        let is_stage = |names: &[&str], reference: &str| {
            reference.eq_ignore_ascii_case("scratch")
                || reference.parse::<usize>().is_ok()
                || names.iter().any(|name| name.eq_ignore_ascii_case(reference))
        };
        let stages = self.stages();
        let mut next_stage = stages.iter();
        for instruction in &self.instructions {
            match instruction.keyword.as_str() {
                "FROM" => {
                    let Some(stage) = next_stage.next() else { continue };
                    if !is_stage(&stage_names, &stage.base) {
                        images.push(stage.base.clone());
                    }
                    if let Some(name) = &stage.name {
                        stage_names.push(name);
                    }
                }
                "COPY" => {
                    let from = instruction.args.split_whitespace().find_map(|word| word.strip_prefix("--from="));
                    if let Some(from) = from
                        && !is_stage(&stage_names, from)
                    {
                        images.push(from.to_string());
                    }
                }
                _ => {}
            }
        }
        images
    }

    fn stages(&self) -> Vec<Stage> {
        let mut stages: Vec<Stage> = Vec::new();
        for (index, instruction) in self.instructions.iter().enumerate() {
            if instruction.keyword != "FROM" {
                continue;
            }
            if let Some(last) = stages.last_mut() {
                last.end = index;
            }
            let words: Vec<&str> = instruction.args.split_whitespace().filter(|word| !word.starts_with("--")).collect();
            let base = words.first().map(|word| word.to_string()).unwrap_or_default();
            let name = match words.as_slice() {
                [_, as_word, name, ..] if as_word.eq_ignore_ascii_case("as") => Some(name.to_string()),
                _ => None,
            };
            stages.push(Stage { base, name, start: index + 1, end: self.instructions.len() });
        }
        stages
    }

    /// The line of the instruction a build step printed (`RUN pip install -r requirements.txt`),
    /// matched on its text with whitespace collapsed.
    pub fn line_of_step(&self, step: &str) -> Option<u32> {
        let wanted = collapse(step);
        let (keyword, args) = wanted.split_once(' ').unwrap_or((&wanted, ""));
        let keyword = keyword.to_ascii_uppercase();
        self.instructions
            .iter()
            .find(|instruction| instruction.keyword == keyword && collapse(&instruction.args) == args)
            .or_else(|| {
                self.instructions.iter().find(|instruction| {
                    instruction.keyword == keyword && {
                        let have = collapse(&instruction.args);
                        !args.is_empty() && (have.starts_with(args) || args.starts_with(&have))
                    }
                })
            })
            .map(|instruction| instruction.line)
    }

    /// The image a `FROM` step names, with `${ARG}` references resolved from `build_args`
    /// and the global `ARG` defaults.
    pub fn base_image(&self, instruction: &str, build_args: &BTreeMap<String, String>) -> String {
        let words: Vec<&str> = instruction.split_whitespace().skip(1).filter(|word| !word.starts_with("--")).collect();
        let reference = words.first().copied().unwrap_or_default();
        let reference = reference.strip_prefix("--from=").unwrap_or(reference);
        self.resolve_args(reference, build_args)
    }

    /// An image reference with `${ARG}` references resolved from `build_args` and the global
    /// `ARG` defaults (those before the first `FROM`).
    pub fn resolve_args(&self, reference: &str, build_args: &BTreeMap<String, String>) -> String {
        let mut defaults = BTreeMap::new();
        for instruction in &self.instructions {
            if instruction.keyword == "FROM" {
                break;
            }
            if instruction.keyword == "ARG"
                && let Some((name, value)) = instruction.args.split_once('=')
            {
                defaults.insert(name.trim().to_string(), value.trim().trim_matches('"').to_string());
            }
        }
        let lookup = |name: &str| build_args.get(name).or_else(|| defaults.get(name)).cloned().unwrap_or_default();
        let mut out = String::new();
        let mut rest = reference;
        while let Some(start) = rest.find('$') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            if let Some(inner) = after.strip_prefix('{')
                && let Some(end) = inner.find('}')
            {
                let name = inner[..end].split([':', '-']).next().unwrap_or_default();
                let value = lookup(name);
                let fallback = inner[..end].split_once(":-").map(|(_, default)| default.to_string());
                out.push_str(&if value.is_empty() { fallback.unwrap_or_default() } else { value });
                rest = &inner[end + 1..];
            } else {
                let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(after.len());
                out.push_str(&lookup(&after[..end]));
                rest = &after[end..];
            }
        }
        out.push_str(rest);
        out
    }
}

#[derive(Debug)]
struct Stage {
    base: String,
    name: Option<String>,
    start: usize,
    end: usize,
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `["a", "b"]` (exec form) or `a b` (shell form, run by `/bin/sh -c`).
fn command_form(args: &str) -> Vec<String> {
    let trimmed = args.trim();
    if trimmed.starts_with('[')
        && let Ok(words) = serde_json::from_str::<Vec<String>>(trimmed)
    {
        return words;
    }
    if trimmed.is_empty() {
        return Vec::new();
    }
    vec!["/bin/sh".to_string(), "-c".to_string(), trimmed.to_string()]
}

fn heredoc_markers(args: &str) -> Vec<String> {
    static HEREDOC: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"<<-?\s*["']?([A-Za-z_][A-Za-z0-9_]*)["']?"#).expect("the heredoc pattern compiles")
    });
    HEREDOC.captures_iter(args).map(|captures| captures[1].to_string()).collect()
}

/// Splits a shell command line into words: quotes and backslashes as in `sh`, and the
/// operators `&&`, `||`, `;`, `|` as words of their own. Expansions stay as written.
pub fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => {
                            if let Some(next) = chars.next() {
                                word.push(next);
                            }
                        }
                        c => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(next) = chars.next() {
                    word.push(next);
                }
            }
            '&' | '|' | ';' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                let mut operator = c.to_string();
                if (c == '&' || c == '|') && chars.peek() == Some(&c) {
                    operator.push(chars.next().unwrap_or(c));
                }
                words.push(operator);
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

/// Programs that serve an app given as `module:attribute`.
const SERVERS: &[&str] = &["uvicorn", "gunicorn", "hypercorn", "granian", "daphne", "waitress-serve", "bjoern"];

/// Options of those servers (and celery, flask, fastapi) that take a value, which is not the
/// app.
const VALUE_OPTIONS: &[&str] = &[
    "-b",
    "--bind",
    "-k",
    "--worker-class",
    "-w",
    "--workers",
    "-c",
    "--config",
    "--host",
    "--port",
    "-p",
    "--uds",
    "--fd",
    "-u",
    "--log-config",
    "--log-level",
    "--env-file",
    "--root-path",
    "--app-dir",
    "--timeout",
    "-t",
    "--threads",
    "--access-logfile",
    "--error-logfile",
    "--chdir",
    "--worker-tmp-dir",
    "--interface",
    "--loop",
    "--http",
    "--ws",
    "--lifespan",
    "--timeout-keep-alive",
    "--limit-concurrency",
    "--name",
    "-n",
    "--pidfile",
    "--user",
    "--group",
    "-g",
    "--forwarded-allow-ips",
    "--max-requests",
    "--graceful-timeout",
    "--keep-alive",
    "--certfile",
    "--keyfile",
    "-e",
    "--env",
    "--loglevel",
    "-l",
    "-Q",
    "--queues",
    "--concurrency",
    "--pool",
];

/// `pkg.module:attr` (also `module:factory()`): the module part.
static APP_SPEC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*):[A-Za-z_]").expect("the app pattern compiles")
});

/// A dotted module name.
static MODULE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$").expect("the module pattern compiles")
});

/// The module a container command serves or runs, for an import smoke test:
/// `uvicorn apps.api.main:app` → `apps.api.main`, `python -m apps.worker` → `apps.worker`,
/// `python apps/cli.py` → `apps.cli`, `celery -A apps.tasks worker` → `apps.tasks`,
/// `sh -c "alembic upgrade head && exec gunicorn app.wsgi:application"` → `app.wsgi`.
/// `workdir` turns absolute script paths under it into module paths.
pub fn module_from_command(argv: &[String], workdir: Option<&str>) -> Option<String> {
    module_from_words(argv, workdir, 0)
}

fn module_from_words(argv: &[String], workdir: Option<&str>, depth: usize) -> Option<String> {
    if depth > 4 {
        return None;
    }
    // A shell running a command line: split it and look at each command, last first (the
    // server is usually what `exec` runs at the end).
    if let Some(program) = argv.first()
        && matches!(basename(program), "sh" | "bash" | "dash" | "ash" | "zsh")
        && let Some(position) = argv
            .iter()
            .position(|arg| arg == "-c" || (arg.starts_with('-') && arg.ends_with('c') && !arg.starts_with("--")))
        && let Some(line) = argv.get(position + 1)
    {
        let words = shell_words(line);
        let commands: Vec<&[String]> =
            words.split(|word| matches!(word.as_str(), "&&" | "||" | ";" | "|" | "&")).collect();
        return commands.iter().rev().find_map(|command| module_from_words(command, workdir, depth + 1));
    }
    let mut words: Vec<&str> = argv.iter().map(String::as_str).collect();
    // Wrappers: exec, env and assignments, init processes.
    loop {
        match words.first().copied().map(basename) {
            Some("exec" | "tini" | "dumb-init" | "catatonit") => {
                words.remove(0);
                while words.first().is_some_and(|word| word.starts_with('-')) {
                    words.remove(0);
                }
            }
            Some("env") => {
                words.remove(0);
                while words.first().is_some_and(|word| word.starts_with('-') || word.contains('=')) {
                    words.remove(0);
                }
            }
            Some(word) if word.contains('=') && !word.starts_with('-') && !word.contains('/') => {
                words.remove(0);
            }
            _ => break,
        }
    }
    let program = basename(words.first()?);
    let args = &words[1..];
    if is_python(program) {
        return module_from_python(args, workdir, depth);
    }
    if SERVERS.contains(&program) {
        return app_module(args);
    }
    match program {
        "celery" | "flask" | "dramatiq" | "rq" | "arq" => {
            let app = option_value(args, &["-A", "--app"]).or_else(|| {
                // dramatiq and arq take the module as the first positional argument.
                args.iter().find(|arg| !arg.starts_with('-')).copied()
            })?;
            let module = app.split(':').next().unwrap_or(app);
            MODULE.is_match(module).then(|| module.to_string())
        }
        "fastapi" => args.iter().find(|arg| arg.ends_with(".py")).and_then(|path| module_from_path(path, workdir)),
        // An entrypoint script usually ends with `exec "$@"`: what follows it is the command.
        _ => {
            let rest: Vec<String> = args.iter().map(|word| word.to_string()).collect();
            module_from_words(&rest, workdir, depth + 1).or_else(|| {
                args.iter()
                    .find_map(|arg| APP_SPEC.captures(arg).map(|captures| captures[1].to_string()))
                    .filter(|module| !matches!(module.as_str(), "unix" | "fd" | "tcp" | "http" | "https"))
            })
        }
    }
}

fn module_from_python(args: &[&str], workdir: Option<&str>, depth: usize) -> Option<String> {
    let mut index = 0;
    while index < args.len() {
        let arg = args[index];
        match arg {
            "-m" => {
                let module = *args.get(index + 1)?;
                let rest: Vec<String> = args[index + 1..].iter().map(|word| word.to_string()).collect();
                if SERVERS.contains(&module) || matches!(module, "celery" | "flask" | "fastapi") {
                    return module_from_words(&rest, workdir, depth + 1);
                }
                return MODULE.is_match(module).then(|| module.to_string());
            }
            "-c" => return None,
            "-W" | "-X" | "-Q" => index += 2,
            _ if arg.starts_with('-') => index += 1,
            _ => return module_from_path(arg, workdir),
        }
    }
    None
}

/// `apps/api/main.py` → `apps.api.main`; absolute paths under `workdir` too.
fn module_from_path(path: &str, workdir: Option<&str>) -> Option<String> {
    let mut relative = path.strip_prefix("./").unwrap_or(path);
    if relative.starts_with('/') {
        let workdir = workdir?.trim_end_matches('/');
        relative = relative.strip_prefix(workdir)?.strip_prefix('/')?;
    }
    let stem = relative.strip_suffix(".py")?;
    let module = stem.strip_suffix("/__main__").unwrap_or(stem).replace('/', ".");
    MODULE.is_match(&module).then_some(module)
}

fn app_module(args: &[&str]) -> Option<String> {
    let mut index = 0;
    while index < args.len() {
        let arg = args[index];
        if arg.starts_with('-') {
            if VALUE_OPTIONS.contains(&arg) {
                index += 1;
            }
            index += 1;
            continue;
        }
        if let Some(captures) = APP_SPEC.captures(arg) {
            let module = captures[1].to_string();
            if !matches!(module.as_str(), "unix" | "fd" | "tcp" | "http" | "https") {
                return Some(module);
            }
        } else if MODULE.is_match(arg) && arg.contains('.') {
            // `uvicorn apps.api.main` is an error there, but the module is clear.
            return Some(arg.to_string());
        }
        index += 1;
    }
    None
}

fn option_value<'a>(args: &[&'a str], names: &[&str]) -> Option<&'a str> {
    for (index, arg) in args.iter().enumerate() {
        for name in names {
            if arg == name {
                return args.get(index + 1).copied();
            }
            if let Some(value) = arg.strip_prefix(&format!("{name}=")) {
                return Some(value);
            }
        }
    }
    None
}

fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

fn is_python(program: &str) -> bool {
    program == "python"
        || program == "pypy3"
        || program.strip_prefix("python").is_some_and(|version| version.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// A module to import when neither the configuration nor the Dockerfile names one, from the
/// project's layout: `main.py` or `app.py` at the root, the first `[project.scripts]` entry
/// point, or the only top-level package.
pub fn module_from_layout(root: &Path, pyproject_text: Option<&str>) -> Option<String> {
    for (file, module) in [("main.py", "main"), ("app.py", "app")] {
        if root.join(file).is_file() {
            return Some(module.to_string());
        }
    }
    if let Some(text) = pyproject_text
        && let Ok(table) = text.parse::<toml::Table>()
        && let Some(scripts) = table.get("project").and_then(|p| p.get("scripts")).and_then(toml::Value::as_table)
        && let Some(module) = scripts
            .values()
            .filter_map(toml::Value::as_str)
            .filter_map(|entry| entry.split(':').next())
            .map(str::trim)
            .find(|module| MODULE.is_match(module))
    {
        return Some(module.to_string());
    }
    let mut packages: Vec<String> = std::fs::read_dir(root)
        .ok()?
        .flatten()
        .filter(|entry| entry.path().join("__init__.py").is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| MODULE.is_match(name) && !matches!(name.as_str(), "tests" | "test" | "docs" | "scripts"))
        .collect();
    packages.sort();
    (packages.len() == 1).then(|| packages.remove(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn module(words: &[&str]) -> Option<String> {
        module_from_command(&argv(words), Some("/app"))
    }

    #[test]
    fn modules_from_commands() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["uvicorn", "apps.api.main:app", "--host", "0.0.0.0", "--port", "8000"], Some("apps.api.main")),
            (&["uvicorn", "--host", "0.0.0.0", "--factory", "apps.api.main:create_app"], Some("apps.api.main")),
            (
                &["gunicorn", "-k", "uvicorn.workers.UvicornWorker", "-b", "0.0.0.0:8000", "svc.app:app"],
                Some("svc.app"),
            ),
            (&["gunicorn", "--bind", "unix:/tmp/app.sock", "proj.wsgi:application"], Some("proj.wsgi")),
            (&["gunicorn", "app:create_app()"], Some("app")),
            (&["python", "-m", "uvicorn", "apps.api.main:app"], Some("apps.api.main")),
            (&["python3.11", "-u", "-m", "apps.worker"], Some("apps.worker")),
            (&["python", "apps/cli.py", "serve"], Some("apps.cli")),
            (&["python", "/app/apps/cli.py"], Some("apps.cli")),
            (&["python", "/opt/other/cli.py"], None),
            (&["python", "-c", "print(1)"], None),
            (&["python", "manage.py", "runserver"], Some("manage")),
            (&["celery", "-A", "apps.tasks", "worker", "-l", "info"], Some("apps.tasks")),
            (&["celery", "--app=apps.tasks:celery_app", "worker"], Some("apps.tasks")),
            (&["flask", "--app", "apps.web", "run"], Some("apps.web")),
            (&["fastapi", "run", "apps/api/main.py", "--port", "80"], Some("apps.api.main")),
            (&["granian", "--interface", "asgi", "apps.api.main:app"], Some("apps.api.main")),
            (&["daphne", "-b", "0.0.0.0", "-p", "8000", "proj.asgi:application"], Some("proj.asgi")),
            (&["/usr/bin/tini", "--", "uvicorn", "apps.api.main:app"], Some("apps.api.main")),
            (&["env", "PYTHONUNBUFFERED=1", "uvicorn", "svc.main:app"], Some("svc.main")),
            (
                &["/bin/sh", "-c", "alembic upgrade head && exec uvicorn apps.api.main:app --host 0.0.0.0"],
                Some("apps.api.main"),
            ),
            (&["sh", "-c", "uvicorn 'apps.api.main:app' --port \"$PORT\""], Some("apps.api.main")),
            (&["/bin/sh", "-c", "./start.sh"], None),
            (&["./entrypoint.sh", "uvicorn", "apps.api.main:app"], Some("apps.api.main")),
            (&["nginx", "-g", "daemon off;"], None),
        ];
        for (words, expected) in cases {
            assert_eq!(module(words).as_deref(), *expected, "{words:?}");
        }
    }

    #[test]
    fn shell_words_split_like_sh() {
        assert_eq!(
            shell_words(r#"a 'b c' "d \"e\"" f\ g&&h;i || j"#),
            ["a", "b c", "d \"e\"", "f g", "&&", "h", ";", "i", "||", "j"]
        );
        assert!(shell_words("   ").is_empty());
        assert_eq!(shell_words("''"), [""]);
    }

    const MULTI_STAGE: &str = r#"# syntax=docker/dockerfile:1
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS base
WORKDIR /app
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["uvicorn", "apps.api.main:app"]

FROM base AS worker
CMD celery -A apps.tasks \
    worker \
    # a comment inside the continuation
    --loglevel info

FROM base AS test
RUN <<EOF
CMD ["this", "is", "not", "an", "instruction"]
EOF
WORKDIR tests
RUN pip install \
      pytest
"#;

    #[test]
    fn stages_commands_and_lines() {
        let dockerfile = Dockerfile::parse(MULTI_STAGE);
        assert!(dockerfile.uses_heredoc);
        let keywords: Vec<&str> = dockerfile.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(
            keywords,
            ["ARG", "FROM", "WORKDIR", "ENTRYPOINT", "CMD", "FROM", "CMD", "FROM", "RUN", "WORKDIR", "RUN"]
        );
        let worker = dockerfile.image_command(Some("worker")).unwrap();
        assert_eq!(worker.entrypoint, ["/app/entrypoint.sh"]);
        assert_eq!(worker.cmd, ["/bin/sh", "-c", "celery -A apps.tasks     worker     --loglevel info"]);
        assert_eq!(worker.line, Some(9));
        assert_eq!(module_from_command(&worker.argv(), worker.workdir.as_deref()).as_deref(), Some("apps.tasks"));

        let last = dockerfile.image_command(None).unwrap();
        assert_eq!(last.cmd, ["uvicorn", "apps.api.main:app"], "inherited from `base`");
        assert_eq!(last.workdir.as_deref(), Some("/app/tests"));
        assert_eq!(dockerfile.image_command(Some("nope")), None);

        assert_eq!(dockerfile.line_of_step("RUN pip install       pytest"), Some(19));
        assert_eq!(dockerfile.line_of_step("FROM ${BASE_IMAGE} AS base"), Some(3));
        assert_eq!(dockerfile.line_of_step("COPY . ."), None);
    }

    #[test]
    fn entrypoint_resets_an_inherited_cmd() {
        let dockerfile =
            Dockerfile::parse("FROM x AS a\nCMD [\"python\", \"-m\", \"a\"]\nFROM a\nENTRYPOINT [\"tini\", \"--\"]\n");
        let command = dockerfile.image_command(None).unwrap();
        assert_eq!(command.argv(), ["tini", "--"]);
        assert_eq!(Dockerfile::parse("FROM python:3.11\nRUN true\n").image_command(None), None);
    }

    #[test]
    fn escape_directive() {
        let dockerfile = Dockerfile::parse("# escape=`\nFROM x\nRUN a `\n  b\n");
        assert_eq!(dockerfile.instructions[1].args, "a   b");
    }

    #[test]
    fn modules_from_layout() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(module_from_layout(dir.path(), None), None);
        std::fs::create_dir_all(dir.path().join("tests")).unwrap();
        std::fs::write(dir.path().join("tests/__init__.py"), "").unwrap();
        std::fs::create_dir_all(dir.path().join("service")).unwrap();
        std::fs::write(dir.path().join("service/__init__.py"), "").unwrap();
        assert_eq!(module_from_layout(dir.path(), None).as_deref(), Some("service"));
        let pyproject = "[project]\nname = 'x'\n[project.scripts]\nserve = 'service.cli:main'\n";
        assert_eq!(module_from_layout(dir.path(), Some(pyproject)).as_deref(), Some("service.cli"));
        std::fs::write(dir.path().join("main.py"), "").unwrap();
        assert_eq!(module_from_layout(dir.path(), Some(pyproject)).as_deref(), Some("main"));
    }
}
