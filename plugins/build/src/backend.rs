//! The build backend's resolved versions, for the result cache.
//!
//! `python -m build` installs `[build-system].requires` from the package index into an
//! isolated environment, so a new backend release can change the verdict. Rather than never
//! caching the check, its key holds what those requirements resolve to today: uv resolves
//! them (`uv pip compile`, metadata only, nothing is built or installed) and the answer is
//! kept in the state directory (`.greenlight/build-backend/`) for [`RESOLUTION_TTL`], so an
//! unchanged re-run asks nothing of the index and replays; once the resolution is renewed, a
//! new backend release changes the key and the build runs again. Without uv, or when the
//! index cannot answer, there is no key and the check runs.

use std::path::Path;
use std::time::{Duration, SystemTime};

use greenlight_checker::CheckContext;
use sha2::{Digest, Sha256};

/// How long a resolution of the backend's requirements is kept before it is asked again.
pub const RESOLUTION_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// What `build` installs when the project declares no `[build-system]` (PEP 517's default).
const DEFAULT_REQUIRES: &[&str] = &["setuptools>=40.8.0"];

/// `[build-system].requires` of `pyproject_text`, or the PEP 517 default.
pub fn requires(pyproject_text: Option<&str>) -> Vec<String> {
    let declared = pyproject_text.and_then(|text| {
        let table: toml::Table = toml::from_str(text).ok()?;
        let requires = table.get("build-system")?.get("requires")?.as_array()?;
        Some(requires.iter().filter_map(|value| value.as_str().map(str::to_string)).collect::<Vec<_>>())
    });
    declared.unwrap_or_else(|| DEFAULT_REQUIRES.iter().map(|r| r.to_string()).collect())
}

/// The pinned versions (`setuptools==80.9.0`, one a line) that `requires` resolve to, from
/// the kept resolution when it is younger than [`RESOLUTION_TTL`], else asked of the index
/// with `uv`; `None` when it cannot be had. `index` is what selects the index (its
/// variables' values), part of the kept resolution's name.
pub async fn resolved(cx: &CheckContext, uv: &Path, requires: &[String], index: &str) -> Option<String> {
    let mut hasher = Sha256::new();
    hasher.update(requires.join("\n").as_bytes());
    hasher.update([0]);
    hasher.update(index.as_bytes());
    let name: String = hasher.finalize()[..12].iter().map(|byte| format!("{byte:02x}")).collect();
    let kept = cx.state_dir.join("build-backend").join(format!("{name}.txt"));
    let fresh = std::fs::metadata(&kept)
        .and_then(|meta| meta.modified())
        .ok()
        .and_then(|modified| SystemTime::now().duration_since(modified).ok())
        .is_some_and(|age| age < RESOLUTION_TTL);
    if fresh && let Ok(text) = std::fs::read_to_string(&kept) {
        return Some(text);
    }
    let compile = cx
        .cmd(uv)
        .args(["pip", "compile", "-", "--quiet", "--no-header", "--no-annotate"])
        .stdin_bytes(requires.join("\n").into_bytes())
        .timeout(Duration::from_secs(120));
    let output = compile.run(&cx.stop).await.ok()?;
    if !output.status.success() {
        cx.log().line(&format!(
            "greenlight: the build backend's requirements could not be resolved (`{}`), so the result is not cached",
            compile.display()
        ));
        return None;
    }
    let pins: Vec<String> = output
        .stdout
        .text()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_string)
        .collect();
    let text = pins.join("\n");
    if let Some(dir) = kept.parent() {
        let _ = std::fs::create_dir_all(dir);
        let temp = kept.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&temp, &text).is_ok() {
            let _ = std::fs::rename(&temp, &kept);
        }
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_come_from_the_build_system_table_or_the_default() {
        let text =
            "[build-system]\nrequires = [\"hatchling>=1.20\", \"hatch-vcs\"]\nbuild-backend = \"hatchling.build\"\n";
        assert_eq!(requires(Some(text)), ["hatchling>=1.20", "hatch-vcs"]);
        assert_eq!(requires(Some("[project]\nname = \"x\"\n")), ["setuptools>=40.8.0"]);
        assert_eq!(requires(None), ["setuptools>=40.8.0"]);
    }
}
