//! greenlight's configuration: `[tool.greenlight]` in `pyproject.toml`, or `greenlight.toml`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use greenlight_checker::{COMMON_KEYS, CommonOptions, ConfigError, ConfigOverrides, ConfigSource, DurationValue};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The keys of greenlight's own table, besides one section per check id.
pub const TOP_LEVEL_KEYS: &[&str] =
    &["jobs", "timeout", "fail-fast", "skip", "pass-env", "environment", "tools", "provision", "cache", "hotfix"];

/// greenlight's own options (the check sections are read by the checks).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct Settings {
    /// Most CPU-bound checks at once.
    pub jobs: Option<usize>,
    /// Timeout of the whole run.
    pub timeout: Option<DurationValue>,
    /// Stop at the first check that does not pass.
    pub fail_fast: Option<bool>,
    /// Check ids never to run.
    pub skip: Vec<String>,
    /// Secret-looking environment variables every tool may see.
    pub pass_env: Vec<String>,
    /// The project environment.
    pub environment: EnvironmentSettings,
    /// Pinned tool versions and paths.
    pub tools: BTreeMap<String, ToolPin>,
    /// Install missing tools (uv, the Python tools, gitleaks) into the user cache; `false`:
    /// a missing tool makes its check `errored`. Default: true.
    pub provision: Option<bool>,
    /// The result cache.
    pub cache: CacheSettings,
    /// `greenlight hotfix`.
    pub hotfix: HotfixSettings,
}

impl Settings {
    /// True unless `provision = false`: greenlight installs the tools it does not find.
    pub fn provisions(&self) -> bool {
        self.provision != Some(false)
    }
}

/// `[tool.greenlight.hotfix]`: the branch `greenlight hotfix` creates and the PR body it writes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct HotfixSettings {
    /// The branch to create. Default: `hotfix/restore-main-green`.
    pub branch: Option<String>,
    /// The branch (or revision) the hotfix starts from. Default: `main`.
    pub base: Option<String>,
    /// `AUTO_RUN_MODE:` in the PR body. Default: `MANUAL`.
    pub auto_run_mode: Option<String>,
    /// `MILESTONE_ID:` in the PR body. Default: `HOTFIX`.
    pub milestone_id: Option<String>,
    /// `BLUEPRINT_REF:` in the PR body. Default: `revert-<short sha>` of the first reverted commit.
    pub blueprint_ref: Option<String>,
}

/// `[tool.greenlight.environment]`: the virtual environment pytest and pip-audit use.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct EnvironmentSettings {
    /// Extras to install with the project. Default: `["dev"]` when the project defines `dev`.
    pub extras: Option<Vec<String>>,
    /// Requirements files to install too (relative to the project root).
    pub requirements: Vec<String>,
    /// The interpreter to create it with (a path or a name on `PATH`, e.g. `python3.12`).
    pub python: Option<String>,
    /// `auto` (uv when available), `uv` or `pip`.
    pub installer: Option<Installer>,
    /// Timeout for creating it.
    pub timeout: Option<DurationValue>,
    /// Create it at all: `false` runs pytest with the interpreter on `PATH`.
    pub enabled: Option<bool>,
    /// Secret-looking environment variables the installer may see (a private package index's
    /// credential), besides the run's `pass-env`.
    pub pass_env: Vec<String>,
}

/// Which installer builds the project environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Installer {
    /// uv when it is on `PATH`, else pip.
    #[default]
    Auto,
    /// uv (an error when missing).
    Uv,
    /// `python -m venv` and pip.
    Pip,
}

/// `[tool.greenlight.cache]`: the result cache.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "kebab-case")]
pub struct CacheSettings {
    /// Replay results of checks whose inputs did not change (default true).
    pub enabled: Option<bool>,
    /// How long results of network-dependent checks stay valid (default: not cached).
    pub network_ttl: Option<DurationValue>,
    /// Environment variables that change results (for example what tests read); their values
    /// are part of every check's cache key.
    pub env: Vec<String>,
}

/// A pinned tool: `ruff = "0.17.6"` or `ruff = { version = "0.17.6", path = "/opt/ruff" }`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolPin {
    /// Exact version to use.
    pub version: Option<String>,
    /// Exact executable to use.
    pub path: Option<PathBuf>,
}

impl<'de> Deserialize<'de> for ToolPin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PinVisitor;
        impl<'de> Visitor<'de> for PinVisitor {
            type Value = ToolPin;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a version string, or a table with `version` and/or `path`")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<ToolPin, E> {
                Ok(ToolPin { version: Some(value.to_string()), path: None })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ToolPin, A::Error> {
                let mut pin = ToolPin::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "version" => pin.version = Some(map.next_value()?),
                        "path" => pin.path = Some(map.next_value()?),
                        other => return Err(de::Error::unknown_field(other, &["version", "path"])),
                    }
                }
                Ok(pin)
            }
        }
        deserializer.deserialize_any(PinVisitor)
    }
}

/// The loaded configuration: where it came from, greenlight's settings and each check's
/// common options.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file and text, for checks to read their sections from.
    pub source: ConfigSource,
    /// greenlight's own settings.
    pub settings: Settings,
    /// `enabled`, `timeout`, `needs`, `pass-env` of each check section present.
    pub common: BTreeMap<String, CommonOptions>,
}

impl Config {
    /// Finds and loads the configuration of the project at `root`: `greenlight.toml` when it
    /// exists, else `[tool.greenlight]` of `pyproject.toml`, else defaults; `overrides` (the
    /// command line's values of check options) go over it. `check_ids` are the valid section
    /// names; anything else is an error naming the valid keys.
    pub fn load(root: &Path, check_ids: &[&str], overrides: &ConfigOverrides) -> Result<Self, ConfigError> {
        let standalone = root.join("greenlight.toml");
        let pyproject = root.join("pyproject.toml");
        let source = if standalone.is_file() {
            ConfigSource::new(&standalone, read(&standalone)?, &[])
        } else if pyproject.is_file() {
            let text = read(&pyproject)?;
            // Without a greenlight table, a pyproject.toml that is broken for other reasons is not
            // a configuration error: the checks report it themselves.
            let has_table = match toml::from_str::<toml::Table>(&text) {
                Ok(table) => table.get("tool").and_then(|tool| tool.get("greenlight")).is_some(),
                Err(_) => text.contains("tool.greenlight") || text.contains("greenlight ="),
            };
            if has_table { ConfigSource::new(&pyproject, text, &["tool", "greenlight"]) } else { ConfigSource::empty() }
        } else {
            ConfigSource::empty()
        };
        Self::from_source(source.with_overrides(overrides.clone()), check_ids)
    }

    /// [`Config::load`], or the configuration in `file` when given (`--config`): a file named
    /// `pyproject.toml` is read for its `[tool.greenlight]`, any other as a `greenlight.toml`.
    pub fn load_from(
        root: &Path,
        file: Option<&Path>,
        check_ids: &[&str],
        overrides: &ConfigOverrides,
    ) -> Result<Self, ConfigError> {
        let Some(file) = file else { return Self::load(root, check_ids, overrides) };
        let text = read(file)?;
        let prefix: &[&str] =
            if file.file_name().is_some_and(|name| name == "pyproject.toml") { &["tool", "greenlight"] } else { &[] };
        Self::from_source(ConfigSource::new(file, text, prefix).with_overrides(overrides.clone()), check_ids)
    }

    /// Loads from an explicit source (tests, `--config`).
    pub fn from_source(source: ConfigSource, check_ids: &[&str]) -> Result<Self, ConfigError> {
        let keys: Option<Vec<toml::Spanned<String>>> = source.root::<KeysOnly>()?.map(|keys| keys.0);
        let mut common = BTreeMap::new();
        for key in keys.iter().flatten() {
            let name = key.get_ref().as_str();
            if TOP_LEVEL_KEYS.contains(&name) {
                continue;
            }
            if check_ids.contains(&name) {
                common.insert(name.to_string(), source.section::<CommonOptions>(name)?);
                continue;
            }
            if name == "tool" && source.prefix.is_empty() {
                return Err(source.error_at(
                    key.span().start,
                    "`[tool.greenlight]` is the table of pyproject.toml; greenlight.toml is greenlight's table itself: drop the `[tool.greenlight]` header and write its keys at the top (and `[ruff-check]` for `[tool.greenlight.ruff-check]`)".to_string(),
                ));
            }
            let mut known: Vec<&str> = TOP_LEVEL_KEYS.to_vec();
            known.extend(check_ids);
            return Err(source.error_at(
                key.span().start,
                format!(
                    "unknown key `{name}` in {}{}; valid keys are {}, and a section per check: {}",
                    source.table_name(""),
                    crate::plan::did_you_mean(name, &known),
                    list(TOP_LEVEL_KEYS),
                    list(check_ids)
                ),
            ));
        }
        let settings: Settings = source.root()?.unwrap_or_default();
        for skipped in &settings.skip {
            if !check_ids.contains(&skipped.as_str()) {
                return Err(ConfigError::new(
                    source.path.as_deref(),
                    format!(
                        "`skip` names an unknown check `{skipped}`{}; checks are {}",
                        crate::plan::did_you_mean(skipped, check_ids),
                        list(check_ids)
                    ),
                ));
            }
        }
        for (id, options) in &common {
            for need in &options.needs {
                if need != greenlight_checker::ENVIRONMENT && !check_ids.contains(&need.as_str()) {
                    return Err(ConfigError::new(
                        source.path.as_deref(),
                        format!(
                            "{} `needs` names an unknown node `{need}`; use `environment` or a check id: {}",
                            source.table_name(id),
                            list(check_ids)
                        ),
                    ));
                }
            }
        }
        Ok(Self { source, settings, common })
    }

    /// The text the result cache keys the configuration by: the file and the command line's
    /// overrides.
    pub fn cache_text(&self) -> String {
        let mut text = format!("{}\n{:?}", self.source.text, self.source.prefix);
        if !self.source.overrides.is_empty() {
            text.push('\n');
            text.push_str(&self.source.overrides.describe());
        }
        text
    }

    /// The common options of check `id` (defaults when it has no section).
    pub fn common(&self, id: &str) -> CommonOptions {
        self.common.get(id).cloned().unwrap_or_default()
    }
}

/// Collects the keys of a table with their spans, to reject unknown ones precisely.
struct KeysOnly(Vec<toml::Spanned<String>>);

impl<'de> Deserialize<'de> for KeysOnly {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeysVisitor;
        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = KeysOnly;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a table")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<KeysOnly, A::Error> {
                let mut keys = Vec::new();
                while let Some(key) = map.next_key::<toml::Spanned<String>>()? {
                    map.next_value::<de::IgnoredAny>()?;
                    keys.push(key);
                }
                Ok(KeysOnly(keys))
            }
        }
        deserializer.deserialize_map(KeysVisitor)
    }
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::new(Some(path), format!("cannot read it: {error}")))
}

fn list(items: &[&str]) -> String {
    items.iter().map(|item| format!("`{item}`")).collect::<Vec<_>>().join(", ")
}

/// The documented keys of a check section common to every check.
pub fn common_keys() -> &'static [&'static str] {
    COMMON_KEYS
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &[&str] = &["ruff-check", "pytest"];

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_source(ConfigSource::new("pyproject.toml", text, &["tool", "greenlight"]), IDS)
    }

    #[test]
    fn unknown_top_level_key_names_line_and_valid_keys() {
        let error = load("[project]\nname='x'\n[tool.greenlight]\njobs = 2\njbos = 3\n").unwrap_err();
        assert_eq!((error.line, error.column), (5, 1), "{error}");
        assert!(error.message.contains("unknown key `jbos`"), "{error}");
        assert!(error.message.contains("(did you mean `jobs`?)"), "{error}");
        assert!(error.message.contains("`jobs`") && error.message.contains("`ruff-check`"), "{error}");
    }

    #[test]
    fn wrong_type_in_common_options() {
        let error = load("[tool.greenlight.pytest]\ntimeout = true\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        assert!(error.message.contains("duration"), "{error}");
    }

    #[test]
    fn reads_settings_and_common_options() {
        let config = load(
            "[tool.greenlight]\njobs = 3\nskip = ['pytest']\n[tool.greenlight.tools]\nruff = '0.17.6'\npytest = { path = '/x/pytest' }\n[tool.greenlight.ruff-check]\ntimeout = '2m'\nargs = []\n",
        )
        .unwrap();
        assert_eq!(config.settings.jobs, Some(3));
        assert_eq!(config.settings.tools["ruff"].version.as_deref(), Some("0.17.6"));
        assert_eq!(config.settings.tools["pytest"].path.as_deref(), Some(Path::new("/x/pytest")));
        assert_eq!(config.common("ruff-check").timeout.unwrap().0.as_secs(), 120);
        assert_eq!(config.settings.provision, None);
        assert_eq!(load("[tool.greenlight]\nprovision = false\n").unwrap().settings.provision, Some(false));
        let error = load("[tool.greenlight]\nprovision = 'no'\n").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
    }

    #[test]
    fn unknown_skip_and_unknown_tool_key() {
        let error = load("[tool.greenlight]\nskip = ['pytset']\n").unwrap_err();
        assert!(error.message.contains("unknown check `pytset` (did you mean `pytest`?)"), "{error}");
        let error = load("[tool.greenlight.tools]\nruff = { verison = '1' }\n").unwrap_err();
        assert!(error.message.contains("verison"), "{error}");
        assert_eq!(error.line, 2);
    }

    #[test]
    fn a_tool_greenlight_header_in_greenlight_toml_says_to_drop_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("greenlight.toml"), "[tool.greenlight]\njobs = 1\n").unwrap();
        let error = Config::load(dir.path(), &["pytest"], &ConfigOverrides::default()).unwrap_err();
        assert!(error.message.contains("drop the `[tool.greenlight]` header"), "{error}");
        assert_eq!(error.line, 1, "{error}");
    }

    #[test]
    fn hotfix_settings() {
        let config = load("[tool.greenlight.hotfix]\nbranch = 'hotfix/green'\nbase = 'trunk'\n").unwrap();
        assert_eq!(config.settings.hotfix.branch.as_deref(), Some("hotfix/green"));
        assert_eq!(config.settings.hotfix.base.as_deref(), Some("trunk"));
        let error = load("[tool.greenlight.hotfix]\nbrnach = 'x'\n").unwrap_err();
        assert!(error.message.contains("unknown field `brnach`"), "{error}");
    }

    #[test]
    fn a_config_file_replaces_the_projects() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("greenlight.toml"), "jobs = 1\n").unwrap();
        let other = dir.path().join("ci.toml");
        std::fs::write(&other, "jobs = 4\n[ruff-check]\nenabled = false\n").unwrap();
        let overrides = ConfigOverrides::default();
        let config = Config::load_from(dir.path(), Some(&other), IDS, &overrides).unwrap();
        assert_eq!(config.settings.jobs, Some(4));
        assert_eq!(config.common("ruff-check").enabled, Some(false));
        assert_eq!(config.source.path.as_deref(), Some(other.as_path()));
        let pyproject = dir.path().join("sub/pyproject.toml");
        std::fs::create_dir_all(pyproject.parent().unwrap()).unwrap();
        std::fs::write(&pyproject, "[project]\nname = 'x'\n[tool.greenlight]\njobs = 7\n").unwrap();
        assert_eq!(Config::load_from(dir.path(), Some(&pyproject), IDS, &overrides).unwrap().settings.jobs, Some(7));
        assert_eq!(Config::load_from(dir.path(), None, IDS, &overrides).unwrap().settings.jobs, Some(1));
        let error = Config::load_from(dir.path(), Some(&dir.path().join("nope.toml")), IDS, &overrides).unwrap_err();
        assert!(error.message.contains("cannot read it"), "{error}");
        std::fs::write(&other, "jbos = 4\n").unwrap();
        let error = Config::load_from(dir.path(), Some(&other), IDS, &overrides).unwrap_err();
        assert_eq!((error.line, error.column), (1, 1), "{error}");
    }

    #[test]
    fn unknown_environment_key() {
        let error = load("[tool.greenlight.environment]\nextra = ['dev']\n").unwrap_err();
        assert!(error.message.contains("unknown field `extra`"), "{error}");
        assert!(error.message.contains("`extras`"), "{error}");
    }
}
