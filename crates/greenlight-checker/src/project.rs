//! What greenlight knows about the project before running anything.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The project under check: its root, its `pyproject.toml`, and its git repository.
#[derive(Debug, Clone, Default)]
pub struct Project {
    /// Absolute project root (the directory holding `pyproject.toml`).
    pub root: PathBuf,
    /// The parsed `pyproject.toml`, if there is one and it parses.
    pub pyproject: Option<PyProject>,
    /// Why `pyproject.toml` could not be read, when it exists but is broken.
    pub pyproject_error: Option<String>,
    /// The git repository the root is in, if any.
    pub git: Option<GitInfo>,
}

impl Project {
    /// True when `relative` exists under the root.
    pub fn has(&self, relative: &str) -> bool {
        self.root.join(relative).exists()
    }

    /// The absolute path of `relative`.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// `path` relative to the root with `/` separators, or `path` itself when outside.
    pub fn relative(&self, path: &Path) -> String {
        relative_to(&self.root, path)
    }

    /// True when the project has a `pyproject.toml` (even a broken one).
    pub fn has_pyproject(&self) -> bool {
        self.pyproject.is_some() || self.pyproject_error.is_some()
    }
}

/// `path` relative to `root` with `/` separators; `path` unchanged (lossy) when outside.
pub fn relative_to(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let text = relative.to_string_lossy().replace('\\', "/");
    text.strip_prefix("./").map(str::to_string).unwrap_or(text)
}

/// The parts of `pyproject.toml` greenlight uses.
#[derive(Debug, Clone, Default)]
pub struct PyProject {
    /// `[project].name`.
    pub name: Option<String>,
    /// `[project].version` (absent when dynamic).
    pub version: Option<String>,
    /// True when `version` is listed in `[project].dynamic`.
    pub dynamic_version: bool,
    /// `[project].dependencies`.
    pub dependencies: Vec<String>,
    /// `[project.optional-dependencies]`, by extra name.
    pub optional_dependencies: BTreeMap<String, Vec<String>>,
    /// `[project].requires-python`.
    pub requires_python: Option<String>,
    /// True when `[build-system]` is present.
    pub has_build_system: bool,
    /// The top-level keys under `[tool]` (`ruff`, `pytest`, `greenlight`, ...).
    pub tool_tables: Vec<String>,
    /// The whole text.
    pub text: String,
}

impl PyProject {
    /// Parses `pyproject.toml` text. Only TOML syntax errors fail; missing tables are fine.
    pub fn parse(text: &str) -> Result<Self, PyProjectError> {
        let table: toml::Table = toml::from_str(text).map_err(PyProjectError)?;
        let project = table.get("project").and_then(toml::Value::as_table);
        let string = |key: &str| project.and_then(|p| p.get(key)).and_then(toml::Value::as_str).map(str::to_string);
        let strings = |value: Option<&toml::Value>| -> Vec<String> {
            value
                .and_then(toml::Value::as_array)
                .map(|items| items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect())
                .unwrap_or_default()
        };
        let optional_dependencies = project
            .and_then(|p| p.get("optional-dependencies"))
            .and_then(toml::Value::as_table)
            .map(|extras| extras.iter().map(|(name, deps)| (name.clone(), strings(Some(deps)))).collect())
            .unwrap_or_default();
        let dynamic = strings(project.and_then(|p| p.get("dynamic")));
        Ok(Self {
            name: string("name"),
            version: string("version"),
            dynamic_version: dynamic.iter().any(|key| key == "version"),
            dependencies: strings(project.and_then(|p| p.get("dependencies"))),
            optional_dependencies,
            requires_python: string("requires-python"),
            has_build_system: table.contains_key("build-system"),
            tool_tables: table
                .get("tool")
                .and_then(toml::Value::as_table)
                .map(|tools| tools.keys().cloned().collect())
                .unwrap_or_default(),
            text: text.to_string(),
        })
    }

    /// True when `[tool.<name>]` exists.
    pub fn has_tool(&self, name: &str) -> bool {
        self.tool_tables.iter().any(|tool| tool == name)
    }

    /// The 1-based line in `pyproject.toml` that declares dependency `package` (PEP 503
    /// comparison), if any: used to give vulnerability findings a location.
    pub fn dependency_line(&self, package: &str) -> Option<u32> {
        let wanted = normalize_name(package);
        let mut in_dependencies = false;
        for (index, line) in self.text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.starts_with('[') && !trimmed.starts_with("[[") && trimmed.ends_with(']') {
                in_dependencies = trimmed == "[project.optional-dependencies]" || trimmed == "[project]";
                continue;
            }
            if !in_dependencies {
                continue;
            }
            for quoted in quoted_strings(trimmed) {
                if normalize_name(requirement_name(quoted)) == wanted {
                    return Some(index as u32 + 1);
                }
            }
        }
        None
    }
}

/// A `pyproject.toml` that is not valid TOML (the message names line and column).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PyProjectError(#[source] toml::de::Error);

/// The distribution name at the start of a PEP 508 requirement (`fastapi[all]>=0.1` →
/// `fastapi`).
pub fn requirement_name(requirement: &str) -> &str {
    let requirement = requirement.trim();
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.'))
        .unwrap_or(requirement.len());
    &requirement[..end]
}

/// PEP 503 normalization: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_dash = false;
    for c in name.chars() {
        if c == '-' || c == '_' || c == '.' {
            if !last_dash {
                out.push('-');
            }
            last_dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        }
    }
    out
}

fn quoted_strings(line: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find(['"', '\'']) {
        let quote = rest.as_bytes()[start] as char;
        let after = &rest[start + 1..];
        match after.find(quote) {
            Some(end) => {
                out.push(&after[..end]);
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

/// The git repository around the project.
#[derive(Debug, Clone, Default)]
pub struct GitInfo {
    /// The work tree's top-level directory.
    pub toplevel: PathBuf,
    /// Full sha of `HEAD`; `None` in a repository without commits.
    pub head: Option<String>,
    /// True when there are uncommitted changes.
    pub dirty: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pyproject() {
        let text = r#"
[project]
name = "demo-svc"
version = "0.3.0"
dependencies = ["fastapi>=0.100", "Pydantic_Core==2.0"]
[project.optional-dependencies]
dev = ["pytest", "ruff"]
[tool.ruff]
line-length = 100
"#;
        let pyproject = PyProject::parse(text).unwrap();
        assert_eq!(pyproject.name.as_deref(), Some("demo-svc"));
        assert_eq!(pyproject.optional_dependencies["dev"], ["pytest", "ruff"]);
        assert!(pyproject.has_tool("ruff"));
        assert_eq!(pyproject.dependency_line("pydantic-core"), Some(5));
        assert_eq!(pyproject.dependency_line("pytest"), Some(7));
        assert_eq!(pyproject.dependency_line("flask"), None);
    }

    #[test]
    fn names() {
        assert_eq!(normalize_name("Foo.Bar__baz"), "foo-bar-baz");
        assert_eq!(requirement_name("fastapi[all]>=0.1"), "fastapi");
        assert_eq!(requirement_name(" jinja2 ; python_version<'3.12'"), "jinja2");
    }
}
