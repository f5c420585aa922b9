//! What each ruff version's command line accepts, so that one checker runs every ruff since
//! 0.1 the way that version's own `ruff format --check` and `ruff check` would.
//!
//! The table was read from the real releases (each installed from PyPI and run):
//!
//! | feature | first release | before it |
//! |---|---|---|
//! | `--config 'KEY = VALUE'` (inline overrides) | 0.2.2 | only a path |
//! | `ruff format --output-format json` | 0.16.0 | 0.14 and 0.15 accept the flag but print text without preview mode; older releases reject it |
//! | `ruff format --extend-exclude` | 0.16.0 (0.15.22 has it, 0.15.20 not) | rejected |
//!
//! `ruff check --output-format json --output-file --extend-exclude` work in every release
//! since 0.1; every release honours `RUFF_CACHE_DIR`, where greenlight keeps ruff's cache. A
//! version that cannot be read is probed instead: `ruff format --help` lists the flags it
//! accepts ([`Features::from_help`]).

/// What the resolved ruff accepts and prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `ruff format --check --output-format json` prints a JSON array.
    pub format_json: bool,
    /// `ruff format` accepts `--extend-exclude`.
    pub format_extend_exclude: bool,
    /// `--config 'KEY = VALUE'` overrides one setting (and extends list settings such as
    /// `extend-exclude`, keeping the project's own entries).
    pub inline_config: bool,
}

impl Features {
    /// Everything: the ruff greenlight installs by default and every later one.
    pub const LATEST: Features = Features { format_json: true, format_extend_exclude: true, inline_config: true };

    /// The features of ruff `version` (`0.14.10`), or `None` when it is not a version number.
    pub fn of(version: &str) -> Option<Self> {
        let version = greenlight_checker::release::release(version)?;
        let at_least = |wanted: [u64; 3]| version >= wanted;
        Some(Self {
            format_json: at_least([0, 16, 0]),
            format_extend_exclude: at_least([0, 16, 0]),
            inline_config: at_least([0, 2, 2]),
        })
    }

    /// The features a ruff of unknown version shows in `ruff format --help`. JSON is
    /// assumed only with both `--output-format` and `--extend-exclude` (0.16 and later;
    /// a 0.15 that prints text anyway is still read, as text).
    pub fn from_help(help: &str) -> Self {
        let has = |flag: &str| help.contains(flag);
        Self {
            format_json: has("--output-format") && has("--extend-exclude"),
            format_extend_exclude: has("--extend-exclude"),
            inline_config: has("<KEY> = <VALUE>") || has("KEY = VALUE"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_releases() {
        let json = |v: &str| Features::of(v).unwrap().format_json;
        assert!(!json("0.1.0") && !json("0.4.10") && !json("0.9.10") && !json("0.14.10") && !json("0.15.22"));
        assert!(json("0.16.0") && json("0.17.6") && json("1.0.0"));
        let inline = |v: &str| Features::of(v).unwrap().inline_config;
        assert!(!inline("0.1.15") && !inline("0.2.1") && inline("0.2.2") && inline("0.4.10"));
        assert_eq!(Features::of("0.17.6"), Some(Features::LATEST));
        assert_eq!(Features::of("unknown"), None);
        assert_eq!(Features::of("0.17.6+dev").map(|f| f.format_json), Some(true));
    }

    #[test]
    fn a_probe_reads_the_help() {
        // `ruff format --help` of 0.9.10 and 0.17.6 (trimmed to the lines that matter).
        let old = "  -n, --no-cache\n      --exclude <FILE_PATTERN>\n      --config <CONFIG_OPTION>\n          Either a path to a TOML configuration file (`pyproject.toml` or `ruff.toml`), or a TOML\n          `<KEY> = <VALUE>` pair";
        let new = "      --output-format <OUTPUT_FORMAT>\n  -n, --no-cache\n      --extend-exclude <FILE_PATTERN>\n          `<KEY> = <VALUE>` pair";
        assert_eq!(
            Features::from_help(old),
            Features { format_json: false, format_extend_exclude: false, inline_config: true }
        );
        assert_eq!(Features::from_help(new), Features::LATEST);
    }
}
