//! The registry: the one place that names every checker.
//!
//! | id            | tool            | network          | writes             |
//! |---------------|-----------------|------------------|--------------------|
//! | `ruff-check`  | ruff            | no               | nothing (`--fix`: sources) |
//! | `ruff-format` | ruff            | no               | nothing (`--fix`: sources) |
//! | `pytest`      | pytest (in the project environment) | if the tests use it | nothing |
//! | `gitleaks`    | gitleaks, git   | no               | nothing (report and tree copy in scratch) |
//! | `pip-audit`   | pip-audit       | its service (none with `--advisory-db`: loopback only) | nothing |
//! | `build`       | build (+ uv)    | the package index (build requirements) | a temporary copy; artifacts in `.greenlight/dist/` |
//! | `docker`      | the Docker Engine API (bollard) | what the Dockerfile pulls | an image and a container, labelled and removed after the run |
//! | `policy`      | git (changed files) | no               | nothing            |
//! | `mypy`        | mypy (in the project environment) | no | nothing (its cache in scratch) |
//! | `bandit`      | bandit          | no               | nothing (report in scratch) |
//! | `[checks.<id>]` | the configured command | what it does | what it does |
//!
//! `mypy` and `bandit` are definitions shipped in the binary, run by the same code as the
//! checks a configuration defines (`greenlight-plugin-defined`).

use greenlight_checker::Registry;

/// Every checker greenlight has, in display order, and the checks a configuration defines.
pub fn registry() -> Registry {
    let factories = vec![
        greenlight_plugin_ruff::RUFF_CHECK,
        greenlight_plugin_ruff::RUFF_FORMAT,
        greenlight_plugin_pytest::PYTEST_CHECK,
        greenlight_plugin_gitleaks::GITLEAKS_CHECK,
        greenlight_plugin_pip_audit::PIP_AUDIT_CHECK,
        greenlight_plugin_build::BUILD,
        greenlight_plugin_docker::DOCKER,
        greenlight_plugin_policy::POLICY_CHECK,
        greenlight_plugin_defined::MYPY,
        greenlight_plugin_defined::BANDIT,
    ];
    Registry::new(factories, Some(greenlight_plugin_defined::define_checks))
}

#[cfg(test)]
mod tests {
    use greenlight_checker::ConfigSource;

    use super::*;

    /// SARIF needs a distinct driver name per run (GitHub rejects two runs of one tool), and
    /// the reporters take it from what each checker declares.
    #[test]
    fn every_checker_declares_a_distinct_tool_name() {
        let checkers: Vec<_> =
            registry().iter().map(|factory| (factory.build)(&ConfigSource::empty()).unwrap()).collect();
        let mut names: Vec<String> =
            checkers.iter().map(|checker| checker.info().tool_facts(checker.id()).name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), checkers.len(), "{names:?}");
    }
}
