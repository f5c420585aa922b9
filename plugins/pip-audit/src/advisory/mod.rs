//! An offline OSV advisory database: loaded from a directory of OSV records, matched with
//! PEP 440 semantics, and served over the OSV API on loopback so pip-audit can use it.
//!
//! The layout is that of the PyPA advisory database (`vulns/<package>/<ID>.yaml`), but any
//! directory tree of OSV records works: every `*.yaml`, `*.yml` and `*.json` file below the
//! directory (below its `vulns/` subdirectory when it has one), hidden entries excepted.
//!
//! ```no_run
//! # async fn example() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use greenlight_plugin_pip_audit::advisory::{AdvisoryDb, serve};
//!
//! let (db, warnings) = AdvisoryDb::load("advisory-database".as_ref()).expect("a database");
//! for advisory in db.query("Requests", "2.19.0") {
//!     println!("{} {:?}", advisory.id, advisory.aliases);
//! }
//! let server = serve(Arc::new(db)).await?;
//! println!("pip-audit -s osv --osv-url {}", server.query_url());
//! server.shutdown().await;
//! # Ok(()) }
//! ```

mod cache;
mod matching;
mod server;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use greenlight_checker::normalize_name;
use serde::Deserialize;
use serde_json::value::RawValue;

use matching::{AffectedVersions, Event, Range, parse_version};
pub use server::{AdvisoryServer, serve};

/// The ecosystem greenlight serves: OSV's name for PyPI.
pub const ECOSYSTEM: &str = "PyPI";

/// Deepest directory level searched for records below the database root.
const MAX_DEPTH: usize = 8;

/// Advisories by package, loaded from a directory of OSV records.
#[derive(Debug)]
pub struct AdvisoryDb {
    root: PathBuf,
    advisories: Vec<Advisory>,
    /// Normalized package name → (advisory index, index into its `packages`).
    index: HashMap<String, Vec<(usize, usize)>>,
    stats: LoadStats,
}

/// What loading found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Record files read (`*.yaml`, `*.yml`, `*.json`).
    pub files: usize,
    /// Advisories loaded and searchable.
    pub advisories: usize,
    /// Distinct packages they affect.
    pub packages: usize,
    /// Withdrawn advisories, ignored.
    pub withdrawn: usize,
    /// Advisories without a PyPI package, ignored.
    pub other_ecosystems: usize,
    /// Files that could not be read or parsed, skipped.
    pub malformed: usize,
    /// Files whose parsed record came from the cache (see [`AdvisoryDb::load_cached`]).
    pub from_cache: usize,
    /// Time spent loading.
    pub elapsed: Duration,
}

/// A problem with one record file. Loading goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadWarning {
    /// The file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
    /// True when the file was skipped entirely (unreadable, not an OSV record); false when the
    /// advisory was loaded without the part that is wrong (a range whose versions are not PEP
    /// 440 is left out; the `versions` list still matches).
    pub skipped: bool,
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// The database could not be loaded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError(pub String);

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// One advisory (an OSV record that affects at least one PyPI package and is not withdrawn).
#[derive(Debug)]
pub struct Advisory {
    /// `PYSEC-2018-28`, `GHSA-...`.
    pub id: String,
    /// Other ids of the same vulnerability (`CVE-...`, `GHSA-...`), as in the record.
    pub aliases: Vec<String>,
    /// The one-line summary, when the record has one.
    pub summary: Option<String>,
    /// The longer description, when the record has one.
    pub details: Option<String>,
    /// When the record last changed (RFC 3339), as in the record.
    pub modified: Option<String>,
    /// The file it was read from.
    pub path: PathBuf,
    /// Affected PyPI packages (normalized names) and their affected versions.
    packages: Vec<(String, AffectedVersions)>,
    /// The record as JSON, to serve the full record.
    source: String,
    /// The record as served (JSON), made on first use.
    served: OnceLock<Result<String, Arc<serde_json::Error>>>,
}

impl Advisory {
    /// The normalized names of the PyPI packages it affects.
    pub fn packages(&self) -> impl Iterator<Item = &str> {
        self.packages.iter().map(|(name, _)| name.as_str())
    }

    /// True when `version` of package `name` is affected.
    pub fn affects(&self, name: &str, version: &str) -> bool {
        let name = normalize_name(name);
        let parsed = parse_version(version);
        self.packages.iter().any(|(package, affected)| *package == name && affected.contains(version, parsed.as_ref()))
    }

    /// The `fixed` versions of the `ECOSYSTEM` ranges for `name`, as written in the record.
    pub fn fixed_versions(&self, name: &str) -> Vec<String> {
        let name = normalize_name(name);
        let Ok(record) = self.source_value() else { return Vec::new() };
        let mut fixed = Vec::new();
        for affected in record.get("affected").and_then(serde_json::Value::as_array).into_iter().flatten() {
            let package = &affected["package"];
            if package["ecosystem"].as_str() != Some(ECOSYSTEM)
                || package["name"].as_str().map(normalize_name).as_deref() != Some(name.as_str())
            {
                continue;
            }
            for range in affected.get("ranges").and_then(serde_json::Value::as_array).into_iter().flatten() {
                if range["type"].as_str() != Some("ECOSYSTEM") {
                    continue;
                }
                for event in range.get("events").and_then(serde_json::Value::as_array).into_iter().flatten() {
                    if let Some(version) = event.get("fixed").map(scalar_text).filter(|v| !v.is_empty()) {
                        fixed.push(version);
                    }
                }
            }
        }
        fixed
    }

    /// The full record as OSV JSON, as the OSV API returns it: PyPI package names in PEP 503
    /// normal form (pip-audit compares them with its canonical names), versions as strings,
    /// and `ECOSYSTEM` ranges whose versions are not PEP 440 left out (pip-audit would fail on
    /// them).
    pub fn to_osv_json(&self) -> Result<&str, RecordError> {
        self.served
            .get_or_init(|| {
                let mut record = self.source_value()?;
                normalize_record(&mut record);
                Ok(serde_json::to_string(&record)?)
            })
            .as_deref()
            .map_err(|error| RecordError { path: self.path.clone(), error: error.clone() })
    }

    fn source_value(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_str(&self.source)
    }
}

/// A record that cannot be served as JSON (the endpoint answers with an HTTP error, so the
/// client sees the failure).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}: {error}", path.display())]
pub struct RecordError {
    /// The record's file.
    pub path: PathBuf,
    /// What JSON said.
    #[source]
    pub error: Arc<serde_json::Error>,
}

impl AdvisoryDb {
    /// Loads every OSV record under `path` (its `vulns/` subdirectory when there is one).
    /// Malformed files are skipped and reported as warnings; the error is for a database that
    /// cannot be used at all (missing directory, no records).
    pub fn load(path: &Path) -> Result<(AdvisoryDb, Vec<LoadWarning>), LoadError> {
        Self::load_cached(path, None)
    }

    /// [`AdvisoryDb::load`], reusing the parsed records kept in `cache_dir` for files whose
    /// size and modification time did not change, and updating it. Parsing YAML is the cost
    /// of loading (about 0.5 s of CPU for the PyPA database); the cache is JSON and reads in a
    /// fraction of that. A cache that cannot be read or written is ignored.
    pub fn load_cached(path: &Path, cache_dir: Option<&Path>) -> Result<(AdvisoryDb, Vec<LoadWarning>), LoadError> {
        let started = Instant::now();
        if !path.is_dir() {
            return Err(LoadError(if path.exists() {
                format!("{} is not a directory of OSV records", path.display())
            } else {
                format!("{} does not exist", path.display())
            }));
        }
        let vulns = path.join("vulns");
        let search_root = if vulns.is_dir() { vulns } else { path.to_path_buf() };
        let mut files = Vec::new();
        let mut warnings = Vec::new();
        collect_files(&search_root, 0, &mut files, &mut warnings);
        files.sort();
        if files.is_empty() {
            return Err(LoadError(format!(
                "no OSV records (*.yaml, *.yml, *.json) under {}; point it at a copy of the PyPA advisory database (https://github.com/pypa/advisory-database) or a directory in its layout, vulns/<package>/<ID>.yaml",
                search_root.display()
            )));
        }
        let mut cache = cache_dir.map(|dir| cache::Cache::open(dir, &search_root));
        let jobs: Vec<Job> = files
            .iter()
            .map(|path| {
                let key = cache.as_ref().and_then(|_| cache::Key::of(&search_root, path));
                let cached = cache.as_mut().zip(key.as_ref()).and_then(|(cache, key)| cache.take(key));
                Job { path: path.clone(), key, cached }
            })
            .collect();
        let reused = jobs.iter().filter(|job| job.cached.is_some()).count();
        // Rewrite the cache when a file is new, changed or gone.
        let update = cache.as_ref().is_some_and(|cache| reused != files.len() || cache.remaining() > 0);
        let loaded = load_files(jobs, update);
        if let Some(cache) = cache
            && update
        {
            cache.store(loaded.iter().filter_map(|file| file.entry.clone()).collect());
        }
        let parsed = loaded.into_iter().map(|file| (file.path, file.parsed)).collect();
        let mut db = Self::from_parsed(path, parsed, &mut warnings);
        db.stats.files = files.len();
        db.stats.from_cache = reused;
        db.stats.elapsed = started.elapsed();
        if db.advisories.is_empty() {
            let reason = if db.stats.malformed == files.len() {
                "every record file is malformed".to_string()
            } else {
                "no record affects a PyPI package (withdrawn or other ecosystems only)".to_string()
            };
            return Err(LoadError(format!(
                "no usable advisory in {} ({} files read: {reason})",
                path.display(),
                files.len()
            )));
        }
        Ok((db, warnings))
    }

    /// What identifies the database at `path` without reading it: every record file's path,
    /// size and modification time (the keys of the parsed-record cache). `None` when it is not
    /// a directory.
    pub fn fingerprint(path: &Path) -> Option<String> {
        use std::fmt::Write as _;
        if !path.is_dir() {
            return None;
        }
        let vulns = path.join("vulns");
        let search_root = if vulns.is_dir() { vulns } else { path.to_path_buf() };
        let mut files = Vec::new();
        collect_files(&search_root, 0, &mut files, &mut Vec::new());
        files.sort();
        let mut out = format!("{}\n", path.display());
        for file in &files {
            let _ = writeln!(out, "{:?}", cache::Key::of(&search_root, file)?);
        }
        Some(out)
    }

    /// A database from record texts (the path names each record in warnings and decides the
    /// format by its extension). For tests and tools that keep records elsewhere.
    pub fn from_sources(root: &Path, sources: Vec<(PathBuf, String)>) -> (AdvisoryDb, Vec<LoadWarning>) {
        let files = sources.len();
        let parsed = sources
            .into_iter()
            .map(|(path, text)| {
                let parsed = interpret(&path, convert(&path, Ok(text)));
                (path, parsed)
            })
            .collect();
        let mut warnings = Vec::new();
        let mut db = Self::from_parsed(root, parsed, &mut warnings);
        db.stats.files = files;
        (db, warnings)
    }

    fn from_parsed(root: &Path, parsed: Vec<(PathBuf, Parsed)>, warnings: &mut Vec<LoadWarning>) -> Self {
        let mut stats = LoadStats::default();
        let mut advisories: Vec<Advisory> = Vec::new();
        let mut seen: HashMap<String, PathBuf> = HashMap::new();
        for (path, parsed) in parsed {
            match parsed {
                Parsed::Advisory(advisory, notes) => {
                    warnings.extend(notes.into_iter().map(|message| LoadWarning {
                        path: path.clone(),
                        message,
                        skipped: false,
                    }));
                    if let Some(first) = seen.get(&advisory.id) {
                        warnings.push(LoadWarning {
                            path,
                            message: format!("duplicate id {} (first in {}); skipped", advisory.id, first.display()),
                            skipped: true,
                        });
                        stats.malformed += 1;
                        continue;
                    }
                    seen.insert(advisory.id.clone(), path);
                    advisories.push(*advisory);
                }
                Parsed::Withdrawn => stats.withdrawn += 1,
                Parsed::OtherEcosystem => stats.other_ecosystems += 1,
                Parsed::Malformed(message) => {
                    stats.malformed += 1;
                    warnings.push(LoadWarning { path, message, skipped: true });
                }
            }
        }
        let mut index: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (advisory_index, advisory) in advisories.iter().enumerate() {
            for (package_index, (name, _)) in advisory.packages.iter().enumerate() {
                index.entry(name.clone()).or_default().push((advisory_index, package_index));
            }
        }
        stats.advisories = advisories.len();
        stats.packages = index.len();
        Self { root: root.to_path_buf(), advisories, index, stats }
    }

    /// The advisories that affect `version` of package `name` (any spelling: compared after
    /// PEP 503 normalization), sorted by id. A version that is not PEP 440 matches only the
    /// `versions` lists, by text.
    pub fn query(&self, name: &str, version: &str) -> Vec<&Advisory> {
        let parsed = parse_version(version);
        self.matching(name, |affected| affected.contains(version, parsed.as_ref()))
    }

    /// Every advisory that affects some version of package `name`, sorted by id (the OSV API's
    /// answer to a query without a version).
    pub fn advisories_for(&self, name: &str) -> Vec<&Advisory> {
        self.matching(name, |_| true)
    }

    fn matching(&self, name: &str, accept: impl Fn(&AffectedVersions) -> bool) -> Vec<&Advisory> {
        let Some(entries) = self.index.get(&normalize_name(name)) else {
            return Vec::new();
        };
        let mut seen = HashSet::new();
        let mut found: Vec<&Advisory> = entries
            .iter()
            .filter(|(advisory, package)| accept(&self.advisories[*advisory].packages[*package].1))
            .filter(|(advisory, _)| seen.insert(*advisory))
            .map(|(advisory, _)| &self.advisories[*advisory])
            .collect();
        found.sort_by(|a, b| a.id.cmp(&b.id));
        found
    }

    /// True when some advisory names package `name`.
    pub fn knows(&self, name: &str) -> bool {
        self.index.contains_key(&normalize_name(name))
    }

    /// The advisory with this id.
    pub fn get(&self, id: &str) -> Option<&Advisory> {
        self.advisories.iter().find(|advisory| advisory.id == id)
    }

    /// Number of advisories loaded.
    pub fn len(&self) -> usize {
        self.advisories.len()
    }

    /// True when no advisory was loaded.
    pub fn is_empty(&self) -> bool {
        self.advisories.is_empty()
    }

    /// What loading found.
    pub fn stats(&self) -> &LoadStats {
        &self.stats
    }

    /// The directory it was loaded from.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
}

enum Parsed {
    Advisory(Box<Advisory>, Vec<String>),
    Withdrawn,
    OtherEcosystem,
    Malformed(String),
}

fn collect_files(dir: &Path, depth: usize, files: &mut Vec<PathBuf>, warnings: &mut Vec<LoadWarning>) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            warnings.push(LoadWarning {
                path: dir.to_path_buf(),
                message: format!("cannot read: {error}"),
                skipped: true,
            });
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            if depth < MAX_DEPTH {
                collect_files(&path, depth + 1, files, warnings);
            }
        } else if format_of(&path).is_some() {
            files.push(path);
        }
    }
}

fn format_of(path: &Path) -> Option<Format> {
    match path.extension()?.to_str()? {
        "yaml" | "yml" => Some(Format::Yaml),
        "json" => Some(Format::Json),
        _ => None,
    }
}

/// One record file to load, with its cached content when the cache holds it.
struct Job {
    path: PathBuf,
    key: Option<cache::Key>,
    cached: Option<cache::Content>,
}

/// One record file, loaded.
struct LoadedFile {
    path: PathBuf,
    parsed: Parsed,
    /// What the cache is to keep of it, when the cache is rewritten and the file has a key.
    entry: Option<cache::Entry>,
}

/// Reads and parses files (those the cache does not hold) on every CPU; the full PyPA
/// database is ~2,700 files.
fn load_files(jobs: Vec<Job>, keep_entries: bool) -> Vec<LoadedFile> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = jobs.len().div_ceil(threads).max(1);
    let mut jobs = jobs.into_iter();
    let chunks: Vec<Vec<Job>> = std::iter::from_fn(|| {
        let chunk: Vec<Job> = jobs.by_ref().take(chunk).collect();
        (!chunk.is_empty()).then_some(chunk)
    })
    .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                scope.spawn(move || chunk.into_iter().map(|job| load_file(job, keep_entries)).collect::<Vec<_>>())
            })
            .collect();
        handles.into_iter().flat_map(|handle| handle.join().unwrap_or_default()).collect()
    })
}

fn load_file(job: Job, keep_entry: bool) -> LoadedFile {
    let Job { path, key, cached } = job;
    let content = cached.unwrap_or_else(|| convert(&path, std::fs::read_to_string(&path)));
    let entry = key.filter(|_| keep_entry).map(|key| cache::Entry { key, content: content.clone() });
    let parsed = interpret(&path, content);
    LoadedFile { path, parsed, entry }
}

/// A record file's text as a JSON record (YAML is converted), or why it is not one.
fn convert(path: &Path, text: std::io::Result<String>) -> cache::Content {
    use cache::Content;
    let text = match text {
        Ok(text) => text,
        Err(error) => return Content::Malformed(format!("cannot read: {error}")),
    };
    let raw = |json: String| match RawValue::from_string(json) {
        Ok(raw) => Content::Record(raw),
        Err(error) => Content::Malformed(format!("not an OSV record: {error}")),
    };
    match format_of(path) {
        Some(Format::Json) => raw(text),
        Some(Format::Yaml) => {
            let value: serde_json::Value = match serde_yaml_ng::from_str(&text) {
                Ok(value) => value,
                Err(error) => return Content::Malformed(format!("not an OSV record: {error}")),
            };
            if !value.is_object() {
                return Content::Malformed("not an OSV record: the document is not a mapping".to_string());
            }
            // Type errors are reported here, where they can still be told apart from JSON
            // positions that mean nothing to the user.
            if let Err(error) = RawRecord::deserialize(&value) {
                return Content::Malformed(format!("not an OSV record: {error}"));
            }
            match serde_json::to_string(&value) {
                Ok(json) => raw(json),
                Err(error) => Content::Malformed(format!("not an OSV record: {error}")),
            }
        }
        None => Content::Malformed("not a .yaml, .yml or .json file".to_string()),
    }
}

fn interpret(path: &Path, content: cache::Content) -> Parsed {
    match content {
        cache::Content::Record(json) => parse_record(path, String::from(Box::<str>::from(json))),
        cache::Content::Malformed(message) => Parsed::Malformed(message),
    }
}

/// The fields greenlight reads; the rest of the record is served as it is.
#[derive(Debug, Deserialize)]
struct RawRecord {
    id: String,
    #[serde(default)]
    aliases: Option<Vec<String>>,
    #[serde(default)]
    summary: Option<String>,
    #[serde(default)]
    details: Option<String>,
    #[serde(default)]
    modified: Option<Scalar>,
    #[serde(default)]
    withdrawn: Option<Scalar>,
    #[serde(default)]
    affected: Option<Vec<RawAffected>>,
}

#[derive(Debug, Deserialize)]
struct RawAffected {
    #[serde(default)]
    package: Option<RawPackage>,
    #[serde(default)]
    ranges: Option<Vec<RawRange>>,
    #[serde(default)]
    versions: Option<Vec<Scalar>>,
}

#[derive(Debug, Deserialize)]
struct RawPackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ecosystem: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawRange {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    events: Vec<BTreeMap<String, Scalar>>,
}

/// A string, or a number written without quotes (YAML `1.5`), as text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Scalar(String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl serde::de::Visitor<'_> for ScalarVisitor {
            type Value = Scalar;
            fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str("a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, value: i64) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, value: u64) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
            fn visit_f64<E: serde::de::Error>(self, value: f64) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Scalar, E> {
                Ok(Scalar(value.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

/// Parses a record from its JSON text (see [`convert`]).
fn parse_record(path: &Path, source: String) -> Parsed {
    // serde would read a struct from a sequence too; a record is an object.
    if !source.trim_start().starts_with('{') {
        return Parsed::Malformed("not an OSV record: the document is not an object".to_string());
    }
    let raw: RawRecord = match serde_json::from_str(&source) {
        Ok(raw) => raw,
        Err(error) => return Parsed::Malformed(format!("not an OSV record: {error}")),
    };
    if raw.id.trim().is_empty() {
        return Parsed::Malformed("not an OSV record: empty `id`".to_string());
    }
    if raw.withdrawn.as_ref().is_some_and(|withdrawn| !withdrawn.0.trim().is_empty()) {
        return Parsed::Withdrawn;
    }
    let mut notes = Vec::new();
    let mut packages = Vec::new();
    for affected in raw.affected.unwrap_or_default() {
        let Some(package) = affected.package else { continue };
        if package.ecosystem.as_deref() != Some(ECOSYSTEM) {
            continue;
        }
        let Some(name) = package.name.filter(|name| !name.trim().is_empty()) else {
            notes.push("an affected PyPI package has no name; ignored".to_string());
            continue;
        };
        let versions = affected.versions.unwrap_or_default().into_iter().map(|Scalar(text)| text).collect();
        let mut ranges = Vec::new();
        for range in affected.ranges.unwrap_or_default() {
            if range.kind != "ECOSYSTEM" {
                continue;
            }
            let mut events = Vec::new();
            let mut problem = None;
            for event in &range.events {
                for (kind, Scalar(value)) in event {
                    match Event::parse(kind, value) {
                        Ok(Some(event)) => events.push(event),
                        Ok(None) => {}
                        Err(error) => problem = problem.or(Some(error)),
                    }
                }
            }
            match problem {
                None => ranges.push(Range::new(events)),
                Some(problem) => notes.push(format!(
                    "an ECOSYSTEM range of {name} is left out: {problem}; its `versions` list is still matched"
                )),
            }
        }
        packages.push((normalize_name(&name), AffectedVersions::new(versions, ranges)));
    }
    if packages.is_empty() {
        return Parsed::OtherEcosystem;
    }
    let advisory = Advisory {
        id: raw.id.trim().to_string(),
        aliases: raw.aliases.unwrap_or_default(),
        summary: raw.summary,
        details: raw.details,
        modified: raw.modified.map(|Scalar(text)| text),
        path: path.to_path_buf(),
        packages,
        source,
        served: OnceLock::new(),
    };
    Parsed::Advisory(Box::new(advisory), notes)
}

fn scalar_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Makes a record safe for OSV clients: see [`Advisory::to_osv_json`].
fn normalize_record(record: &mut serde_json::Value) {
    use serde_json::Value;
    let Some(affected) = record.get_mut("affected").and_then(Value::as_array_mut) else { return };
    for entry in affected {
        let is_pypi = entry["package"]["ecosystem"].as_str() == Some(ECOSYSTEM);
        if is_pypi && let Some(name) = entry["package"]["name"].as_str().map(normalize_name) {
            entry["package"]["name"] = Value::String(name);
        }
        if let Some(versions) = entry.get_mut("versions").and_then(Value::as_array_mut) {
            for version in versions.iter_mut() {
                if !version.is_string() {
                    *version = Value::String(scalar_text(version));
                }
            }
        }
        if let Some(ranges) = entry.get_mut("ranges").and_then(Value::as_array_mut) {
            for range in ranges.iter_mut() {
                for event in range.get_mut("events").and_then(Value::as_array_mut).into_iter().flatten() {
                    if let Some(event) = event.as_object_mut() {
                        for value in event.values_mut() {
                            if !value.is_string() {
                                *value = Value::String(scalar_text(value));
                            }
                        }
                    }
                }
            }
            if is_pypi {
                ranges.retain(|range| range["type"].as_str() != Some("ECOSYSTEM") || range_versions_valid(range));
            }
        }
    }
}

fn range_versions_valid(range: &serde_json::Value) -> bool {
    range["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_object)
        .all(|event| event.iter().all(|(kind, value)| Event::parse(kind, value.as_str().unwrap_or_default()).is_ok()))
}

#[cfg(test)]
mod tests;
