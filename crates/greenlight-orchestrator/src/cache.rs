//! The result cache: a check whose inputs did not change replays its stored result.
//!
//! The key covers everything a check's verdict depends on:
//! - the content of the project's files the check reads ([`Checker::reads`]: every file
//!   unless it declares less): for a git work tree, the index's blob ids of tracked
//!   files, the content of tracked files that differ from the index, and the content of
//!   untracked files that are not ignored; outside git, the content of every file (build
//!   outputs, caches and environments excluded);
//! - greenlight's configuration text and version;
//! - the resolved path and version of every tool the check runs;
//! - the project environment's key, for checks that run in it;
//! - the values of the environment variables the check declares.
//!
//! [`Checker::reads`]: greenlight_checker::Checker::reads
//!
//! Only `passed` and `failed` results are stored; network-dependent checks only with a
//! configured time to live; nothing with `--fix`. A false hit is a correctness bug: when in
//! doubt, miss.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use greenlight_checker::git::Git;
use greenlight_checker::{Project, Reads, files};
use greenlight_env::{Env, EnvVars};
use greenlight_process::Stop;
use greenlight_report::CheckReport;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Directory of the cache under the project's state directory.
pub const CACHE_DIR: &str = "cache";

/// A fingerprint of the project's files: path → content hash.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ProjectFiles {
    /// Content hash per relative path.
    pub files: BTreeMap<String, String>,
    /// A digest of all of them.
    pub digest: String,
}

impl ProjectFiles {
    /// The files a check reads, with their own digest.
    pub fn only(&self, reads: &Reads) -> ProjectFiles {
        if *reads == Reads::Everything {
            return self.clone();
        }
        let files: BTreeMap<String, String> =
            self.files.iter().filter(|(path, _)| reads.includes(path)).map(|(p, h)| (p.clone(), h.clone())).collect();
        ProjectFiles { digest: digest(&files), files }
    }
}

fn digest(files: &BTreeMap<String, String>) -> String {
    let mut hasher = Sha256::new();
    for (path, hash) in files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update(hash.as_bytes());
        hasher.update([0]);
    }
    hex(&hasher.finalize()[..16])
}

/// Everything that goes into a check's cache key.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyParts {
    /// greenlight's version.
    pub greenlight: String,
    /// The check id.
    pub check: String,
    /// Digest of the project's files.
    pub files: String,
    /// Hash of the configuration text.
    pub config: String,
    /// `name path version` of each tool.
    pub tools: Vec<String>,
    /// The project environment's key, when the check runs in it.
    pub environment: Option<String>,
    /// Declared environment variables and their values (hashed).
    pub vars: BTreeMap<String, String>,
    /// Hash of the state outside the files the check declared ([`Checker::cache_state`]).
    ///
    /// [`Checker::cache_state`]: greenlight_checker::Checker::cache_state
    pub state: String,
}

impl KeyParts {
    /// The cache key: a hash of every part.
    pub fn key(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(&bytes)[..16])
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    created_unix: u64,
    report: CheckReport,
}

#[derive(Debug, Serialize, Deserialize)]
struct Last {
    parts: KeyParts,
}

/// The cache of one project.
#[derive(Debug, Clone)]
pub struct ResultCache {
    dir: PathBuf,
}

impl ResultCache {
    /// The cache under `state_dir` (`.greenlight/`).
    pub fn new(state_dir: &Path) -> Self {
        Self { dir: state_dir.join(CACHE_DIR) }
    }

    /// The stored report for `parts`, if any and not older than `ttl`. The log is copied to
    /// `log_path`.
    pub fn lookup(&self, parts: &KeyParts, ttl: Option<Duration>, log_path: &Path) -> Option<CheckReport> {
        let key = parts.key();
        let dir = self.dir.join(&parts.check);
        let entry: Entry = serde_json::from_slice(&std::fs::read(dir.join(format!("{key}.json"))).ok()?).ok()?;
        if let Some(ttl) = ttl {
            let age = now_unix().saturating_sub(entry.created_unix);
            if age > ttl.as_secs() {
                tracing::debug!(check = %parts.check, "cache: the stored result is {age}s old, older than the configured network-ttl");
                return None;
            }
        }
        let _ = std::fs::copy(dir.join(format!("{key}.log")), log_path);
        let mut report = entry.report;
        report.cached = true;
        Some(report)
    }

    /// Explains why `parts` missed, comparing with the last stored parts of the same check.
    pub fn explain_miss(&self, parts: &KeyParts, files: &ProjectFiles) -> String {
        let dir = self.dir.join(&parts.check);
        let Some(last) =
            std::fs::read(dir.join("last.json")).ok().and_then(|bytes| serde_json::from_slice::<Last>(&bytes).ok())
        else {
            return "no earlier result".to_string();
        };
        let last = last.parts;
        let mut reasons = Vec::new();
        if last.greenlight != parts.greenlight {
            reasons.push(format!("greenlight changed ({} → {})", last.greenlight, parts.greenlight));
        }
        if last.files != parts.files {
            let before: ProjectFiles = std::fs::read(self.dir.join("files").join(format!("{}.json", last.files)))
                .ok()
                .and_then(|bytes| serde_json::from_slice(&bytes).ok())
                .unwrap_or_default();
            let mut changed: Vec<&str> = files
                .files
                .iter()
                .filter(|(path, hash)| before.files.get(*path) != Some(hash))
                .map(|(path, _)| path.as_str())
                .collect();
            changed.extend(before.files.keys().filter(|path| !files.files.contains_key(*path)).map(String::as_str));
            let shown: Vec<&str> = changed.iter().take(5).copied().collect();
            let more = if changed.len() > 5 { format!(" and {} more", changed.len() - 5) } else { String::new() };
            reasons.push(if changed.is_empty() {
                "the project's files changed".to_string()
            } else {
                format!("files changed: {}{more}", shown.join(", "))
            });
        }
        if last.config != parts.config {
            reasons.push("the configuration changed".to_string());
        }
        if last.tools != parts.tools {
            reasons.push(format!("tools changed ({} → {})", last.tools.join(", "), parts.tools.join(", ")));
        }
        if last.environment != parts.environment {
            reasons.push("the project environment changed".to_string());
        }
        if last.vars != parts.vars {
            let names: Vec<&str> = parts
                .vars
                .keys()
                .chain(last.vars.keys())
                .filter(|name| parts.vars.get(*name) != last.vars.get(*name))
                .map(String::as_str)
                .collect();
            reasons.push(format!("environment variables changed: {}", names.join(", ")));
        }
        if last.state != parts.state {
            reasons.push(
                "what it reads besides the project's files changed (git refs, base images, advisory database)"
                    .to_string(),
            );
        }
        if reasons.is_empty() { "the stored result expired or was removed".to_string() } else { reasons.join("; ") }
    }

    /// Stores a result (and its log) under `parts`.
    pub fn store(&self, parts: &KeyParts, files: &ProjectFiles, report: &CheckReport, log_path: &Path) {
        let dir = self.dir.join(&parts.check);
        let key = parts.key();
        let entry = Entry { created_unix: now_unix(), report: report.clone() };
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            if log_path.is_file() {
                std::fs::copy(log_path, dir.join(format!("{key}.log")))?;
            }
            crate::fsutil::write_atomic(&dir.join(format!("{key}.json")), &serde_json::to_vec(&entry)?)?;
            let files_path = self.dir.join("files").join(format!("{}.json", files.digest));
            if !files_path.exists() {
                crate::fsutil::write_atomic(&files_path, &serde_json::to_vec(files)?)?;
            }
            crate::fsutil::write_atomic(&dir.join("last.json"), &serde_json::to_vec(&Last { parts: parts.clone() })?)?;
            Ok(())
        };
        if let Err(error) = write() {
            tracing::warn!("cannot store the result of `{}` in the cache: {error}", parts.check);
        }
        prune(&dir, 20);
        prune(&self.dir.join("files"), 20);
    }

    /// Removes every stored result. Returns the number of bytes freed.
    pub fn clean(&self) -> std::io::Result<u64> {
        let size = dir_size(&self.dir);
        match std::fs::remove_dir_all(&self.dir) {
            Ok(()) => Ok(size),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(error) => Err(error),
        }
    }
}

/// Hashes the project's files (see the module documentation): the files the shared listing
/// gives ([`files::list`]: what CI's checkout has, one skip list outside git), tracked ones
/// that match the index by their blob id. `outputs` (the report files of this run) are not
/// inputs and are left out. `None` when the files cannot be listed: the cache is not used.
pub async fn project_files(project: &Project, env: &Env, outputs: &[PathBuf], stop: &Stop) -> Option<ProjectFiles> {
    let root = &project.root;
    let git = project.git.as_ref().map(|_| Git::for_project(project, env.get(EnvVars::GIT_CONFIG_COUNT)));
    let index = async {
        match &git {
            Some(git) => index_ids(root, git, stop).await,
            None => Some(BTreeMap::new()),
        }
    };
    let (listed, index) = tokio::join!(files::list(root, git.as_ref(), stop), index);
    let listed = match listed {
        Ok(listed) => listed,
        Err(error) => {
            tracing::info!("cache: not used: {error}");
            return None;
        }
    };
    let index = index?;
    let outputs: Vec<String> = outputs
        .iter()
        .map(|output| {
            let absolute = if output.is_absolute() {
                output.clone()
            } else {
                std::env::current_dir().unwrap_or_default().join(output)
            };
            greenlight_checker::relative_to(root, &absolute)
        })
        .collect();
    let root = root.clone();
    let hashed = files::in_background(move || {
        let mut files = BTreeMap::new();
        for path in listed.files {
            let path = path.to_string_lossy().into_owned();
            if outputs.contains(&path) {
                continue;
            }
            let hash = index.get(&path).cloned().unwrap_or_else(|| content_hash(&root.join(&path)));
            files.insert(path, hash);
        }
        Ok(files)
    });
    let files = match hashed.await {
        Ok(files) => files,
        Err(error) => {
            tracing::info!("cache: not used: cannot hash the project's files: {error}");
            return None;
        }
    };
    Some(ProjectFiles::new(files))
}

impl ProjectFiles {
    /// The fingerprint of `files`.
    pub fn new(files: BTreeMap<String, String>) -> Self {
        Self { digest: digest(&files), files }
    }

    /// The fingerprint of the files matching one of `globs` (a check's declared inputs);
    /// `None` when there are no globs or one does not compile: every file counts.
    pub fn inputs(&self, globs: &[String]) -> Option<Self> {
        if globs.is_empty() {
            return None;
        }
        let mut set = globset::GlobSetBuilder::new();
        for glob in globs {
            set.add(globset::Glob::new(glob).ok()?);
        }
        let set = set.build().ok()?;
        let kept = self.files.iter().filter(|(path, _)| set.is_match(path.as_str()));
        Some(Self::new(kept.map(|(path, hash)| (path.clone(), hash.clone())).collect()))
    }
}

/// `<mode>:<blob id>` from the index of each tracked file that matches it (`git ls-files -s`
/// without what `git diff-files` reports changed); `None` when git cannot say.
async fn index_ids(root: &Path, git: &Git, stop: &Stop) -> Option<BTreeMap<String, String>> {
    let staged = git.cmd(root).args(["ls-files", "-s", "-z", "--", "."]).stdout_limit(usize::MAX);
    let modified =
        git.cmd(root).args(["diff-files", "--name-only", "-z", "--relative", "--", "."]).stdout_limit(usize::MAX);
    let (staged, modified) = tokio::join!(staged.run(stop), modified.run(stop));
    let (staged, modified) = (staged.ok()?, modified.ok()?);
    if !(staged.status.success() && modified.status.success()) {
        return None;
    }
    let modified: BTreeSet<PathBuf> = files::parse_ls_files(&modified.stdout.bytes()).into_iter().collect();
    let mut index = BTreeMap::new();
    for entry in staged.stdout.bytes().split(|byte| *byte == 0) {
        // `<mode> <sha> <stage>\t<path>`
        let entry = String::from_utf8_lossy(entry);
        let Some((meta, path)) = entry.split_once('\t') else { continue };
        if modified.contains(Path::new(path)) {
            continue;
        }
        let mut fields = meta.split(' ');
        let mode = fields.next().unwrap_or_default();
        let sha = fields.next().unwrap_or_default();
        index.insert(path.to_string(), format!("{mode}:{sha}"));
    }
    Some(index)
}

/// `<mode>:<git blob id>` of a file, the same form `git ls-files -s` gives for tracked files,
/// so a file hashes the same whether it is committed, modified or untracked.
fn content_hash(path: &Path) -> String {
    use sha1::Digest as _;
    let blob = |bytes: &[u8]| {
        let mut hasher = sha1::Sha1::new();
        hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
        hasher.update(bytes);
        hex(&hasher.finalize())
    };
    match std::fs::symlink_metadata(path) {
        Ok(metadata) if metadata.file_type().is_symlink() => {
            let target = std::fs::read_link(path)
                .map(|target| target.as_os_str().as_encoded_bytes().to_vec())
                .unwrap_or_default();
            format!("120000:{}", blob(&target))
        }
        Ok(metadata) => {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = if metadata.permissions().mode() & 0o111 != 0 { "100755" } else { "100644" };
            match std::fs::read(path) {
                Ok(bytes) => format!("{mode}:{}", blob(&bytes)),
                Err(error) => format!("unreadable:{error}"),
            }
        }
        Err(_) => "deleted".to_string(),
    }
}

/// A hash of `text` for key parts.
pub fn text_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes())[..16])
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn now_unix() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// Keeps the `keep` most recently modified entries of `dir` (plus `last.json`).
fn prune(dir: &Path, keep: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut jsons: Vec<(SystemTime, PathBuf)> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "json")
                && path.file_name().is_some_and(|name| name != "last.json")
        })
        .filter_map(|path| Some((std::fs::metadata(&path).ok()?.modified().ok()?, path)))
        .collect();
    if jsons.len() <= keep {
        return;
    }
    jsons.sort();
    for (_, path) in &jsons[..jsons.len() - keep] {
        let _ = std::fs::remove_file(path);
        let _ = std::fs::remove_file(path.with_extension("log"));
    }
}

fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => dir_size(&entry.path()),
            _ => entry.metadata().map(|metadata| metadata.len()).unwrap_or(0),
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_changes_the_key() {
        let base = KeyParts {
            greenlight: "0.1.0".into(),
            check: "ruff-check".into(),
            files: "f".into(),
            config: "c".into(),
            tools: vec!["ruff /usr/bin/ruff 0.17.6".into()],
            environment: None,
            vars: BTreeMap::new(),
            state: String::new(),
        };
        let key = base.key();
        let variants = [
            KeyParts { greenlight: "0.2.0".into(), ..base.clone() },
            KeyParts { check: "ruff-format".into(), ..base.clone() },
            KeyParts { files: "g".into(), ..base.clone() },
            KeyParts { config: "d".into(), ..base.clone() },
            KeyParts { tools: vec!["ruff /usr/bin/ruff 0.17.7".into()], ..base.clone() },
            KeyParts { environment: Some("e".into()), ..base.clone() },
            KeyParts { vars: BTreeMap::from([("DOCKER_HOST".into(), "x".into())]), ..base.clone() },
            KeyParts { state: "refs".into(), ..base.clone() },
        ];
        for variant in variants {
            assert_ne!(variant.key(), key, "{variant:?}");
        }
        assert_eq!(base.clone().key(), key);
    }

    #[tokio::test]
    async fn outside_git_the_shared_listing_is_hashed_by_content() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "x = 1\n").unwrap();
        std::fs::create_dir_all(dir.path().join("__pycache__")).unwrap();
        std::fs::write(dir.path().join("__pycache__/a.pyc"), "junk").unwrap();
        std::fs::write(dir.path().join("report.json"), "{}").unwrap();
        let project = Project { root: dir.path().to_path_buf(), pyproject: None, pyproject_error: None, git: None };
        let outputs = [dir.path().join("report.json")];
        let stop = Stop::new();
        let files = project_files(&project, &Env::default(), &outputs, &stop).await.unwrap();
        assert_eq!(files.files.keys().collect::<Vec<_>>(), ["a.py"]);
        std::fs::write(dir.path().join("a.py"), "x = 2\n").unwrap();
        let changed = project_files(&project, &Env::default(), &outputs, &stop).await.unwrap();
        assert_ne!(changed.files["a.py"], files.files["a.py"]);
        assert_ne!(changed.digest, files.digest);
    }
}

#[cfg(test)]
mod blob_tests {
    #[test]
    fn blob_ids_match_git() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hello.txt");
        std::fs::write(&path, "hello\n").unwrap();
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(super::content_hash(&path), "100644:ce013625030ba8dba906f756967f9e9ca394464a");
    }
}
