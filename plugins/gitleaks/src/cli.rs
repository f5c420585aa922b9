//! Which gitleaks command line the binary has, and the arguments of a scan.
//!
//! gitleaks 8.19 replaced `detect` (git history, or a directory with `--no-git`) and `protect`
//! by `git [repo]` and `dir [path]`; the old commands still run but are hidden from `--help`.
//! `gitleaks version` prints `version is set by build process` in distribution builds, so the
//! command set is read from `gitleaks --help` instead.

use std::path::PathBuf;

/// The exit code gitleaks is told to use when it finds leaks, so that "leaks" and "gitleaks
/// failed" (always 1) are told apart.
pub const LEAKS_EXIT_CODE: i32 = 77;

/// gitleaks' command-line generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cli {
    /// 8.x before 8.19: `detect [--no-git] --source DIR`.
    Detect,
    /// 8.19 and later: `git [REPO]` and `dir [PATH]`.
    GitDir,
}

impl Cli {
    /// The commands a scan runs, for messages (`detect`, `git`/`dir`).
    pub fn describe(self) -> &'static str {
        match self {
            Cli::Detect => "gitleaks 8.x before 8.19 (`detect`)",
            Cli::GitDir => "gitleaks 8.19 or later (`git`, `dir`)",
        }
    }
}

/// Reads the command set from `gitleaks --help`: the first word of each line under
/// `Available Commands:`.
pub fn detect_cli(help: &str) -> Option<Cli> {
    let mut commands = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if line.trim_end() == "Available Commands:" {
            in_commands = true;
        } else if in_commands {
            if line.trim().is_empty() || !line.starts_with(' ') {
                break;
            }
            if let Some(command) = line.split_whitespace().next() {
                commands.push(command);
            }
        }
    }
    let has = |name: &str| commands.contains(&name);
    if has("git") && has("dir") {
        Some(Cli::GitDir)
    } else if has("detect") {
        Some(Cli::Detect)
    } else {
        None
    }
}

/// True when `--help` lists `flag` (`--no-color`).
pub fn help_lists(help: &str, flag: &str) -> bool {
    help.split(|c: char| c.is_whitespace() || c == ',').any(|word| word == flag)
}

/// What a scan looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// The git history (`git log -p`).
    History,
    /// The files of the working tree.
    Tree,
}

/// The inputs of one gitleaks run.
#[derive(Debug, Clone)]
pub struct ScanArgs {
    /// What to scan.
    pub target: Target,
    /// The repository (history) or directory (tree) to scan, as gitleaks should see it.
    pub source: PathBuf,
    /// Where gitleaks writes its JSON report (outside the scanned tree).
    pub report: PathBuf,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--baseline-path`.
    pub baseline: Option<PathBuf>,
    /// `--log-opts` (history only).
    pub log_opts: Option<String>,
    /// The user's extra arguments.
    pub extra: Vec<String>,
    /// Pass `--no-color` (gitleaks 8.19+ lists it in `--help`; it uncolours the log).
    pub no_color: bool,
}

/// The arguments (after the program) of a scan.
///
/// Always: a JSON report at a private path of ours (it holds the secrets, which greenlight reads
/// only to mask them in every output of the run, then deletes it), [`LEAKS_EXIT_CODE`], no
/// banner, log level `info` (gitleaks logs secrets at debug level), and never `--verbose` (it
/// prints every finding with its secret on stdout). String
/// flags use the `--flag=value` form so a value starting with `-` stays a value.
pub fn scan_args(cli: Cli, scan: &ScanArgs) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    match (cli, scan.target) {
        (Cli::Detect, Target::History) => args.push("detect".into()),
        (Cli::Detect, Target::Tree) => args.extend(["detect".into(), "--no-git".into()]),
        (Cli::GitDir, Target::History) => args.push("git".into()),
        (Cli::GitDir, Target::Tree) => args.push("dir".into()),
    }
    if cli == Cli::Detect {
        args.push(format!("--source={}", scan.source.display()));
    }
    args.extend([
        "--report-format=json".to_string(),
        format!("--report-path={}", scan.report.display()),
        format!("--exit-code={LEAKS_EXIT_CODE}"),
        "--no-banner".to_string(),
        "--log-level=info".to_string(),
    ]);
    if scan.no_color {
        args.push("--no-color".into());
    }
    if let Some(config) = &scan.config {
        args.push(format!("--config={}", config.display()));
    }
    if let Some(baseline) = &scan.baseline {
        args.push(format!("--baseline-path={}", baseline.display()));
    }
    if scan.target == Target::History
        && let Some(log_opts) = &scan.log_opts
    {
        args.push(format!("--log-opts={log_opts}"));
    }
    args.extend(scan.extra.iter().cloned());
    if cli == Cli::GitDir {
        args.push("--".into());
        args.push(scan.source.display().to_string());
    }
    args
}

/// Flags the user may not pass in `args`, and why.
const RESERVED: &[(&str, &str)] = &[
    ("--verbose", "it prints every secret in cleartext"),
    ("--redact", "greenlight reads the secrets from the report to mask them in every output and shows none"),
    ("--report-path", "greenlight reads gitleaks' report from a file of its own"),
    ("--report-format", "greenlight reads gitleaks' JSON report"),
    ("--report-template", "greenlight reads gitleaks' JSON report"),
    ("--exit-code", "greenlight sets it to tell leaks from failures"),
    ("--source", "greenlight chooses what to scan (`mode`)"),
    ("--no-git", "use `mode = \"tree\"`"),
    ("--pipe", "greenlight chooses what to scan (`mode`)"),
    ("--log-level", "gitleaks logs secrets at debug level"),
    ("--log-opts", "use `log-opts`"),
    ("--config", "use `config`"),
    ("--baseline-path", "use `baseline`"),
    ("--diagnostics", "it writes profiles into the project"),
    ("--diagnostics-dir", "it writes profiles into the project"),
];

/// Short forms of reserved flags (`-v`, `-r`, ...).
const RESERVED_SHORT: &[(char, &str)] = &[
    ('v', "--verbose"),
    ('r', "--report-path"),
    ('f', "--report-format"),
    ('s', "--source"),
    ('l', "--log-level"),
    ('c', "--config"),
    ('b', "--baseline-path"),
];

/// An argument the user may not pass to gitleaks in `args`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefusedArg {
    /// A flag greenlight sets itself, or that would leak secrets.
    #[error("`args` may not contain `{flag}`: {why}")]
    Reserved {
        /// The flag as written (`-v`, `--report-path`).
        flag: String,
        /// Why it is refused.
        why: &'static str,
    },
    /// Not a flag (a path, `--`, a separate value).
    #[error(
        "`args` may not contain `{0}`: only flags, written `--flag=value` (greenlight chooses what to scan with `mode`)"
    )]
    NotAFlag(String),
}

/// Checks the user's extra arguments: `Err` names the first refused one and why.
pub fn check_extra_args(args: &[String]) -> Result<(), RefusedArg> {
    for arg in args {
        let reserved = if let Some(long) = arg.strip_prefix("--") {
            let name = format!("--{}", long.split('=').next().unwrap_or(long));
            RESERVED.iter().find(|(flag, _)| *flag == name).map(|(flag, why)| (flag.to_string(), *why))
        } else if let Some(short) = arg.strip_prefix('-') {
            // `-v`, `-vr`, `-rreport.json`: a short flag, or a group of them.
            short.chars().take_while(char::is_ascii_alphabetic).find_map(|letter| {
                let (_, long) = RESERVED_SHORT.iter().find(|(short, _)| *short == letter)?;
                let (_, why) = RESERVED.iter().find(|(flag, _)| flag == long)?;
                Some((format!("-{letter}"), *why))
            })
        } else {
            None
        };
        if let Some((flag, why)) = reserved {
            return Err(RefusedArg::Reserved { flag, why });
        }
        if arg == "--" || !arg.starts_with('-') {
            return Err(RefusedArg::NotAFlag(arg.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_command_set_from_help() {
        assert_eq!(detect_cli(include_str!("../tests/data/help-8.16.txt")), Some(Cli::Detect));
        // gitleaks 8.19+ cannot be installed here (Debian ships 8.16): its help text is the
        // usage section of gitleaks' README.
        assert_eq!(detect_cli(include_str!("../tests/data/help-8.24.txt")), Some(Cli::GitDir));
        assert_eq!(detect_cli("Usage: something else\n"), None);
        assert_eq!(detect_cli("Available Commands:\n  version  display\n"), None);
        assert!(help_lists(include_str!("../tests/data/help-8.24.txt"), "--no-color"));
        assert!(!help_lists(include_str!("../tests/data/help-8.16.txt"), "--no-color"));
        assert!(help_lists(include_str!("../tests/data/help-8.16.txt"), "--redact"));
    }

    fn scan(target: Target, source: &str) -> ScanArgs {
        ScanArgs {
            target,
            source: source.into(),
            report: "/tmp/scratch/history.json".into(),
            config: None,
            baseline: None,
            log_opts: None,
            extra: Vec::new(),
            no_color: false,
        }
    }

    const COMMON: [&str; 5] = [
        "--report-format=json",
        "--report-path=/tmp/scratch/history.json",
        "--exit-code=77",
        "--no-banner",
        "--log-level=info",
    ];

    #[test]
    fn detect_command_lines() {
        let mut args = scan(Target::History, "/repo");
        args.config = Some("/repo/.gitleaks.toml".into());
        args.baseline = Some("/repo/baseline.json".into());
        args.log_opts = Some("--since=2026-01-01 main".into());
        args.extra = vec!["--max-target-megabytes=5".into()];
        let mut expected = vec!["detect", "--source=/repo"];
        expected.extend(COMMON);
        expected.extend([
            "--config=/repo/.gitleaks.toml",
            "--baseline-path=/repo/baseline.json",
            "--log-opts=--since=2026-01-01 main",
            "--max-target-megabytes=5",
        ]);
        assert_eq!(scan_args(Cli::Detect, &args), expected);

        let mut args = scan(Target::Tree, ".");
        args.log_opts = Some("-1".into());
        let mut expected = vec!["detect", "--no-git", "--source=."];
        expected.extend(COMMON);
        assert_eq!(scan_args(Cli::Detect, &args), expected, "log-opts only apply to history");
    }

    #[test]
    fn git_and_dir_command_lines() {
        let mut args = scan(Target::History, "/repo");
        args.log_opts = Some("-1".into());
        args.no_color = true;
        let mut expected = vec!["git"];
        expected.extend(COMMON);
        expected.extend(["--no-color", "--log-opts=-1", "--", "/repo"]);
        assert_eq!(scan_args(Cli::GitDir, &args), expected);

        let mut expected = vec!["dir"];
        expected.extend(COMMON);
        expected.extend(["--", "."]);
        assert_eq!(scan_args(Cli::GitDir, &scan(Target::Tree, ".")), expected);
    }

    #[test]
    fn reserved_flags_are_refused() {
        let refused = |args: &[&str]| {
            check_extra_args(&args.iter().map(|arg| arg.to_string()).collect::<Vec<_>>()).unwrap_err().to_string()
        };
        assert!(refused(&["-v"]).contains("cleartext"));
        assert!(refused(&["--verbose"]).contains("cleartext"));
        assert!(refused(&["--redact=20"]).contains("`--redact`"));
        assert!(refused(&["-rout.json"]).contains("`-r`"));
        assert!(refused(&["-l", "debug"]).contains("debug level"));
        assert!(refused(&["--log-opts=-1"]).contains("use `log-opts`"));
        assert!(refused(&["--max-target-megabytes", "5"]).contains("only flags"));
        assert!(refused(&["."]).contains("only flags"));
        let fine: Vec<String> =
            ["--max-target-megabytes=5", "--enable-rule=aws-access-token", "--follow-symlinks", "-i=.ignore"]
                .iter()
                .map(|arg| arg.to_string())
                .collect();
        assert_eq!(check_extra_args(&fine), Ok(()));
    }
}
