//! When tests cannot import a module that an extra of the project provides (the tests' own
//! dependencies sit in `test` or `tests`, not in the `dev` greenlight installs by default),
//! say which extra and how to select it.

use std::collections::BTreeSet;
use std::path::Path;

use greenlight_checker::{PyProject, normalize_name, requirement_name};

/// Import names whose distribution is called otherwise (module → distribution), for the
/// packages FastAPI-style services use most.
const DISTRIBUTIONS: &[(&str, &str)] = &[
    ("yaml", "pyyaml"),
    ("PIL", "pillow"),
    ("dateutil", "python-dateutil"),
    ("dotenv", "python-dotenv"),
    ("multipart", "python-multipart"),
    ("jose", "python-jose"),
    ("jwt", "pyjwt"),
    ("bs4", "beautifulsoup4"),
    ("sklearn", "scikit-learn"),
    ("cv2", "opencv-python"),
    ("attr", "attrs"),
    ("google", "protobuf"),
    ("psycopg2", "psycopg2-binary"),
    ("Crypto", "pycryptodome"),
    ("OpenSSL", "pyopenssl"),
    ("magic", "python-magic"),
    ("serial", "pyserial"),
    ("git", "gitpython"),
    ("pytest_asyncio", "pytest-asyncio"),
    ("email_validator", "email-validator"),
];

/// The modules pytest's output says could not be imported (`ModuleNotFoundError: No module
/// named 'httpx'`, top-level names, each once).
pub fn missing_modules(text: &str) -> Vec<String> {
    const MARK: &str = "No module named '";
    let mut modules = Vec::new();
    for (at, _) in text.match_indices(MARK) {
        let rest = &text[at + MARK.len()..];
        let Some(end) = rest.find('\'') else { continue };
        let module = rest[..end].split('.').next().unwrap_or_default().to_string();
        if !module.is_empty() && !modules.contains(&module) {
            modules.push(module);
        }
    }
    modules
}

/// The hint for tests that failed to import `modules`: for each one an extra of `pyproject`
/// declares, that extra and the configuration that selects it. `site_packages` (the project
/// environment's) tells which distributions — and so which extras — are installed; a module
/// whose distribution is installed gets no hint (its import fails for another reason).
pub fn missing_extra_hint(modules: &[String], pyproject: &PyProject, site_packages: Option<&Path>) -> Option<String> {
    let installed = site_packages.map(installed_distributions);
    let is_installed = |distribution: &str| installed.as_ref().is_some_and(|set| set.contains(distribution));
    let mut lines = Vec::new();
    let mut wanted: BTreeSet<&str> = BTreeSet::new();
    for module in modules {
        let distribution = distribution_of(module);
        if is_installed(&distribution) {
            continue;
        }
        let extras: Vec<&str> = pyproject
            .optional_dependencies
            .iter()
            .filter(|(_, requirements)| {
                requirements.iter().any(|requirement| normalize_name(requirement_name(requirement)) == distribution)
            })
            .map(|(extra, _)| extra.as_str())
            .collect();
        let Some(first) = extras.first() else { continue };
        let named = extras.iter().map(|extra| format!("`{extra}`")).collect::<Vec<_>>().join(" and ");
        lines.push(format!(
            "the tests import `{module}`, which the {named} extra{} of pyproject.toml provide{}, and the project environment does not have it",
            if extras.len() > 1 { "s" } else { "" },
            if extras.len() > 1 { "" } else { "s" }
        ));
        wanted.insert(first);
    }
    if lines.is_empty() {
        return None;
    }
    // The extras already installed (every requirement present) stay selected.
    let mut selected: BTreeSet<&str> = pyproject
        .optional_dependencies
        .iter()
        .filter(|(_, requirements)| {
            !requirements.is_empty()
                && requirements.iter().all(|requirement| is_installed(&normalize_name(requirement_name(requirement))))
        })
        .map(|(extra, _)| extra.as_str())
        .collect();
    if installed.is_none() && pyproject.optional_dependencies.contains_key("dev") {
        selected.insert("dev");
    }
    selected.extend(wanted);
    let list = selected.iter().map(|extra| format!("\"{extra}\"")).collect::<Vec<_>>().join(", ");
    Some(format!(
        "{}; select the extras the tests need with [tool.greenlight.environment] extras = [{list}] (greenlight installs `dev` when the project defines it, and nothing else unless told)",
        lines.join("; ")
    ))
}

/// The normalized distribution name that provides import name `module`.
fn distribution_of(module: &str) -> String {
    let distribution = DISTRIBUTIONS.iter().find(|(name, _)| *name == module).map_or(module, |(_, dist)| *dist);
    normalize_name(distribution)
}

/// The normalized names of the distributions installed in `site_packages` (`*.dist-info`).
fn installed_distributions(site_packages: &Path) -> BTreeSet<String> {
    let Ok(entries) = std::fs::read_dir(site_packages) else { return BTreeSet::new() };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name.strip_suffix(".dist-info")?;
            // `<name>-<version>.dist-info`: the name has no `-` (wheels write it with `_`).
            Some(normalize_name(stem.split('-').next().unwrap_or(stem)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pyproject() -> PyProject {
        PyProject::parse(
            "[project]\nname = 'svc'\nversion = '1'\ndependencies = ['fastapi']\n[project.optional-dependencies]\ndev = ['ruff', 'pytest']\ntest = ['httpx>=0.27', 'PyYAML']\n",
        )
        .unwrap()
    }

    #[test]
    fn names_the_extra_that_provides_the_module() {
        let junit = include_str!("../tests/data/missing-module-xunit1.xml");
        let modules = missing_modules(junit);
        assert_eq!(modules, ["httpx"]);
        let site = tempfile::tempdir().unwrap();
        for dist in ["ruff-0.17.6.dist-info", "pytest-9.2.0.dist-info", "fastapi-0.115.0.dist-info"] {
            std::fs::create_dir(site.path().join(dist)).unwrap();
        }
        let hint = missing_extra_hint(&modules, &pyproject(), Some(site.path())).unwrap();
        assert_eq!(
            hint,
            "the tests import `httpx`, which the `test` extra of pyproject.toml provides, and the project environment does not have it; select the extras the tests need with [tool.greenlight.environment] extras = [\"dev\", \"test\"] (greenlight installs `dev` when the project defines it, and nothing else unless told)"
        );
        // An import name that is not the distribution's.
        let hint = missing_extra_hint(&["yaml".to_string()], &pyproject(), Some(site.path())).unwrap();
        assert!(hint.starts_with("the tests import `yaml`, which the `test` extra"), "{hint}");
    }

    #[test]
    fn no_hint_when_no_extra_provides_it_or_it_is_installed() {
        assert_eq!(missing_extra_hint(&["nonexistent_module_xyz".to_string()], &pyproject(), None), None);
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("httpx-0.27.0.dist-info")).unwrap();
        assert_eq!(missing_extra_hint(&["httpx".to_string()], &pyproject(), Some(site.path())), None);
        assert_eq!(missing_modules("E   ModuleNotFoundError: No module named 'a.b'\nNo module named 'a'"), ["a"]);
    }
}
