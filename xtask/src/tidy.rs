//! The layout rules of the workspace, as tests (run by `cargo xtask test` and CI with the rest
//! of the suite; alone: `cargo test -p xtask tidy`). Each rule says what to do when it fails.
//!
//! - plugins depend on `greenlight-checker` and third-party crates only (from `cargo metadata`);
//! - nothing but `greenlight-process` spawns processes (clippy bans `Command::new`; this also
//!   catches a `use std::process::Command` that clippy's `expect` would let through);
//! - nothing but `greenlight-env` reads environment variables (clippy bans `std::env::var`);
//! - every name read from the environment snapshot is declared in `EnvVars`;
//! - no check id is named outside its plugin and the registry;
//! - every source file starts with a `//!` module doc;
//! - no source file is longer than 800 lines.
//!
//! The one allow-list (files that may name a check id) is explicit below, each entry with its
//! reason.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::project_root;

/// The longest a source file may be.
const MAX_LINES: usize = 800;

/// Files outside the plugins and the registry that may name check ids, and why.
const CHECK_ID_FILES: &[(&str, &str)] = &[
    // Test data: a report with every check, behind the `sample` feature.
    ("crates/greenlight-reporters/src/sample.rs", "the sample report has every check"),
    // Not a check: `build` is the name of a build output directory in the shared listing.
    ("crates/greenlight-checker/src/files.rs", "`build` is a directory name in its list of root outputs"),
];

/// Every `.rs` file of the workspace's own code, relative to the root, sorted.
fn sources() -> Vec<PathBuf> {
    let root = project_root();
    let mut files = Vec::new();
    for top in ["crates", "plugins", "xtask", "tests"] {
        walk(&root.join(top), &mut files);
    }
    let mut files: Vec<PathBuf> =
        files.into_iter().map(|path| path.strip_prefix(&root).map(Path::to_path_buf).unwrap_or(path)).collect();
    files.sort();
    files
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name == "target" || name == "snapshots") {
                continue;
            }
            walk(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

fn read(relative: &Path) -> String {
    std::fs::read_to_string(project_root().join(relative)).unwrap_or_default()
}

/// True for code that only tests build: `tests/`, `examples/`, `benches/` directories,
/// `tests.rs` modules and the CLI's examples test.
fn is_test_file(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.starts_with("tests/")
        || ["/tests/", "/examples/", "/benches/"].iter().any(|dir| text.contains(dir))
        || path.file_name().is_some_and(|name| name == "tests.rs")
        || text == "crates/greenlight-cli/src/examples.rs"
        || text.starts_with("xtask/")
}

/// The lines of a product file before its `#[cfg(test)]` module.
fn product_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().take_while(|(_, line)| !line.starts_with("#[cfg(test)]")).map(|(i, line)| (i + 1, line))
}

/// The code of a line without its `//` comment (a rough cut: good enough for these rules).
fn code(line: &str) -> &str {
    let trimmed = line.trim_start();
    if trimmed.starts_with("//") { "" } else { line }
}

fn fail_with(rule: &str, what_to_do: &str, problems: &[String]) {
    assert!(problems.is_empty(), "tidy: {rule}:\n  {}\n{what_to_do}", problems.join("\n  "));
}

#[test]
fn plugins_depend_only_on_the_checker_api() {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(project_root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata is JSON");
    let mut problems = Vec::new();
    let mut plugins = 0;
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        if !name.starts_with("greenlight-plugin-") {
            continue;
        }
        plugins += 1;
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            let dependency_name = dependency["name"].as_str().unwrap_or_default();
            let normal = dependency["kind"].is_null();
            if normal && dependency_name.starts_with("greenlight-") && dependency_name != "greenlight-checker" {
                problems.push(format!("{name} depends on {dependency_name}"));
            }
        }
    }
    assert!(plugins >= 7, "cargo metadata listed {plugins} plugins");
    fail_with(
        "a plugin depends on another greenlight crate",
        "plugins use greenlight-checker (which re-exports the report model, the process layer and the environment registry) and their own tool crates",
        &problems,
    );
}

#[test]
fn only_the_process_layer_spawns_processes() {
    let mut problems = Vec::new();
    for path in sources() {
        let text = path.to_string_lossy();
        if text.starts_with("crates/greenlight-process/") || is_test_file(&path) {
            continue;
        }
        for (number, line) in product_lines(&read(&path)) {
            let line = code(line);
            if line.contains("Command::new(") || line.contains("process::Command") {
                problems.push(format!("{text}:{number}: {}", line.trim()));
            }
        }
    }
    fail_with("a process is started outside greenlight-process", "use greenlight_process::Cmd", &problems);
}

#[test]
fn only_the_env_registry_reads_the_environment() {
    let mut problems = Vec::new();
    for path in sources() {
        let text = path.to_string_lossy();
        if text.starts_with("crates/greenlight-env/") || is_test_file(&path) {
            continue;
        }
        for (number, line) in product_lines(&read(&path)) {
            let line = code(line);
            if ["env::var(", "env::var_os(", "env::vars(", "env::vars_os("].iter().any(|call| line.contains(call))
                && !text.starts_with("crates/greenlight-process/src/env.rs")
            {
                problems.push(format!("{text}:{number}: {}", line.trim()));
            }
        }
    }
    fail_with(
        "the environment is read outside greenlight-env",
        "declare the variable in greenlight_env::EnvVars and read it from the Env snapshot (CheckContext::var in a check)",
        &problems,
    );
}

/// The names in `EnvVars` (`crates/greenlight-env/src/lib.rs`).
fn declared_vars() -> BTreeSet<String> {
    let text = read(Path::new("crates/greenlight-env/src/lib.rs"));
    let start = text.find("env_vars! {").expect("the registry's list");
    let body = &text[start..text[start..].find("\n}").map_or(text.len(), |end| start + end)];
    body.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//") && !line.starts_with('#') && line.ends_with(','))
        .map(|line| line.trim_end_matches(',').to_string())
        .collect()
}

#[test]
fn every_variable_read_is_declared() {
    let declared = declared_vars();
    assert!(declared.contains("GREENLIGHT_ADVISORY_DB") && declared.contains("PATH"), "{declared:?}");
    let mut problems = Vec::new();
    for path in sources() {
        if is_test_file(&path) {
            continue;
        }
        let text = read(&path);
        for (number, line) in product_lines(&text) {
            let line = code(line);
            for call in ["cx.var(\"", "vars.get(\"", "env.get(\""] {
                let mut rest = line;
                while let Some(at) = rest.find(call) {
                    let after = &rest[at + call.len()..];
                    let name: String = after.chars().take_while(|c| *c != '"').collect();
                    if !declared.contains(&name) {
                        problems.push(format!("{}:{number}: `{name}`", path.display()));
                    }
                    rest = &after[name.len()..];
                }
            }
        }
    }
    fail_with(
        "a variable is read that greenlight_env::EnvVars does not declare",
        "declare it in crates/greenlight-env/src/lib.rs with what it is for, and read it by that name",
        &problems,
    );
}

/// The registered check ids, from the plugins' factories.
fn check_ids() -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    for path in sources().into_iter().filter(|path| path.starts_with("plugins")) {
        for line in read(&path).lines() {
            let line = line.trim();
            let at = if line.starts_with("id: \"") || line.contains("CheckerFactory { id: \"") {
                line.find("id: \"").map(|at| at + "id: \"".len())
            } else {
                line.strip_prefix("pub const ID: &str = \"").map(|rest| line.len() - rest.len())
            };
            if let Some(at) = at {
                ids.insert(line[at..].chars().take_while(|c| *c != '"').collect::<String>());
            }
        }
    }
    ids
}

#[test]
fn no_check_id_is_named_outside_its_plugin_and_the_registry() {
    let ids = check_ids();
    for id in ["ruff-check", "ruff-format", "pytest", "gitleaks", "pip-audit", "build", "docker", "policy"] {
        assert!(ids.contains(id), "the check id `{id}` was not found in the plugins: {ids:?}");
    }
    let mut problems = Vec::new();
    for path in sources() {
        let text = path.to_string_lossy();
        let exempt = text.starts_with("plugins/")
            || text == "crates/greenlight-cli/src/registry.rs"
            || CHECK_ID_FILES.iter().any(|(file, _)| *file == text)
            || is_test_file(&path);
        if exempt {
            continue;
        }
        for (number, line) in product_lines(&read(&path)) {
            let line = code(line);
            // Finding kinds share words with check ids (`build`, `policy`).
            if line.contains("FindingKind::") {
                continue;
            }
            for id in &ids {
                if line.contains(&format!("\"{id}\"")) {
                    problems.push(format!("{text}:{number}: `{id}`"));
                }
            }
        }
    }
    fail_with(
        "a check id is named outside its plugin and the registry",
        "facts about a check belong in its CheckerInfo; the CLI's registry.rs is the one list of checks",
        &problems,
    );
}

#[test]
fn every_module_has_a_doc_comment() {
    let problems: Vec<String> = sources()
        .into_iter()
        .filter(|path| !read(path).lines().next().is_some_and(|line| line.starts_with("//!")))
        .map(|path| path.display().to_string())
        .collect();
    fail_with(
        "a file does not start with a `//!` module doc",
        "say in one `//!` paragraph what the module is for",
        &problems,
    );
}

#[test]
fn no_file_is_too_long() {
    let mut problems = Vec::new();
    for path in sources() {
        let lines = read(&path).lines().count();
        if lines > MAX_LINES {
            problems.push(format!("{}: {lines} lines", path.display()));
        }
    }
    fail_with(&format!("a file is longer than {MAX_LINES} lines"), "split it along its seams into modules", &problems);
}
