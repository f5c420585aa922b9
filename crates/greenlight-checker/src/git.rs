//! How greenlight runs git, in one place.
//!
//! The one rule: the repository greenlight was asked to check is trusted even when another
//! user owns it (a bind mount in a container, a CI workspace): git, and every tool that runs
//! git (gitleaks), sees it listed in `safe.directory`. The entry is passed through
//! `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`, appended after the entries the
//! user set there, so theirs still apply and nothing is written to any git configuration.
//! Hooks are off (`core.hooksPath=/dev/null`), messages are in English (`LC_ALL=C`, some are
//! read) and git never prompts.

use std::path::{Path, PathBuf};

use greenlight_process::Cmd;

use crate::context::CheckContext;
use crate::project::Project;

/// The git setup of one repository (see the [module documentation](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Git {
    trusted: Trusted,
    user_entries: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Trusted {
    /// Outside git: no `safe.directory` entry.
    Nothing,
    /// The work tree with this top level.
    Repository(PathBuf),
    /// Any directory: only while looking for the repository around a directory.
    Any,
}

impl Git {
    /// For the repository whose work tree's top level is `toplevel`. `user_config_count` is
    /// the user's `GIT_CONFIG_COUNT`, if set: greenlight's entries come after theirs.
    pub fn repository(toplevel: impl Into<PathBuf>, user_config_count: Option<&str>) -> Self {
        Self { trusted: Trusted::Repository(toplevel.into()), user_entries: entries(user_config_count) }
    }

    /// For finding the repository around a directory, before its top level is known: every
    /// directory is trusted. Use [`Git::repository`] once the top level is known.
    pub fn discovery(user_config_count: Option<&str>) -> Self {
        Self { trusted: Trusted::Any, user_entries: entries(user_config_count) }
    }

    /// For a project outside git (a tool that runs git finds nothing to trust).
    pub fn none(user_config_count: Option<&str>) -> Self {
        Self { trusted: Trusted::Nothing, user_entries: entries(user_config_count) }
    }

    /// For `project`: its repository when it is in one, else nothing.
    pub fn for_project(project: &Project, user_config_count: Option<&str>) -> Self {
        match &project.git {
            Some(git) => Self::repository(&git.toplevel, user_config_count),
            None => Self::none(user_config_count),
        }
    }

    /// The variables that carry the rule, to set on git or on a tool that runs git.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut config = vec![("core.hooksPath".to_string(), "/dev/null".to_string())];
        match &self.trusted {
            Trusted::Nothing => {}
            Trusted::Repository(toplevel) => config.push(("safe.directory".into(), toplevel.display().to_string())),
            Trusted::Any => config.push(("safe.directory".into(), "*".into())),
        }
        let base = self.user_entries;
        let mut env = vec![("GIT_CONFIG_COUNT".to_string(), (base + config.len()).to_string())];
        for (index, (key, value)) in config.into_iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{}", base + index), key));
            env.push((format!("GIT_CONFIG_VALUE_{}", base + index), value));
        }
        env.push(("GIT_TERMINAL_PROMPT".to_string(), "0".to_string()));
        env.push(("LC_ALL".to_string(), "C".to_string()));
        env
    }

    /// `command` with [`Git::env`] set.
    pub fn apply(&self, mut command: Cmd) -> Cmd {
        for (name, value) in self.env() {
            command = command.env(name, value);
        }
        command
    }

    /// A `git` command running in `dir`, without a log file (some outputs hold secrets, some
    /// are long listings).
    pub fn cmd(&self, dir: &Path) -> Cmd {
        self.apply(Cmd::new("git").current_dir(dir))
    }
}

/// The number of entries the user's `GIT_CONFIG_COUNT` declares (0 when unset or not a number).
fn entries(user_config_count: Option<&str>) -> usize {
    user_config_count.and_then(|count| count.trim().parse().ok()).unwrap_or(0)
}

impl CheckContext {
    /// The git setup of the project's repository (trusting nothing outside git).
    pub fn git(&self) -> Git {
        Git::for_project(&self.project, self.var("GIT_CONFIG_COUNT"))
    }

    /// A `git` command in `dir` for this check: [`CheckContext::git`], the allowed variables,
    /// no log file.
    pub fn git_cmd(&self, dir: &Path) -> Cmd {
        self.git().cmd(dir).pass_env(&self.pass_env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
        env.iter().map(|(name, value)| (name.as_str(), value.as_str())).collect()
    }

    #[test]
    fn entries_come_after_the_users() {
        let env = Git::repository("/repo", None).env();
        assert_eq!(
            pairs(&env),
            [
                ("GIT_CONFIG_COUNT", "2"),
                ("GIT_CONFIG_KEY_0", "core.hooksPath"),
                ("GIT_CONFIG_VALUE_0", "/dev/null"),
                ("GIT_CONFIG_KEY_1", "safe.directory"),
                ("GIT_CONFIG_VALUE_1", "/repo"),
                ("GIT_TERMINAL_PROMPT", "0"),
                ("LC_ALL", "C"),
            ]
        );
        let env = Git::repository("/repo", Some("2")).env();
        assert_eq!(
            pairs(&env)[..3],
            [("GIT_CONFIG_COUNT", "4"), ("GIT_CONFIG_KEY_2", "core.hooksPath"), ("GIT_CONFIG_VALUE_2", "/dev/null")]
        );
        assert_eq!(pairs(&env)[4], ("GIT_CONFIG_VALUE_3", "/repo"));
        assert_eq!(
            pairs(&Git::none(Some("x")).env())[..2],
            [("GIT_CONFIG_COUNT", "1"), ("GIT_CONFIG_KEY_0", "core.hooksPath")]
        );
        assert_eq!(pairs(&Git::discovery(None).env())[4], ("GIT_CONFIG_VALUE_1", "*"));
    }
}
