//! Every environment variable greenlight reads, declared once with what it is for, and the
//! one place that reads the process environment.
//!
//! Code never calls `std::env::var` (`clippy.toml` bans it, and the tidy test checks): the
//! command line captures the environment once ([`Env::capture`]) and hands the snapshot down;
//! a run reads variables from it by the names declared in [`EnvVars`]. Tests build an [`Env`]
//! of their own ([`Env::from_pairs`]) instead of changing the process environment.
//!
//! Adding a variable: declare it in the `env_vars!` list below with a doc comment saying who
//! reads it and what it changes; [`EnvVars::ALL`] then lists it, and the tidy test accepts
//! reads of it.

use std::collections::BTreeMap;
use std::path::PathBuf;

macro_rules! env_vars {
    ($( $(#[$meta:meta])* $name:ident ),* $(,)?) => {
        /// The names of the environment variables greenlight reads.
        #[derive(Debug, Clone, Copy)]
        pub struct EnvVars;

        impl EnvVars {
            $( $(#[$meta])* pub const $name: &'static str = stringify!($name); )*

            /// Every declared name, in declaration order.
            pub const ALL: &'static [&'static str] = &[$( stringify!($name) ),*];
        }
    };
}

env_vars! {
    // greenlight's own.
    /// Directory of an offline advisory database (OSV records) for `pip-audit`; the same as
    /// `--advisory-db DIR`, which wins over it. It wins over `advisory-db` in the configuration.
    GREENLIGHT_ADVISORY_DB,
    /// The user cache (provisioned tools, tool versions, parsed advisory databases). Default:
    /// `$XDG_CACHE_HOME/greenlight`, else `~/.cache/greenlight`.
    GREENLIGHT_CACHE_DIR,
    /// greenlight's state directory (the project environment, logs, the result cache, tool
    /// caches) instead of the project's `.greenlight/`: for a read-only checkout, or to keep
    /// the tree clean. `--state-dir DIR` wins over it.
    GREENLIGHT_STATE_DIR,
    /// Set by greenlight for every tool it starts: which command started it (what the tool
    /// starts inherits it). greenlight reads it back from `/proc/<pid>/environ` to find and
    /// kill what a tool left running, also after a killed run; never from its own environment.
    GREENLIGHT_PROCESS_TAG,

    // The platform.
    /// The user cache's base directory (XDG), when `GREENLIGHT_CACHE_DIR` is not set.
    XDG_CACHE_HOME,
    /// The home directory: `~/.cache/greenlight` when neither cache variable is set.
    HOME,
    /// Where tools are looked up (and what tools see).
    PATH,
    /// Set (and not `false`) in CI: the live view prints lines instead of spinners.
    CI,
    /// Set and not empty: no colour in the terminal output (https://no-color.org), unless
    /// `--color always`, FORCE_COLOR or CLICOLOR_FORCE.
    NO_COLOR,
    /// Set, not empty and not `0`: colours even when the output is not a terminal
    /// (https://force-color.org).
    FORCE_COLOR,
    /// Set, not empty and not `0`: colours even when the output is not a terminal
    /// (https://bixense.com/clicolors/).
    CLICOLOR_FORCE,
    /// greenlight's log filter (`tracing` directives), overriding `-v` and `-q`.
    RUST_LOG,
    /// Hosts that bypass an HTTP proxy; `pip-audit` adds loopback for its local advisory
    /// endpoint.
    NO_PROXY,
    /// The lowercase spelling of `NO_PROXY`, which some tools read.
    #[expect(non_upper_case_globals, reason = "the variable's own spelling")]
    no_proxy,

    // GitHub Actions.
    /// `true` on GitHub Actions: workflow commands (annotations, log groups) are printed.
    GITHUB_ACTIONS,
    /// The step summary file on GitHub Actions: the Markdown summary is appended to it.
    GITHUB_STEP_SUMMARY,
    /// The event file on GitHub Actions: `policy` reads the pull request from it.
    GITHUB_EVENT_PATH,
    /// The event's name on GitHub Actions, for `policy`'s messages.
    GITHUB_EVENT_NAME,

    // Tools.
    /// The Docker Engine `docker` talks to (`unix://` or `tcp://`).
    DOCKER_HOST,
    /// TLS to the Docker Engine (not supported; `docker` says so).
    DOCKER_TLS_VERIFY,
    /// The user's `git -c` settings by environment; greenlight appends its own after them.
    GIT_CONFIG_COUNT,
}

/// A snapshot of the process environment, taken once by the command line and read by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// The process environment now (variables whose name or value is not Unicode are left
    /// out). The only place greenlight reads the process environment.
    #[expect(
        clippy::disallowed_methods,
        reason = "the one snapshot of the environment; everything else reads this snapshot"
    )]
    pub fn capture() -> Self {
        Self { vars: std::env::vars().collect() }
    }

    /// An environment of exactly these variables (tests, runs that must not see the user's).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { vars: pairs.into_iter().map(|(name, value)| (name.into(), value.into())).collect() }
    }

    /// The value of `name`, if set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value of `name` when it is set and not empty.
    pub fn non_empty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|value| !value.is_empty())
    }

    /// True when `name` is set to something other than empty or `false` (`CI=true`).
    pub fn flag(&self, name: &str) -> bool {
        self.non_empty(name).is_some_and(|value| value != "false")
    }

    /// `name` as a path, when set and not empty.
    pub fn path(&self, name: &str) -> Option<PathBuf> {
        self.non_empty(name).map(PathBuf::from)
    }

    /// Every variable, for the checks' context.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// Sets `name` (tests, and runs that give a tool a variable of their own).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }

    /// Removes `name`.
    pub fn remove(&mut self, name: &str) {
        self.vars.remove(name);
    }

    /// The user cache directory: `$GREENLIGHT_CACHE_DIR`, `$XDG_CACHE_HOME/greenlight` or
    /// `~/.cache/greenlight`; `None` when none is set.
    pub fn user_cache_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = self.path(EnvVars::GREENLIGHT_CACHE_DIR) {
            return Some(dir);
        }
        if let Some(dir) = self.path(EnvVars::XDG_CACHE_HOME) {
            return Some(dir.join("greenlight"));
        }
        self.path(EnvVars::HOME).map(|home| home.join(".cache").join("greenlight"))
    }
}

impl From<BTreeMap<String, String>> for Env {
    fn from(vars: BTreeMap<String, String>) -> Self {
        Self { vars }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_their_own_spelling() {
        assert_eq!(EnvVars::GREENLIGHT_ADVISORY_DB, "GREENLIGHT_ADVISORY_DB");
        assert_eq!(EnvVars::no_proxy, "no_proxy");
        assert!(EnvVars::ALL.contains(&"DOCKER_HOST"));
    }

    #[test]
    fn flags_and_cache_dir() {
        let env = Env::from_pairs([("CI", "true"), ("NO_COLOR", ""), ("HOME", "/home/u")]);
        assert!(env.flag(EnvVars::CI));
        assert!(!env.flag(EnvVars::NO_COLOR));
        assert!(!Env::from_pairs([("CI", "false")]).flag(EnvVars::CI));
        assert_eq!(env.user_cache_dir(), Some(PathBuf::from("/home/u/.cache/greenlight")));
        let env = Env::from_pairs([("XDG_CACHE_HOME", "/x"), ("HOME", "/home/u")]);
        assert_eq!(env.user_cache_dir(), Some(PathBuf::from("/x/greenlight")));
        let env = Env::from_pairs([("GREENLIGHT_CACHE_DIR", "/g"), ("XDG_CACHE_HOME", "/x")]);
        assert_eq!(env.user_cache_dir(), Some(PathBuf::from("/g")));
        assert_eq!(Env::default().user_cache_dir(), None);
    }
}
