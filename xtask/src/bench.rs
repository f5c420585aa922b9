//! `cargo xtask bench`: greenlight against the way teams run CI today, side by side.
//!
//! Every scenario runs on a copy of `fixtures/bench-service` (a git repository), interleaved
//! over several repetitions; the table shows medians and ratios, and `target/bench/bench.json`
//! keeps every sample. See `docs/benchmarks.md` for how to read it.
#![allow(unsafe_code, reason = "wait4(2) gives the peak memory and CPU time of a finished child")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

use crate::{project_root, setup, status};

mod bisect;
mod peers;

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: f64,
    cpu: f64,
    max_rss_kib: i64,
    code: i32,
}

/// How a scenario's directory is prepared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prep {
    /// A fresh copy before every repetition (cold).
    Fresh,
    /// One copy, prepared once by an untimed run of the same command.
    Warm,
}

/// Builds a scenario's command in its directory.
type MakeCommand = Box<dyn Fn(&Path) -> Command>;
/// Prepares a scenario's directory.
type Prepare = Box<dyn Fn(&Path) -> Result<()>>;

struct Scenario {
    name: &'static str,
    prep: Prep,
    /// Builds the command in the scenario's directory.
    command: MakeCommand,
    /// Extra setup of the directory (config, fake tools), once per copy.
    setup: Prepare,
    group: &'static str,
}

/// Baseline shell commands for each check, as a runbook has a person type them.
fn runbook_command(check: &str) -> Option<&'static str> {
    Some(match check {
        "ruff-check" => "ruff check --no-cache .",
        "ruff-format" => "ruff format --check --no-cache .",
        "pytest" => ".venv/bin/pytest -q -p no:cacheprovider",
        "gitleaks" => "gitleaks detect --no-banner --redact -s . -r \"$(mktemp -d)/gitleaks.json\"",
        "pip-audit" => "pip-audit --progress-spinner off --path .venv/lib/python3*/site-packages",
        "build" => "python3 -m build --outdir \"$(mktemp -d)\" .",
        "docker" => {
            "docker build -q -t greenlight-bench-baseline --build-arg BASE_IMAGE=greenlight-test/python:3.11-bookworm . && docker run --rm --network none greenlight-bench-baseline python -c 'import apps.api.main' && docker rmi -f greenlight-bench-baseline"
        }
        _ => return None,
    })
}

/// Appends `text` to the copy's `pyproject.toml` (a `greenlight.toml` would replace its
/// `[tool.greenlight]` configuration, the Docker base image among it).
fn append_config(dir: &Path, text: &str) -> Result<()> {
    let path = dir.join("pyproject.toml");
    let mut config = std::fs::read_to_string(&path)?;
    config.push('\n');
    config.push_str(text);
    Ok(std::fs::write(path, config)?)
}

const CREATE_VENV: &str = "python3 -m venv .venv && .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]'";

pub fn run(args: &[String]) -> Result<()> {
    let reps: usize = match args.iter().position(|arg| arg == "--reps") {
        Some(index) => {
            args.get(index + 1).context("--reps needs a number")?.parse().context("--reps needs a number")?
        }
        None => 3,
    };
    if args.iter().any(|arg| arg == "--advisory-db-only") {
        let advisory = advisory_database(reps)?;
        println!("advisory database: {}", advisory.description);
        println!(
            "load + service queries: {:.3} s without the cache (target ≤ 1.0), {:.3} s with it (target ≤ 0.25)",
            advisory.cold_total, advisory.cached_total
        );
        return Ok(());
    }
    let root = project_root();
    status(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).current_dir(&root).args([
        "build",
        "--release",
        "--quiet",
        "--package",
        "greenlight-cli",
    ]))?;
    setup::run(&[])?;
    let bin = root.join("target/release/greenlight");
    let bench_dir = root.join("target/bench");
    let work = bench_dir.join("work");
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work)?;
    let fixture = root.join("fixtures/bench-service");
    let path = setup::path_with_tools();

    // The checks that apply to the fixture, and their runbook commands.
    let probe = copy_fixture(&fixture, &work.join("probe"))?;
    let checks = enabled_checks(&bin, &probe, &path)?;
    let runbook: Vec<(&str, &str)> =
        checks.iter().filter_map(|check| runbook_command(check).map(|c| (check.as_str(), c))).collect();
    eprintln!("xtask bench: checks {}; {reps} repetitions", checks.join(", "));
    let sequential =
        runbook.iter().map(|(_, command)| format!("{command} >/dev/null 2>&1")).collect::<Vec<_>>().join("\n");
    let parallel =
        runbook.iter().map(|(_, command)| format!("( {command} ) >/dev/null 2>&1 &")).collect::<Vec<_>>().join("\n")
            + "\nwait";
    let check_args: Vec<String> = checks.clone();

    let shell = move |script: String| -> MakeCommand {
        Box::new(move |dir: &Path| {
            let mut command = Command::new("bash");
            command.args(["-c", &format!("set +e\n{script}\nexit 0")]).current_dir(dir);
            command
        })
    };
    // greenlight audits against the advisory database offline (no vulnerability service is
    // assumed); the runbook's pip-audit asks its service, as a person's would.
    let advisory_db = advisory_snapshot().unwrap_or_else(|| project_root().join("fixtures/advisory-db"));
    let greenlight = |extra: &'static [&'static str], checks: Vec<String>| -> MakeCommand {
        let bin = bin.clone();
        let advisory_db = advisory_db.clone();
        Box::new(move |dir: &Path| {
            let mut command = Command::new(&bin);
            command
                .env("GREENLIGHT_ADVISORY_DB", &advisory_db)
                .args(["run", "--no-progress", "-q", "--json", ".greenlight/bench-report.json"])
                .args(&checks)
                .args(extra)
                .current_dir(dir);
            command
        })
    };
    let nothing = || -> Prepare { Box::new(|_| Ok(())) };
    let warm_venv = || -> Prepare {
        Box::new(|dir: &Path| status(Command::new("bash").args(["-c", CREATE_VENV]).current_dir(dir)))
    };

    // A fresh checkout by hand with uv, as a CI job without greenlight runs it.
    let uv_env = "uv venv -q .venv && uv pip install -q --python .venv/bin/python -e '.[dev]'";
    let fast_checks = ["ruff-check", "ruff-format", "pytest"];
    let fast_by_hand = runbook
        .iter()
        .filter(|(check, _)| fast_checks.contains(check))
        .map(|(_, command)| format!("{command} >/dev/null 2>&1"))
        .collect::<Vec<_>>()
        .join("\n");
    let fast_args: Vec<String> = fast_checks.iter().map(|check| check.to_string()).collect();
    // The edit loop: one test file changes, then the same full run with the result cache.
    let edit_bin = bin.clone();
    let edit_db = advisory_db.clone();
    let edit_checks = check_args.clone();
    let one_file_edit: MakeCommand = Box::new(move |dir: &Path| {
        let mut command = Command::new("bash");
        command
            .args([
                "-c",
                "printf '\\n\\ndef test_edited_%s():\\n    assert True\\n' \"$(date +%s%N)\" >> tests/test_core.py && exec \"$0\" \"$@\"",
            ])
            .arg(&edit_bin)
            .args(["run", "--no-progress", "-q", "--json", ".greenlight/bench-report.json"])
            .args(&edit_checks)
            .env("GREENLIGHT_ADVISORY_DB", &edit_db)
            .current_dir(dir);
        command
    });

    let mut scenarios = vec![
        Scenario {
            name: "by hand with uv, fresh checkout: ruff + pytest",
            prep: Prep::Fresh,
            command: shell(format!("{uv_env} >/dev/null 2>&1\n{fast_by_hand}")),
            setup: nothing(),
            group: "fresh",
        },
        Scenario {
            name: "greenlight fresh checkout: ruff + pytest",
            prep: Prep::Fresh,
            command: greenlight(&["--no-cache"], fast_args.clone()),
            setup: nothing(),
            group: "fresh",
        },
        Scenario {
            name: "by hand with uv, fresh checkout: full set",
            prep: Prep::Fresh,
            command: shell(format!("{uv_env} >/dev/null 2>&1\n{sequential}")),
            setup: nothing(),
            group: "fresh",
        },
        Scenario {
            name: "greenlight one-file edit (a test)",
            prep: Prep::Warm,
            command: one_file_edit,
            setup: nothing(),
            group: "edit",
        },
        Scenario {
            name: "baseline: sequential, pip environment (cold)",
            prep: Prep::Fresh,
            command: shell(format!("{CREATE_VENV} >/dev/null 2>&1\n{sequential}")),
            setup: nothing(),
            group: "cold",
        },
        Scenario {
            name: "baseline: sequential (warm)",
            prep: Prep::Warm,
            command: shell(sequential.clone()),
            setup: warm_venv(),
            group: "warm",
        },
        Scenario {
            name: "baseline: all at once in the shell (warm)",
            prep: Prep::Warm,
            command: shell(parallel),
            setup: warm_venv(),
            group: "warm",
        },
        Scenario {
            name: "greenlight cold",
            prep: Prep::Fresh,
            command: greenlight(&["--no-cache"], check_args.clone()),
            setup: nothing(),
            group: "cold",
        },
        Scenario {
            name: "greenlight warm",
            prep: Prep::Warm,
            command: greenlight(&["--no-cache"], check_args.clone()),
            setup: nothing(),
            group: "warm",
        },
        Scenario {
            name: "greenlight unchanged re-run",
            prep: Prep::Warm,
            command: greenlight(&[], check_args.clone()),
            // The default configuration: every check keyed on its inputs (the build on its
            // backend's resolved versions).
            setup: Box::new(|_: &Path| Ok(())),
            group: "rerun",
        },
        Scenario {
            name: "greenlight cold, pip environment",
            prep: Prep::Fresh,
            command: greenlight(&["--no-cache"], check_args.clone()),
            setup: Box::new(|dir: &Path| append_config(dir, "[tool.greenlight.environment]\ninstaller = \"pip\"\n")),
            group: "cold",
        },
        Scenario {
            name: "pytest by hand (warm)",
            prep: Prep::Warm,
            command: shell(".venv/bin/pytest -q -p no:cacheprovider >/dev/null 2>&1".to_string()),
            setup: warm_venv(),
            group: "pytest",
        },
        Scenario {
            name: "greenlight run pytest (warm)",
            prep: Prep::Warm,
            command: greenlight(&["--no-cache"], vec!["pytest".into()]),
            setup: nothing(),
            group: "pytest",
        },
        Scenario {
            name: "overhead: trivial checks",
            prep: Prep::Warm,
            command: greenlight(&["--no-cache"], vec!["ruff-check".into(), "ruff-format".into(), "pytest".into()]),
            setup: Box::new(|dir: &Path| trivial_tools(dir, None, None)),
            group: "overhead",
        },
    ];
    // The peers users would pick instead, on the same tools, beside greenlight on them.
    scenarios.push(Scenario {
        name: peers::GREENLIGHT,
        prep: Prep::Warm,
        command: greenlight(&["--no-cache"], peers::CHECKS.iter().map(|check| check.to_string()).collect()),
        setup: nothing(),
        group: "peers",
    });
    scenarios.extend(peers::scenarios());
    let bisect_bin = bin.clone();
    scenarios.extend(bisect::scenarios(Box::new(move |dir: &Path| {
        let mut command = Command::new(&bisect_bin);
        command.args(["bisect", "--good", "good", "--bad", "bad", "--check", "pytest", "--no-progress", "-q"]);
        command.current_dir(dir);
        command
    })));
    // Each check alone, for the floor.
    for check in &checks {
        let name: &'static str = Box::leak(format!("alone: {check}").into_boxed_str());
        scenarios.push(Scenario {
            name,
            prep: Prep::Warm,
            command: greenlight(&["--no-cache"], vec![check.clone()]),
            setup: nothing(),
            group: "floor",
        });
    }
    let scale_bench = bench_dir.join("scale");
    std::fs::create_dir_all(&scale_bench)?;
    for (name, count) in [("scale: 10,000 ruff findings", 10_000usize), ("scale: 100,000 ruff findings", 100_000)] {
        let data = scale_bench.join(format!("ruff-{count}.json"));
        std::fs::write(&data, ruff_findings(count))?;
        scenarios.push(Scenario {
            name,
            prep: Prep::Warm,
            command: greenlight(&["--no-cache"], vec!["ruff-check".into()]),
            setup: Box::new(move |dir: &Path| trivial_tools(dir, Some(&data), None)),
            group: "scale",
        });
    }
    let junit = scale_bench.join("pytest-10000.xml");
    std::fs::write(&junit, pytest_cases(10_000))?;
    scenarios.push(Scenario {
        name: "scale: 10,000 pytest cases",
        prep: Prep::Warm,
        command: greenlight(&["--no-cache"], vec!["pytest".into()]),
        setup: Box::new(move |dir: &Path| trivial_tools(dir, None, Some(&junit))),
        group: "scale",
    });

    // Warm copies: prepared once (untimed).
    let mut dirs: Vec<Option<PathBuf>> = Vec::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        if scenario.prep == Prep::Warm {
            let dir = copy_fixture(&fixture, &work.join(format!("warm-{index}")))?;
            (scenario.setup)(&dir)?;
            let mut command = (scenario.command)(&dir);
            command.env("PATH", &path).env("GREENLIGHT_CACHE_DIR", bench_dir.join("cache"));
            measure(&mut command)?;
            dirs.push(Some(dir));
        } else {
            dirs.push(None);
        }
    }

    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); scenarios.len()];
    let mut reports: Vec<Vec<Value>> = vec![Vec::new(); scenarios.len()];
    for rep in 0..reps {
        for (index, scenario) in scenarios.iter().enumerate() {
            let dir = match &dirs[index] {
                Some(dir) => dir.clone(),
                None => {
                    let dir = copy_fixture(&fixture, &work.join(format!("fresh-{index}-{rep}")))?;
                    (scenario.setup)(&dir)?;
                    dir
                }
            };
            let mut command = (scenario.command)(&dir);
            command.env("PATH", &path).env("GREENLIGHT_CACHE_DIR", bench_dir.join("cache"));
            let sample = measure(&mut command)?;
            eprintln!("  [{}/{reps}] {:<48} {:>8.3} s", rep + 1, scenario.name, sample.wall);
            if let Ok(text) = std::fs::read_to_string(dir.join(".greenlight/bench-report.json")) {
                reports[index].push(serde_json::from_str(&text).unwrap_or(Value::Null));
            }
            samples[index].push(sample);
        }
    }

    let median = |values: &mut Vec<f64>| -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let mut medians = BTreeMap::new();
    let mut table = String::new();
    let _ = writeln!(table, "\n{:<48} {:>9} {:>9} {:>9} {:>10}", "scenario", "median s", "min s", "max s", "peak MiB");
    let mut json_scenarios = serde_json::Map::new();
    for (index, scenario) in scenarios.iter().enumerate() {
        let mut walls: Vec<f64> = samples[index].iter().map(|s| s.wall).collect();
        let med = median(&mut walls);
        let peak = samples[index].iter().map(|s| s.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        let _ = writeln!(
            table,
            "{:<48} {:>9.3} {:>9.3} {:>9.3} {:>10.1}",
            scenario.name,
            med,
            walls[0],
            walls[walls.len() - 1],
            peak
        );
        medians.insert(scenario.name, (med, peak));
        json_scenarios.insert(
            scenario.name.to_string(),
            json!({
                "group": scenario.group,
                "median_s": med,
                "peak_rss_mib": peak,
                "samples": samples[index].iter().map(|s| json!({"wall_s": s.wall, "cpu_s": s.cpu, "max_rss_kib": s.max_rss_kib, "exit_code": s.code})).collect::<Vec<_>>(),
            }),
        );
    }

    // Median duration of one node across a scenario's reports.
    let node_seconds = |scenario: &str, node: &str| -> f64 {
        let Some(index) = scenarios.iter().position(|s| s.name == scenario) else { return f64::NAN };
        let mut values: Vec<f64> = reports[index]
            .iter()
            .filter_map(|report| report["checks"].as_array()?.iter().find(|c| c["id"] == node)?["duration_ms"].as_f64())
            .map(|ms| ms / 1000.0)
            .collect();
        if values.is_empty() { f64::NAN } else { median(&mut values) }
    };
    // The floor of a warm run: the longest check *run alone* (no contention inflating it), or
    // the run's total CPU time over the cores, whichever is larger; the measure is the median
    // of each warm run's wall time over its own floor. It can fail: contention, waiting and
    // overhead all show above 1.
    let warm_index = scenarios.iter().position(|s| s.name == "greenlight warm").expect("scenario exists");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    let longest_alone = checks.iter().map(|check| node_seconds(&format!("alone: {check}"), check)).fold(0.0, f64::max);
    let mut longests = Vec::new();
    let mut floors = Vec::new();
    let mut floor_ratios = Vec::new();
    for sample in &samples[warm_index] {
        let longest = longest_alone;
        let floor = longest.max(sample.cpu / cores);
        longests.push(longest);
        floors.push(floor);
        floor_ratios.push(sample.wall / floor);
    }
    let (longest, floor, floor_ratio) = if floors.is_empty() {
        (f64::NAN, f64::NAN, f64::NAN)
    } else {
        (median(&mut longests), median(&mut floors), median(&mut floor_ratios))
    };

    let env_uv = node_seconds("greenlight cold", "environment");
    let env_pip = node_seconds("greenlight cold, pip environment", "environment");
    let get = |name: &str| medians.get(name).map_or(f64::NAN, |(m, _)| *m);
    let peak = |name: &str| medians.get(name).map_or(f64::NAN, |(_, p)| *p);
    let warm = get("greenlight warm");
    let rerun = get("greenlight unchanged re-run");
    let ratios = vec![
        (
            "fresh checkout, ruff + pytest: greenlight / by hand with uv",
            get("greenlight fresh checkout: ruff + pytest") / get("by hand with uv, fresh checkout: ruff + pytest"),
            0.8,
            true,
        ),
        (
            "fresh checkout, full set: greenlight / by hand with uv",
            get("greenlight cold") / get("by hand with uv, fresh checkout: full set"),
            0.6,
            true,
        ),
        ("one-file edit / greenlight warm full run", get("greenlight one-file edit (a test)") / warm, f64::NAN, true),
        ("greenlight warm / baseline sequential (warm)", warm / get("baseline: sequential (warm)"), 0.5, true),
        ("greenlight warm / physical floor", floor_ratio, 1.15, true),
        ("bisect over pytest: greenlight / git bisect run", get(bisect::GREENLIGHT) / get(bisect::BY_HAND), 0.7, true),
        ("ruff + pytest warm: greenlight / prek", get(peers::GREENLIGHT) / get(peers::PREK), f64::NAN, true),
        ("ruff + pytest warm: greenlight / lefthook", get(peers::GREENLIGHT) / get(peers::LEFTHOOK), f64::NAN, true),
        (
            "greenlight warm / baseline all at once (warm)",
            warm / get("baseline: all at once in the shell (warm)"),
            f64::NAN,
            true,
        ),
        (
            "greenlight cold / baseline sequential, pip env (cold)",
            get("greenlight cold") / get("baseline: sequential, pip environment (cold)"),
            0.35,
            true,
        ),
        ("environment created with uv, seconds", env_uv, f64::NAN, true),
        ("environment created with pip, seconds", env_pip, f64::NAN, true),
        ("environment with uv / with pip (cold creation)", env_uv / env_pip, f64::NAN, true),
        (
            "greenlight run pytest / pytest by hand (warm)",
            get("greenlight run pytest (warm)") / get("pytest by hand (warm)"),
            f64::NAN,
            true,
        ),
        (
            "greenlight pytest overhead over pytest by hand, seconds",
            get("greenlight run pytest (warm)") - get("pytest by hand (warm)"),
            f64::NAN,
            true,
        ),
        ("unchanged re-run, seconds", rerun, 0.1, true),
        ("greenlight warm / unchanged re-run (speed-up)", warm / rerun, 20.0, false),
        ("overhead with trivial checks, seconds", get("overhead: trivial checks"), 0.05, true),
        ("overhead peak memory, MiB", peak("overhead: trivial checks"), 20.0, true),
        (
            "100k / 10k ruff findings (linear ≈ 10)",
            get("scale: 100,000 ruff findings") / get("scale: 10,000 ruff findings"),
            f64::NAN,
            true,
        ),
        ("100,000 ruff findings, seconds", get("scale: 100,000 ruff findings"), 1.0, true),
    ];
    let advisory = advisory_database(reps)?;
    let mut ratios = ratios;
    ratios.extend([
        ("advisory database: load + service queries, no cache, seconds", advisory.cold_total, 1.0, true),
        ("advisory database: load + service queries, cached, seconds", advisory.cached_total, 0.25, true),
    ]);
    let _ = writeln!(
        table,
        "\nfloor of a warm run (median): {floor:.3} s = max(longest check run alone {longest:.3} s, the warm run's CPU time / {cores} cores)"
    );
    let _ = writeln!(table, "advisory database: {}\n", advisory.description);
    let _ = writeln!(table, "{:<56} {:>9} {:>8}  result", "measure", "value", "target");
    let mut json_ratios = serde_json::Map::new();
    for (name, value, target, at_most) in &ratios {
        let verdict = if target.is_nan() {
            "-"
        } else if (*at_most && value <= target) || (!at_most && value >= target) {
            "met"
        } else {
            "MISSED"
        };
        let target_text =
            if target.is_nan() { "-".to_string() } else { format!("{}{target}", if *at_most { "≤" } else { "≥" }) };
        let _ = writeln!(table, "{name:<56} {value:>9.3} {target_text:>8}  {verdict}");
        json_ratios.insert(name.to_string(), json!({"value": value, "target": if target.is_nan() { Value::Null } else { json!(target) }, "at_most": at_most, "result": verdict}));
    }
    print!("{table}");
    let result = json!({
        "reps": reps,
        "cores": cores,
        "checks": checks,
        "floor_s": floor,
        "scenarios": json_scenarios,
        "measures": json_ratios,
        "advisory_database": advisory.samples,
    });
    std::fs::write(bench_dir.join("bench.json"), serde_json::to_string_pretty(&result)?)?;
    eprintln!("wrote {}", bench_dir.join("bench.json").display());
    Ok(())
}

/// The offline advisory database of the pip-audit check: load time and the queries of a
/// ~40-dependency service, without and with the parsed-record cache (medians).
struct AdvisoryBench {
    cold_total: f64,
    cached_total: f64,
    description: String,
    samples: Vec<Value>,
}

fn advisory_database(reps: usize) -> Result<AdvisoryBench> {
    let root = project_root();
    let (db, which) = match advisory_snapshot() {
        Some(db) => (db, "the full snapshot"),
        None => (
            root.join("fixtures/advisory-db"),
            "the fixtures' records only (set GREENLIGHT_ADVISORY_DB to a full snapshot)",
        ),
    };
    status(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).current_dir(&root).args([
        "build",
        "--release",
        "--quiet",
        "--package",
        "greenlight-plugin-pip-audit",
        "--example",
        "advisory_db",
    ]))?;
    let example = root.join("target/release/examples/advisory_db");
    let mut samples = Vec::new();
    for _ in 0..reps.max(1) {
        let output =
            Command::new(&example).arg("bench").arg(&db).arg("--json").output().context("advisory_db bench")?;
        if !output.status.success() {
            bail!("advisory_db bench failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let last = stdout.lines().last().unwrap_or_default();
        samples.push(serde_json::from_str::<Value>(last).context("advisory_db bench --json")?);
    }
    let median = |key: &[&str]| -> f64 {
        let mut values: Vec<f64> =
            samples.iter().map(|sample| key.iter().map(|k| sample[*k].as_f64().unwrap_or(f64::NAN)).sum()).collect();
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let cold_total = median(&["load_cold_s", "queries_s", "http_queries_s"]);
    let cached_total = median(&["load_cached_s", "queries_s", "http_queries_s"]);
    let first = &samples[0];
    let description = format!(
        "{} ({} advisories in {} files; {}); {} queries; load {:.3} s cold (CPU {:.3} s), {:.3} s cached; queries over HTTP {:.3} s",
        db.display(),
        first["advisories"],
        first["files"],
        which,
        first["queries"],
        median(&["load_cold_s"]),
        median(&["load_cold_cpu_s"]),
        median(&["load_cached_s"]),
        median(&["http_queries_s"]),
    );
    Ok(AdvisoryBench { cold_total, cached_total, description, samples })
}

/// The full advisory database: `GREENLIGHT_ADVISORY_DB`, else `shared/advisory-database` beside
/// the repository or above it (as `.ci/run` looks for it).
fn advisory_snapshot() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("GREENLIGHT_ADVISORY_DB").filter(|path| !path.is_empty()) {
        return Some(PathBuf::from(path));
    }
    project_root()
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/advisory-database"))
        .find(|dir| dir.join("vulns").is_dir())
}

/// Copies the fixture into `to` (fresh) and makes it a git repository with one commit.
fn copy_fixture(from: &Path, to: &Path) -> Result<PathBuf> {
    let _ = std::fs::remove_dir_all(to);
    status(Command::new("cp").arg("-r").arg(from).arg(to))?;
    let _ = std::fs::remove_file(to.join("expected.toml"));
    std::fs::write(to.join(".gitignore"), ".venv/\n.greenlight/\ndist/\nbuild/\n*.egg-info/\n")?;
    let git = |args: &[&str]| {
        status(
            Command::new("git")
                .args(args)
                .current_dir(to)
                .env("GIT_AUTHOR_NAME", "Bench")
                .env("GIT_AUTHOR_EMAIL", "bench@example.com")
                .env("GIT_COMMITTER_NAME", "Bench")
                .env("GIT_COMMITTER_EMAIL", "bench@example.com")
                .stdout(std::process::Stdio::null()),
        )
    };
    git(&["init", "-q", "-b", "main"])?;
    git(&["add", "-A"])?;
    git(&["commit", "-q", "-m", "bench service"])?;
    Ok(to.to_path_buf())
}

fn enabled_checks(bin: &Path, dir: &Path, path: &str) -> Result<Vec<String>> {
    let output =
        Command::new(bin).arg("list").current_dir(dir).env("PATH", path).output().context("greenlight list")?;
    if !output.status.success() {
        bail!("greenlight list failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            line.trim_start().strip_prefix("on ").map(|rest| rest.split_whitespace().next().unwrap_or("").to_string())
        })
        .filter(|check| !check.is_empty())
        .collect())
}

/// Replaces ruff and pytest with trivial scripts (that print `ruff_json` / copy `junit` when
/// given) and turns the project environment off.
fn trivial_tools(dir: &Path, ruff_json: Option<&Path>, junit: Option<&Path>) -> Result<()> {
    let bin = dir.join(".bench-bin");
    std::fs::create_dir_all(&bin)?;
    let ruff_out = match ruff_json {
        Some(path) => format!("cat '{}'", path.display()),
        None => "echo '[]'".to_string(),
    };
    let ruff = format!(
        "#!/bin/sh\nout=\"\"; prev=\"\"\nfor a in \"$@\"; do [ \"$prev\" = \"--output-file\" ] && out=\"$a\"; prev=\"$a\"; done\nif [ -n \"$out\" ]; then {ruff_out} > \"$out\"; else echo '[]'; fi\n"
    );
    let cases = match junit {
        Some(path) => format!("cat '{}'", path.display()),
        None => "echo '<testsuites><testsuite name=\"pytest\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\"><testcase classname=\"t\" name=\"t\" time=\"0\"/></testsuite></testsuites>'".to_string(),
    };
    let pytest = format!(
        "#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in --junitxml=*) f=\"${{a#--junitxml=}}\";; esac; done\n[ -n \"$f\" ] && {cases} > \"$f\"\nexit 0\n"
    );
    for (name, script) in [("ruff", ruff), ("pytest", pytest)] {
        let path = bin.join(name);
        std::fs::write(&path, script)?;
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755))?;
    }
    std::fs::write(
        dir.join("greenlight.toml"),
        "[environment]\nenabled = false\n\n[tools]\nruff = { path = \".bench-bin/ruff\" }\npytest = { path = \".bench-bin/pytest\" }\n",
    )?;
    Ok(())
}

/// A ruff JSON report with `count` findings over 100 files, in ruff's order (by file, then
/// position).
fn ruff_findings(count: usize) -> String {
    let mut out = String::from("[");
    for index in 0..count {
        if index > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"cell\":null,\"code\":\"F401\",\"end_location\":{{\"column\":10,\"row\":{row}}},\"filename\":\"/bench/packages/module_{file:03}.py\",\"fix\":{{\"applicability\":\"safe\",\"edits\":[],\"message\":\"Remove unused import\"}},\"location\":{{\"column\":8,\"row\":{row}}},\"message\":\"`os` imported but unused\",\"name\":\"unused-import\",\"noqa_row\":{row},\"severity\":\"error\",\"url\":\"https://docs.astral.sh/ruff/rules/unused-import\"}}",
            row = index % (count / 100).max(1) + 1,
            file = index / (count / 100).max(1)
        );
    }
    out.push(']');
    out
}

/// A pytest JUnit report with `count` cases, one in ten failing.
fn pytest_cases(count: usize) -> String {
    let failures = count / 10;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><testsuites name=\"pytest tests\"><testsuite name=\"pytest\" errors=\"0\" failures=\"{failures}\" skipped=\"0\" tests=\"{count}\" time=\"1.0\">"
    );
    for index in 0..count {
        let file = index % 50;
        let _ = write!(
            out,
            "<testcase classname=\"tests.test_m{file}\" name=\"test_{index}\" file=\"tests/test_m{file}.py\" line=\"{index}\" time=\"0.001\""
        );
        if index % 10 == 0 {
            let _ = write!(
                out,
                "><failure message=\"assert {index} == 0\">def test_{index}():\n&gt;       assert {index} == 0\nE       assert {index} == 0\ntests/test_m{file}.py:{}: AssertionError</failure></testcase>",
                index + 2
            );
        } else {
            out.push_str("/>");
        }
    }
    out.push_str("</testsuite></testsuites>");
    out
}

/// Runs `command` to completion and measures wall time, CPU time (user + system of it and its
/// descendants) and peak memory (the largest of them).
///
/// The measuring is done by a fresh, small `xtask __measure` process: a child forked from this
/// (large) process would count this process's memory as its own peak until it execs.
fn measure(command: &mut Command) -> Result<Sample> {
    let mut wrapper = Command::new(std::env::current_exe()?);
    wrapper.arg("__measure").arg(command.get_program()).args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        wrapper.current_dir(dir);
    }
    for (name, value) in command.get_envs() {
        match value {
            Some(value) => wrapper.env(name, value),
            None => wrapper.env_remove(name),
        };
    }
    let output = wrapper.stdin(std::process::Stdio::null()).stderr(std::process::Stdio::inherit()).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let fields: Vec<f64> = text.split_whitespace().filter_map(|field| field.parse().ok()).collect();
    let [wall, cpu, rss, code] = fields[..] else { bail!("xtask __measure printed {text:?}") };
    Ok(Sample { wall, cpu, max_rss_kib: rss as i64, code: code as i32 })
}

/// `xtask __measure PROGRAM ARGS...`: runs the program with its output discarded and prints
/// `wall_seconds cpu_seconds max_rss_kib exit_code`.
pub fn measure_child(args: &[String]) -> Result<()> {
    let (program, rest) = args.split_first().context("__measure needs a program")?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(rest)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("cannot run {program}"))?;
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: a zeroed rusage is a valid value to be filled in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not yet waited for; status and usage are valid pointers.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed().as_secs_f64();
    if waited != pid {
        bail!("wait4 failed for {program}");
    }
    std::mem::forget(child);
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    let code = if libc::WIFEXITED(status) { libc::WEXITSTATUS(status) } else { -1 };
    println!("{wall} {} {} {code}", seconds(usage.ru_utime) + seconds(usage.ru_stime), usage.ru_maxrss);
    Ok(())
}
