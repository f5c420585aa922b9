//! What CI verifies about built distributions: at least one wheel and one sdist, named for the
//! project's name and version, and readable, with metadata that agrees with `pyproject.toml`.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use greenlight_checker::normalize_name;
use regex::Regex;
use sha2::{Digest as _, Sha256};

/// A wheel or an sdist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `*.whl`.
    Wheel,
    /// `*.tar.gz` (or a legacy `*.zip`).
    Sdist,
}

impl Kind {
    /// `wheel` or `sdist`, as the report names artifacts.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Wheel => "wheel",
            Kind::Sdist => "sdist",
        }
    }
}

/// One built file and what it says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dist {
    /// Wheel or sdist.
    pub kind: Kind,
    /// Its path.
    pub path: PathBuf,
    /// Its file name.
    pub file_name: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, hex.
    pub sha256: String,
    /// Name and version from the file name.
    pub name_in_file_name: String,
    /// Version from the file name.
    pub version_in_file_name: String,
    /// `Name:` and `Version:` of its metadata (`*.dist-info/METADATA` or `PKG-INFO`).
    pub metadata: Option<(String, String)>,
}

/// What the project declares (`[project]` of pyproject.toml); `None` where it is dynamic or
/// absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// `[project].name`.
    pub name: Option<String>,
    /// `[project].version`.
    pub version: Option<String>,
}

/// Reads every wheel and sdist in `dir` and checks them against `declared`. Returns the
/// distributions found and the problems, if any (each a sentence).
pub fn verify(dir: &Path, declared: &Declared) -> (Vec<Dist>, Vec<String>) {
    let mut dists = Vec::new();
    let mut problems = Vec::new();
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.flatten().map(|entry| entry.path()).filter(|path| path.is_file()).collect(),
        Err(error) => return (dists, vec![format!("cannot read the output directory {}: {error}", dir.display())]),
    };
    entries.sort();
    for path in entries {
        let file_name = path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
        let kind = if file_name.ends_with(".whl") {
            Kind::Wheel
        } else if file_name.ends_with(".tar.gz") || file_name.ends_with(".zip") {
            Kind::Sdist
        } else {
            continue;
        };
        match read_dist(&path, &file_name, kind) {
            Ok(dist) => dists.push(dist),
            Err(problem) => problems.push(problem.to_string()),
        }
    }
    if !dists.iter().any(|dist| dist.kind == Kind::Wheel) {
        problems.push("the build produced no wheel (*.whl)".to_string());
    }
    if !dists.iter().any(|dist| dist.kind == Kind::Sdist) {
        problems.push("the build produced no sdist (*.tar.gz)".to_string());
    }
    for dist in &dists {
        problems.extend(check_dist(dist, declared));
    }
    (dists, problems)
}

fn check_dist(dist: &Dist, declared: &Declared) -> Vec<String> {
    let mut problems = Vec::new();
    let what = format!("{} `{}`", dist.kind.as_str(), dist.file_name);
    let Some((meta_name, meta_version)) = &dist.metadata else {
        problems.push(format!("{what} has no readable metadata"));
        return problems;
    };
    if normalize_name(&dist.name_in_file_name) != normalize_name(meta_name) {
        problems
            .push(format!("{what} is named `{}` but its metadata says `Name: {meta_name}`", dist.name_in_file_name));
    }
    if !same_version(&dist.version_in_file_name, meta_version) {
        problems.push(format!(
            "{what} has version `{}` in its file name but its metadata says `Version: {meta_version}`",
            dist.version_in_file_name
        ));
    }
    if let Some(name) = &declared.name
        && normalize_name(name) != normalize_name(meta_name)
    {
        problems.push(format!("{what} is for `{meta_name}`, but pyproject.toml declares `name = \"{name}\"`"));
    }
    if let Some(version) = &declared.version
        && !same_version(version, meta_version)
    {
        problems.push(format!(
            "{what} has version `{meta_version}`, but pyproject.toml declares `version = \"{version}\"`"
        ));
    }
    problems
}

/// A built file that cannot be verified.
#[derive(Debug, thiserror::Error)]
enum DistError {
    #[error("cannot read `{file_name}`: {error}")]
    Read { file_name: String, error: std::io::Error },
    #[error("`{file_name}` is not a valid {kind} file name")]
    FileName { file_name: String, kind: &'static str },
    #[error("{kind} `{file_name}` cannot be read: {error}")]
    Archive { file_name: String, kind: &'static str, error: ArchiveError },
}

/// What is wrong inside an archive.
#[derive(Debug, thiserror::Error)]
enum ArchiveError {
    #[error("{0}")]
    Zip(#[from] zip::result::ZipError),
    #[error("{path}: {error}")]
    Entry { path: String, error: std::io::Error },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("it has no {0}")]
    Missing(&'static str),
    #[error("a zip sdist (not read)")]
    ZipSdist,
}

fn read_dist(path: &Path, file_name: &str, kind: Kind) -> Result<Dist, DistError> {
    let bytes = std::fs::read(path).map_err(|error| DistError::Read { file_name: file_name.to_string(), error })?;
    let sha256 = hex(&Sha256::digest(&bytes));
    let (name_in_file_name, version_in_file_name) = match kind {
        Kind::Wheel => parse_wheel_name(file_name),
        Kind::Sdist => parse_sdist_name(file_name),
    }
    .ok_or_else(|| DistError::FileName { file_name: file_name.to_string(), kind: kind.as_str() })?;
    let metadata = match kind {
        Kind::Wheel => wheel_metadata(&bytes),
        Kind::Sdist if file_name.ends_with(".tar.gz") => sdist_metadata(&bytes),
        Kind::Sdist => Err(ArchiveError::ZipSdist),
    }
    .map_err(|error| DistError::Archive { file_name: file_name.to_string(), kind: kind.as_str(), error })?;
    Ok(Dist {
        kind,
        path: path.to_path_buf(),
        file_name: file_name.to_string(),
        size: bytes.len() as u64,
        sha256,
        name_in_file_name,
        version_in_file_name,
        metadata,
    })
}

/// `{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl` → name and version.
pub fn parse_wheel_name(file_name: &str) -> Option<(String, String)> {
    let stem = file_name.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    if !(parts.len() == 5 || parts.len() == 6) || parts.iter().any(|part| part.is_empty()) {
        return None;
    }
    Some((parts[0].to_string(), parts[1].to_string()))
}

/// `{name}-{version}.tar.gz` → name and version (the version is after the last `-`, so
/// un-normalized names such as `clean-service-0.1.0.tar.gz` from older setuptools parse too).
pub fn parse_sdist_name(file_name: &str) -> Option<(String, String)> {
    let stem = file_name.strip_suffix(".tar.gz").or_else(|| file_name.strip_suffix(".zip"))?;
    let (name, version) = stem.rsplit_once('-')?;
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some((name.to_string(), version.to_string()))
}

/// `Name` and `Version` of the wheel's `*.dist-info/METADATA`.
fn wheel_metadata(bytes: &[u8]) -> Result<Option<(String, String)>, ArchiveError> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
    let name = archive
        .file_names()
        .filter_map(Result::ok)
        .find(|name| {
            let parts: Vec<&str> = name.split('/').collect();
            parts.len() == 2 && parts[0].ends_with(".dist-info") && parts[1] == "METADATA"
        })
        .map(|name| name.into_owned())
        .ok_or(ArchiveError::Missing("*.dist-info/METADATA"))?;
    let mut text = String::new();
    archive
        .by_name(&name)?
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|error| ArchiveError::Entry { path: name.clone(), error })?;
    Ok(metadata_fields(&text))
}

/// `Name` and `Version` of the sdist's top-level `PKG-INFO`.
fn sdist_metadata(bytes: &[u8]) -> Result<Option<(String, String)>, ArchiveError> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        let parts: Vec<&str> = path.trim_start_matches("./").split('/').collect();
        if parts.len() == 2 && parts[1] == "PKG-INFO" {
            let mut text = String::new();
            (&mut entry)
                .take(1 << 20)
                .read_to_string(&mut text)
                .map_err(|error| ArchiveError::Entry { path, error })?;
            return Ok(metadata_fields(&text));
        }
    }
    Err(ArchiveError::Missing("top-level PKG-INFO"))
}

/// `Name:` and `Version:` from core metadata (email-header format, headers end at the first
/// blank line).
pub fn metadata_fields(text: &str) -> Option<(String, String)> {
    let mut name = None;
    let mut version = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            match key.trim().to_ascii_lowercase().as_str() {
                "name" if name.is_none() => name = Some(value.trim().to_string()),
                "version" if version.is_none() => version = Some(value.trim().to_string()),
                _ => {}
            }
        }
    }
    Some((name?, version?))
}

static PEP440: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)^\s*v?
        (?:(?P<epoch>[0-9]+)!)?
        (?P<release>[0-9]+(?:\.[0-9]+)*)
        (?P<pre>[-_.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_.]?(?P<pre_n>[0-9]+)?)?
        (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_.]?(?P<post_l>post|rev|r)[-_.]?(?P<post_n2>[0-9]+)?))?
        (?P<dev>[-_.]?(?P<dev_l>dev)[-_.]?(?P<dev_n>[0-9]+)?)?
        (?:\+(?P<local>[a-z0-9]+(?:[-_.][a-z0-9]+)*))?
        \s*$",
    )
    .expect("the PEP 440 pattern compiles")
});

/// The PEP 440 normal form of `version` with trailing zero release parts dropped (so that
/// equal versions compare equal: `1.0` = `1.0.0`, `1.0-beta` = `1.0b0`), or `None` when it is
/// not a PEP 440 version.
pub fn normalize_version(version: &str) -> Option<String> {
    let captures = PEP440.captures(version)?;
    let number = |name: &str| -> u64 { captures.name(name).and_then(|m| m.as_str().parse().ok()).unwrap_or(0) };
    let mut out = String::new();
    let epoch = number("epoch");
    if epoch != 0 {
        out.push_str(&format!("{epoch}!"));
    }
    let mut release: Vec<u64> = captures["release"].split('.').map(|part| part.parse().unwrap_or(0)).collect();
    while release.len() > 1 && release.last() == Some(&0) {
        release.pop();
    }
    out.push_str(&release.iter().map(u64::to_string).collect::<Vec<_>>().join("."));
    if let Some(label) = captures.name("pre_l") {
        let label = match label.as_str().to_ascii_lowercase().as_str() {
            "alpha" | "a" => "a",
            "beta" | "b" => "b",
            _ => "rc",
        };
        out.push_str(&format!("{label}{}", number("pre_n")));
    }
    if captures.name("post").is_some() {
        out.push_str(&format!(".post{}", number("post_n1").max(number("post_n2"))));
    }
    if captures.name("dev").is_some() {
        out.push_str(&format!(".dev{}", number("dev_n")));
    }
    if let Some(local) = captures.name("local") {
        out.push('+');
        out.push_str(&local.as_str().to_ascii_lowercase().replace(['-', '_'], "."));
    }
    Some(out)
}

/// True when two versions are the same PEP 440 version (or the same text when either is not
/// PEP 440).
pub fn same_version(a: &str, b: &str) -> bool {
    match (normalize_version(a), normalize_version(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a.trim() == b.trim(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
    }

    /// A directory with copies of the recorded artifacts named in `files`.
    fn outdir(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            std::fs::copy(data().join(file), dir.path().join(file)).unwrap();
        }
        dir
    }

    const WHEEL: &str = "clean_service-0.1.0-py3-none-any.whl";
    const SDIST: &str = "clean_service-0.1.0.tar.gz";

    #[test]
    fn recorded_build_verifies() {
        let dir = outdir(&[WHEEL, SDIST]);
        let declared = Declared { name: Some("clean-service".into()), version: Some("0.1.0".into()) };
        let (dists, problems) = verify(dir.path(), &declared);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(dists.len(), 2);
        let wheel = dists.iter().find(|dist| dist.kind == Kind::Wheel).unwrap();
        assert_eq!(wheel.metadata, Some(("clean-service".to_string(), "0.1.0".to_string())));
        assert_eq!(wheel.size, 2845);
        assert_eq!(wheel.sha256.len(), 64);
        let sdist = dists.iter().find(|dist| dist.kind == Kind::Sdist).unwrap();
        assert_eq!(sdist.metadata, Some(("clean-service".to_string(), "0.1.0".to_string())));
    }

    #[test]
    fn mismatches_and_missing_kinds_are_problems() {
        let dir = outdir(&[WHEEL]);
        let declared = Declared { name: Some("other-service".into()), version: Some("0.2".into()) };
        let (_, problems) = verify(dir.path(), &declared);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert_eq!(problems[0], "the build produced no sdist (*.tar.gz)");
        assert!(problems[1].contains("declares `name = \"other-service\"`"), "{problems:?}");
        assert!(problems[2].contains("declares `version = \"0.2\"`"), "{problems:?}");
    }

    #[test]
    fn a_corrupt_wheel_is_a_problem() {
        let dir = outdir(&[SDIST]);
        std::fs::write(dir.path().join(WHEEL), b"not a zip").unwrap();
        let (_, problems) = verify(dir.path(), &Declared::default());
        assert!(problems.iter().any(|p| p.starts_with(&format!("wheel `{WHEEL}` cannot be read"))), "{problems:?}");
        assert!(problems.contains(&"the build produced no wheel (*.whl)".to_string()), "{problems:?}");
    }

    #[test]
    fn file_names() {
        assert_eq!(parse_wheel_name(WHEEL), Some(("clean_service".into(), "0.1.0".into())));
        assert_eq!(
            parse_wheel_name("pkg-1.0-1build-cp311-cp311-manylinux_2_17_x86_64.whl"),
            Some(("pkg".into(), "1.0".into()))
        );
        assert_eq!(parse_wheel_name("pkg-1.0.whl"), None);
        assert_eq!(parse_sdist_name("clean-service-0.1.0.tar.gz"), Some(("clean-service".into(), "0.1.0".into())));
        assert_eq!(parse_sdist_name("noversion.tar.gz"), None);
    }

    #[test]
    fn versions() {
        for (a, b) in [
            ("1.0", "1.0.0"),
            ("1.0-beta", "1.0b0"),
            ("1.0.0-rc.1", "1.0rc1"),
            ("1.0-1", "1.0.post1"),
            ("v2.1.dev3", "2.1.dev3"),
            ("1.0+Local-Build", "1.0+local.build"),
            ("1!2.0", "1!2"),
            ("01.02", "1.2"),
        ] {
            assert!(same_version(a, b), "{a} = {b}");
        }
        assert!(!same_version("1.0", "1.1"));
        assert!(!same_version("1.0a1", "1.0b1"));
        assert_eq!(normalize_version("0.1.0-final-final"), None);
        assert!(same_version("weird", "weird"));
    }

    #[test]
    fn metadata_headers() {
        let text = "Metadata-Version: 2.4\nName: demo-pkg\nVersion: 0.3\n\nName: not-a-header\n";
        assert_eq!(metadata_fields(text), Some(("demo-pkg".into(), "0.3".into())));
        assert_eq!(metadata_fields("Name: x\n"), None);
    }
}
