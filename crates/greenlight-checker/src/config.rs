//! Reading configuration sections with errors that name file, line and column.
//!
//! Configuration lives in `[tool.greenlight]` of `pyproject.toml` or at the top level of
//! `greenlight.toml`. Each check has a section named by its id (`[tool.greenlight.pytest]`)
//! holding the [`CommonOptions`] every check has plus the check's own options.
//!
//! Command-line flags that set a check's own options (`--keep-image` is `keep-image = true` in
//! `[tool.greenlight.docker]`) are [`ConfigOverrides`]: a layer over the file that
//! [`ConfigSource::section`] applies, so a check reads one typed options struct whatever set it.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// The text of a configuration file and where greenlight's tables are in it.
#[derive(Debug, Clone, Default)]
pub struct ConfigSource {
    /// The file, or `None` for the built-in defaults (zero configuration).
    pub path: Option<PathBuf>,
    /// Its whole text.
    pub text: String,
    /// Keys leading to greenlight's table: `["tool", "greenlight"]` in pyproject.toml, none in
    /// greenlight.toml.
    pub prefix: Vec<String>,
    /// Values set on the command line, over the file's.
    pub overrides: ConfigOverrides,
}

/// The typed name of one option of a check section, for [`ConfigOverrides::set`]: a plugin
/// exports one per option a command-line flag sets (`docker`'s `KEEP_IMAGE`).
#[derive(Debug)]
pub struct OptionKey<T> {
    /// The section (the check id).
    pub section: &'static str,
    /// The key as written in the file (`keep-image`).
    pub key: &'static str,
    value: PhantomData<fn(T)>,
}

impl<T> OptionKey<T> {
    /// The option `key` of `[tool.greenlight.<section>]`, holding a `T`.
    pub const fn new(section: &'static str, key: &'static str) -> Self {
        Self { section, key, value: PhantomData }
    }
}

impl<T> Clone for OptionKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for OptionKey<T> {}

/// Check options set on the command line: the top layer over the configuration file. Each
/// value replaces the file's value of that key; the section is then read as usual, so a value
/// of the wrong shape is a configuration error like one in the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConfigOverrides {
    sections: BTreeMap<String, toml::Table>,
}

impl ConfigOverrides {
    /// Sets `key` to `value`, replacing an earlier value.
    pub fn set<T: serde::Serialize>(&mut self, key: OptionKey<T>, value: T) -> Result<(), ConfigError> {
        let value = toml::Value::try_from(value).map_err(|error| {
            ConfigError::new(None, format!("cannot set `{}` of [{}]: {error}", key.key, key.section))
        })?;
        self.sections.entry(key.section.to_string()).or_default().insert(key.key.to_string(), value);
        Ok(())
    }

    /// True when nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
    }

    /// The overridden keys of `section`, if any.
    pub fn section(&self, section: &str) -> Option<&toml::Table> {
        self.sections.get(section)
    }

    /// A stable text of every value (`docker.keep-image = true`, one per line), for the result
    /// cache's key and for messages.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        for (section, table) in &self.sections {
            for (key, value) in table {
                out.push_str(&format!("{section}.{key} = {value}\n"));
            }
        }
        out
    }
}

impl ConfigSource {
    /// Defaults only: every section is absent.
    pub fn empty() -> Self {
        Self::default()
    }

    /// A source for `text` read from `path` with greenlight's table under `prefix`.
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>, prefix: &[&str]) -> Self {
        Self {
            path: Some(path.into()),
            text: text.into(),
            prefix: prefix.iter().map(|key| (*key).to_string()).collect(),
            overrides: ConfigOverrides::default(),
        }
    }

    /// This source with `overrides` over the file's values.
    pub fn with_overrides(mut self, overrides: ConfigOverrides) -> Self {
        self.overrides = overrides;
        self
    }

    /// Deserializes greenlight's whole table (`None` when absent).
    pub fn root<T: DeserializeOwned>(&self) -> Result<Option<T>, ConfigError> {
        let path: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        self.at(&path)
    }

    /// Deserializes the section `key` of greenlight's table (`[tool.greenlight.<key>]`), or
    /// `T::default()` when it is absent, with the command line's [`ConfigOverrides`] applied.
    pub fn section<T: DeserializeOwned + Default>(&self, key: &str) -> Result<T, ConfigError> {
        let mut path: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        path.push(key);
        // The file alone first: its errors point at its lines.
        let from_file = self.at::<T>(&path)?;
        let Some(overrides) = self.overrides.section(key) else {
            return Ok(from_file.unwrap_or_default());
        };
        let mut table: toml::Table = self.at(&path)?.unwrap_or_default();
        table.extend(overrides.iter().map(|(name, value)| (name.clone(), value.clone())));
        T::deserialize(toml::Value::Table(table)).map_err(|error| {
            ConfigError::new(
                None,
                format!("{} as set on the command line: {}", self.table_name(key), error.message().trim()),
            )
        })
    }

    /// Deserializes the table at `keys` under greenlight's table (`["checks", "mypy"]` is
    /// `[tool.greenlight.checks.mypy]`), `None` when absent; errors point into the file.
    /// Overrides do not apply.
    pub fn table_at<T: DeserializeOwned>(&self, keys: &[&str]) -> Result<Option<T>, ConfigError> {
        let mut path: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        path.extend_from_slice(keys);
        self.at(&path)
    }

    /// The table name of `key` as the user writes it (`[tool.greenlight.pytest]`).
    pub fn table_name(&self, key: &str) -> String {
        let mut parts = self.prefix.clone();
        if !key.is_empty() {
            parts.push(key.to_string());
        }
        format!("[{}]", parts.join("."))
    }

    /// The file name for messages.
    pub fn display_path(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => "<defaults>".to_string(),
        }
    }

    fn at<T: DeserializeOwned>(&self, path: &[&str]) -> Result<Option<T>, ConfigError> {
        if self.text.is_empty() {
            return Ok(None);
        }
        let deserializer = toml::Deserializer::parse(&self.text).map_err(|error| self.error(&error))?;
        PathSeed::<T> { path, marker: PhantomData }.deserialize(deserializer).map_err(|error| self.error(&error))
    }

    /// Converts a toml error into a [`ConfigError`] pointing into this file.
    pub fn error(&self, error: &toml::de::Error) -> ConfigError {
        let (line, column) = match error.span() {
            Some(span) => line_column(&self.text, span.start),
            None => (0, 0),
        };
        ConfigError { file: self.path.clone(), line, column, message: error.message().trim().to_string() }
    }

    /// An error at the byte offset `offset` of this file.
    pub fn error_at(&self, offset: usize, message: impl Into<String>) -> ConfigError {
        let (line, column) = line_column(&self.text, offset);
        ConfigError { file: self.path.clone(), line, column, message: message.into() }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |index| index + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Descends a path of table keys, ignoring everything else, then deserializes `T` there.
/// Going through the original document keeps toml's spans, so errors point at the right line.
struct PathSeed<'a, T> {
    path: &'a [&'a str],
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for PathSeed<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        match self.path.split_first() {
            None => T::deserialize(deserializer).map(Some),
            Some((key, rest)) => deserializer.deserialize_map(PathVisitor::<T> { key, rest, marker: PhantomData }),
        }
    }
}

struct PathVisitor<'a, T> {
    key: &'a str,
    rest: &'a [&'a str],
    marker: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> Visitor<'de> for PathVisitor<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "a table")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key == self.key {
                found = map.next_value_seed(PathSeed::<T> { path: self.rest, marker: PhantomData })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// A configuration error: where it is and what is wrong (exit code 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The configuration file, if any.
    pub file: Option<PathBuf>,
    /// 1-based line; 0 when unknown.
    pub line: usize,
    /// 1-based column; 0 when unknown.
    pub column: usize,
    /// What is wrong, including the valid keys for unknown ones.
    pub message: String,
}

impl ConfigError {
    /// An error not tied to a position in a file.
    pub fn new(file: Option<&Path>, message: impl Into<String>) -> Self {
        Self { file: file.map(Path::to_path_buf), line: 0, column: 0, message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            Some(file) if self.line > 0 => {
                write!(f, "{}:{}:{}: {}", file.display(), self.line, self.column, self.message)
            }
            Some(file) => write!(f, "{}: {}", file.display(), self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// For `#[serde(deserialize_with)]` on a `timeout` key: a [`DurationValue`] above zero. A zero
/// timeout would stop everything at once, so it is a configuration error at its line and column
/// (toml's span of the value), not a run where nothing is checked.
pub fn nonzero_timeout<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DurationValue>, D::Error> {
    let value = DurationValue::deserialize(deserializer)?;
    if value.0.is_zero() {
        return Err(serde::de::Error::custom(
            "a timeout of 0 stops everything at once; give a positive duration (\"90s\", \"10m\"), or remove the key for the default",
        ));
    }
    Ok(Some(value))
}

/// A duration in configuration: seconds as an integer, or a string such as `"90s"`, `"10m"`,
/// `"1h 30m"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationValue(pub Duration);

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurationVisitor;
        impl Visitor<'_> for DurationVisitor {
            type Value = DurationValue;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(formatter, "a duration: seconds, or a string like \"90s\", \"10m\", \"1h 30m\"")
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<DurationValue, E> {
                u64::try_from(value)
                    .map(|seconds| DurationValue(Duration::from_secs(seconds)))
                    .map_err(|_| E::custom("a duration cannot be negative"))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<DurationValue, E> {
                Ok(DurationValue(Duration::from_secs(value)))
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<DurationValue, E> {
                Duration::try_from_secs_f64(value)
                    .map(DurationValue)
                    .map_err(|_| E::custom("a duration must be a positive number of seconds"))
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<DurationValue, E> {
                parse_duration(value).map(DurationValue).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(DurationVisitor)
    }
}

/// Parses `"90"`, `"90s"`, `"10m"`, `"1h 30m"`, `"500ms"`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|error| DurationError { text: text.to_string(), reason: error.to_string() })
}

/// A duration that does not parse; the message says how to write one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{text}` ({reason}); write it like \"90s\", \"10m\" or \"1h 30m\"")]
pub struct DurationError {
    text: String,
    reason: String,
}

/// Options every check section accepts, read by the orchestrator.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "kebab-case")]
pub struct CommonOptions {
    /// Force the check on or off, overriding detection.
    pub enabled: Option<bool>,
    /// Per-check timeout.
    #[serde(deserialize_with = "nonzero_timeout")]
    pub timeout: Option<DurationValue>,
    /// Extra graph nodes that must succeed first.
    pub needs: Vec<String>,
    /// Secret-looking environment variables this check's tools may see.
    pub pass_env: Vec<String>,
    /// `false`: never replay this check's results from the result cache.
    pub cache: Option<bool>,
    /// `warn`: the check's failure is reported as warnings and does not fail the run.
    pub severity: Option<greenlight_report::CheckSeverity>,
}

/// The names of [`CommonOptions`] keys, in the order the docs list them.
pub const COMMON_KEYS: &[&str] = &["enabled", "timeout", "needs", "pass-env", "cache", "severity"];

/// Declares a check's options struct: the given fields plus the [`CommonOptions`] keys (read
/// by the orchestrator, ignored here), with unknown keys rejected. The plugin needs no serde
/// dependency of its own for it.
///
/// ```
/// greenlight_checker::check_options! {
///     /// Options of `[tool.greenlight.example]`.
///     pub struct ExampleOptions {
///         /// Extra arguments.
///         pub args: Vec<String>,
///     }
/// }
/// let options: ExampleOptions = toml::from_str("args = ['-q']\ntimeout = '5m'").unwrap();
/// assert_eq!(options.args, ["-q"]);
/// assert!(toml::from_str::<ExampleOptions>("argz = []").is_err());
/// ```
#[macro_export]
macro_rules! check_options {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : $type:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, $crate::__private::serde::Deserialize)]
        #[serde(crate = "greenlight_checker::__private::serde", default, deny_unknown_fields, rename_all = "kebab-case")]
        $vis struct $name {
            $( $(#[$field_meta])* $field_vis $field: $type, )*
            #[doc(hidden)]
            #[serde(rename = "enabled")]
            pub __enabled: $crate::__private::serde::de::IgnoredAny,
            #[doc(hidden)]
            #[serde(rename = "timeout")]
            pub __timeout: $crate::__private::serde::de::IgnoredAny,
            #[doc(hidden)]
            #[serde(rename = "needs")]
            pub __needs: $crate::__private::serde::de::IgnoredAny,
            #[doc(hidden)]
            #[serde(rename = "pass-env")]
            pub __pass_env: $crate::__private::serde::de::IgnoredAny,
            #[doc(hidden)]
            #[serde(rename = "cache")]
            pub __cache: $crate::__private::serde::de::IgnoredAny,
            #[doc(hidden)]
            #[serde(rename = "severity")]
            pub __severity: $crate::__private::serde::de::IgnoredAny,
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    check_options! {
        /// Test options.
        pub struct Sample {
            /// Args.
            pub args: Vec<String>,
            /// Flag.
            pub strict: bool,
        }
    }

    #[test]
    fn section_in_pyproject_with_spans() {
        let text = "[project]\nname = 'x'\n\n[tool.greenlight.sample]\nargs = ['-q']\nstrikt = true\n";
        let source = ConfigSource::new("pyproject.toml", text, &["tool", "greenlight"]);
        let error = source.section::<Sample>("sample").unwrap_err();
        assert_eq!((error.line, error.column), (6, 1), "{error}");
        assert!(error.message.contains("unknown field `strikt`"), "{error}");
        assert!(error.message.contains("`args`"), "{error}");
        let text = "[tool.greenlight.sample]\nargs = ['-q']\ntimeout = '5m'\n";
        let source = ConfigSource::new("pyproject.toml", text, &["tool", "greenlight"]);
        let sample = source.section::<Sample>("sample").unwrap();
        assert_eq!(sample.args, ["-q"]);
        assert!(!sample.strict);
    }

    #[test]
    fn wrong_type_points_at_value() {
        let text = "[sample]\nstrict = 'yes'\n";
        let source = ConfigSource::new("greenlight.toml", text, &[]);
        let error = source.section::<Sample>("sample").unwrap_err();
        assert_eq!(error.line, 2, "{error}");
        assert!(error.message.contains("invalid type"), "{error}");
    }

    #[test]
    fn absent_section_is_default() {
        let source = ConfigSource::new("pyproject.toml", "[project]\nname='x'\n", &["tool", "greenlight"]);
        assert!(source.section::<Sample>("sample").unwrap().args.is_empty());
        assert!(ConfigSource::empty().section::<Sample>("sample").unwrap().args.is_empty());
    }

    #[test]
    fn overrides_replace_the_files_values_and_keep_the_rest() {
        const STRICT: OptionKey<bool> = OptionKey::new("sample", "strict");
        const ARGS: OptionKey<Vec<String>> = OptionKey::new("sample", "args");
        let text = "[tool.greenlight.sample]\nargs = ['-q']\n";
        let mut overrides = ConfigOverrides::default();
        overrides.set(STRICT, true).unwrap();
        let source = ConfigSource::new("pyproject.toml", text, &["tool", "greenlight"]).with_overrides(overrides);
        let sample = source.section::<Sample>("sample").unwrap();
        assert!(sample.strict);
        assert_eq!(sample.args, ["-q"]);
        assert_eq!(source.overrides.describe(), "sample.strict = true\n");

        // Without a file, and over a value the file has.
        let mut overrides = ConfigOverrides::default();
        overrides.set(ARGS, vec!["-x".to_string()]).unwrap();
        let source = ConfigSource::empty().with_overrides(overrides.clone());
        assert_eq!(source.section::<Sample>("sample").unwrap().args, ["-x"]);
        let source = ConfigSource::new("pyproject.toml", text, &["tool", "greenlight"]).with_overrides(overrides);
        assert_eq!(source.section::<Sample>("sample").unwrap().args, ["-x"]);

        // The file's own errors still point at the file.
        let broken = "[tool.greenlight.sample]\nstrikt = true\n";
        let mut overrides = ConfigOverrides::default();
        overrides.set(STRICT, true).unwrap();
        let source = ConfigSource::new("pyproject.toml", broken, &["tool", "greenlight"]).with_overrides(overrides);
        assert_eq!(source.section::<Sample>("sample").unwrap_err().line, 2);

        // An override of the wrong shape is an error naming the section.
        let mut overrides = ConfigOverrides::default();
        overrides.set(OptionKey::<&str>::new("sample", "strict"), "yes").unwrap();
        let error = ConfigSource::empty().with_overrides(overrides).section::<Sample>("sample").unwrap_err();
        assert!(error.message.contains("[sample] as set on the command line"), "{error}");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h 30m").unwrap(), Duration::from_secs(5400));
        assert!(parse_duration("soon").is_err());
    }
}
