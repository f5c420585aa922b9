//! pytest's share of the test files under `--partition K/N`.
//!
//! The test files (`test_*.py`, `*_test.py` under the configured paths, else pytest's
//! `testpaths`, else the whole project) are spread over the N shards longest first
//! ([`greenlight_checker::partition::assign`]), each weighing its recorded duration from
//! `.test_durations` at the project root (pytest-split's file: a JSON map from test id to
//! seconds; a file's tests summed) or, without one, its size (a stand-in for how many tests it
//! holds). Every shard sees the same files and the same durations, so each file runs in exactly
//! one shard.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use greenlight_checker::Partition;

/// pytest-split's durations file, at the project root.
pub const DURATIONS_FILE: &str = ".test_durations";

/// True for a file pytest collects by default.
fn is_test_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|name| name.to_str()).unwrap_or_default();
    name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py"))
}

/// The test paths: `paths` when configured, else `[tool.pytest.ini_options] testpaths`.
pub fn test_roots(paths: &[String], pyproject_text: Option<&str>) -> Vec<String> {
    if !paths.is_empty() {
        return paths.to_vec();
    }
    let configured = pyproject_text.and_then(|text| {
        let table: toml::Table = toml::from_str(text).ok()?;
        let testpaths = table.get("tool")?.get("pytest")?.get("ini_options")?.get("testpaths")?;
        Some(match testpaths {
            toml::Value::Array(items) => items.iter().filter_map(|item| item.as_str().map(str::to_string)).collect(),
            toml::Value::String(text) => text.split_whitespace().map(str::to_string).collect(),
            _ => Vec::new(),
        })
    });
    configured.unwrap_or_default()
}

/// Seconds per test file from pytest-split's durations (`tests/test_a.py::test_x` → 0.2).
pub fn file_durations(json: &str) -> BTreeMap<String, f64> {
    let mut files = BTreeMap::new();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(json) {
        for (test, seconds) in map {
            let file = test.split("::").next().unwrap_or_default().to_string();
            *files.entry(file).or_insert(0.0) += seconds.as_f64().unwrap_or(0.0);
        }
    }
    files
}

/// The test files of shard `partition` among `listed` (relative paths), in path order.
/// `size` gives a file's size, the weight of a file without recorded durations (scaled so
/// that a file of the average size weighs the average recorded duration).
pub fn share(
    listed: &[PathBuf],
    roots: &[String],
    durations: &BTreeMap<String, f64>,
    size: impl Fn(&Path) -> u64,
    partition: Partition,
) -> Vec<String> {
    let under_roots = |path: &Path| {
        roots.is_empty()
            || roots.iter().any(|root| {
                let root = root.trim_start_matches("./").trim_end_matches('/');
                root.is_empty() || root == "." || path.starts_with(root)
            })
    };
    let mut files: Vec<&PathBuf> = listed.iter().filter(|path| is_test_file(path) && under_roots(path)).collect();
    files.sort();
    let names: Vec<String> = files.iter().map(|path| path.to_string_lossy().replace('\\', "/")).collect();
    let sizes: Vec<f64> = files.iter().map(|path| size(path) as f64).collect();
    let known: Vec<f64> = names.iter().filter_map(|name| durations.get(name).copied()).collect();
    let per_byte = if known.is_empty() {
        1.0
    } else {
        let known_sizes: f64 =
            names.iter().zip(&sizes).filter(|(name, _)| durations.contains_key(*name)).map(|(_, size)| size).sum();
        known.iter().sum::<f64>() / known_sizes.max(1.0)
    };
    let weights: Vec<f64> =
        names.iter().zip(&sizes).map(|(name, size)| durations.get(name).copied().unwrap_or(size * per_byte)).collect();
    let mut loads = vec![0.0; partition.count];
    let shards = greenlight_checker::partition::assign(&weights, &mut loads);
    names.into_iter().zip(shards).filter(|(_, shard)| partition.is_mine(*shard)).map(|(name, _)| name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listed() -> Vec<PathBuf> {
        ["tests/test_a.py", "tests/test_b.py", "tests/test_c.py", "tests/conftest.py", "app/main.py", "other/x_test.py"]
            .iter()
            .map(PathBuf::from)
            .collect()
    }

    #[test]
    fn every_test_file_runs_in_exactly_one_shard() {
        let durations = file_durations(
            r#"{"tests/test_a.py::test_1": 3.0, "tests/test_a.py::test_2": 1.0, "tests/test_b.py::test_1": 2.0, "tests/test_c.py::t": 2.0}"#,
        );
        assert_eq!(durations["tests/test_a.py"], 4.0);
        let roots = vec!["tests".to_string()];
        let shard = |index| share(&listed(), &roots, &durations, |_| 100, Partition { index, count: 2 });
        assert_eq!(shard(1), ["tests/test_a.py"]);
        assert_eq!(shard(2), ["tests/test_b.py", "tests/test_c.py"]);
        // Without roots, every test file of the project.
        let all = |index| share(&listed(), &[], &BTreeMap::new(), |_| 100, Partition { index, count: 2 });
        let mut together = [all(1), all(2)].concat();
        together.sort();
        assert_eq!(together, ["other/x_test.py", "tests/test_a.py", "tests/test_b.py", "tests/test_c.py"]);
    }

    #[test]
    fn test_roots_come_from_the_options_or_pytests_configuration() {
        let text = "[tool.pytest.ini_options]\ntestpaths = [\"tests\", \"integration\"]\n";
        assert_eq!(test_roots(&[], Some(text)), ["tests", "integration"]);
        assert_eq!(test_roots(&["unit".to_string()], Some(text)), ["unit"]);
        assert!(test_roots(&[], None).is_empty());
    }
}
