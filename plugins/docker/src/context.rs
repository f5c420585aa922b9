//! The build context: the tar the client sends with `/build`, made here as docker/cli makes it.
//!
//! docker/cli reads `.dockerignore`, appends `!.dockerignore` and `!<Dockerfile>` when they
//! would be excluded (the daemon must read them; it removes them itself), then walks the
//! context in lexical order (`archive.TarWithOptions`): an excluded file is skipped; an
//! excluded directory is skipped whole unless an exception pattern (`!dir/...`) starts inside
//! it, in which case the walk goes on below it without adding the directory itself. Files keep
//! their mode and modification time and are owned by root (0:0); symlinks stay symlinks.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use crate::ignore::{MatchInfo, PatternError, PatternMatcher, read_ignore_file};

/// The name under which a Dockerfile from outside the context is added to the tar (docker/cli
/// adds it under a random `.dockerfile.*` name the same way).
pub const OUTSIDE_DOCKERFILE: &str = ".dockerfile.greenlight";

/// greenlight's state directory in the project root, never part of a build context.
const STATE_DIR: &str = ".greenlight";

/// What goes into the tar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextPlan {
    /// Relative paths in tar order (names as the file system has them, also when they are
    /// not UTF-8).
    pub entries: Vec<PathBuf>,
    /// Paths left out by `.dockerignore` (the top of each excluded tree only).
    pub excluded: Vec<String>,
    /// Which ignore file applied, relative to the project root, if any.
    pub ignore_file: Option<String>,
}

/// Why a context cannot be made.
#[derive(Debug)]
pub enum ContextError {
    /// The ignore file has an invalid pattern: `docker build` refuses it too.
    Pattern {
        /// The ignore file.
        file: String,
        /// The error.
        error: PatternError,
    },
    /// A file could not be read.
    Io {
        /// What was being read.
        path: PathBuf,
        /// The OS error.
        error: std::io::Error,
    },
}

impl std::fmt::Display for ContextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextError::Pattern { file, error } => write!(f, "{file}: {error}"),
            ContextError::Io { path, error } => write!(f, "cannot read {}: {error}", path.display()),
        }
    }
}

/// The ignore file for a build: `<Dockerfile>.dockerignore` beside the Dockerfile when it
/// exists (as BuildKit, the default builder of `docker build`, reads it), else
/// `<context>/.dockerignore`.
pub fn ignore_file_for(context: &Path, dockerfile: &Path) -> Option<PathBuf> {
    let mut specific = dockerfile.as_os_str().to_owned();
    specific.push(".dockerignore");
    let specific = PathBuf::from(specific);
    if specific.is_file() {
        return Some(specific);
    }
    let default = context.join(".dockerignore");
    default.is_file().then_some(default)
}

/// Decides what the tar holds. `dockerfile_in_context` is the Dockerfile's path relative to the
/// context when it is inside it; `project_root` names the ignore file in messages, and its
/// `.greenlight/` (greenlight's own state: the environment, logs) is never sent, as a fresh
/// CI checkout has none.
pub fn plan(
    context: &Path,
    ignore_file: Option<&Path>,
    dockerfile_in_context: Option<&str>,
    display_root: &Path,
) -> Result<ContextPlan, ContextError> {
    let mut patterns = Vec::new();
    let mut ignore_name = None;
    if let Some(file) = ignore_file {
        let text =
            std::fs::read_to_string(file).map_err(|error| ContextError::Io { path: file.to_path_buf(), error })?;
        patterns = read_ignore_file(&text);
        ignore_name = Some(greenlight_checker::relative_to(display_root, file));
    }
    let pattern_error = |error| ContextError::Pattern { file: ignore_name.clone().unwrap_or_default(), error };
    // docker/cli `TrimBuildFilesFromExcludes`: the daemon must get these two files.
    let check = PatternMatcher::new(&patterns).map_err(pattern_error)?;
    if check.matches_or_parent_matches(".dockerignore") {
        patterns.push("!.dockerignore".to_string());
    }
    if let Some(dockerfile) = dockerfile_in_context
        && check.matches_or_parent_matches(dockerfile)
    {
        patterns.push(format!("!{dockerfile}"));
    }
    let matcher = PatternMatcher::new(&patterns).map_err(pattern_error)?;
    let mut plan = ContextPlan { ignore_file: ignore_name, ..ContextPlan::default() };
    let root = display_root.canonicalize().unwrap_or_else(|_| display_root.to_path_buf());
    let context_abs = context.canonicalize().unwrap_or_else(|_| context.to_path_buf());
    let state_dir = root.join(STATE_DIR);
    let state_dir = state_dir.strip_prefix(&context_abs).ok().map(|relative| relative.to_string_lossy().into_owned());
    walk(context, context, &matcher, &MatchInfo::default(), state_dir.as_deref(), &mut plan)?;
    Ok(plan)
}

fn walk(
    root: &Path,
    dir: &Path,
    matcher: &PatternMatcher,
    parent: &MatchInfo,
    state_dir: Option<&str>,
    plan: &mut ContextPlan,
) -> Result<(), ContextError> {
    use std::os::unix::ffi::OsStrExt as _;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |error| ContextError::Io { path, error }
    };
    let mut entries: Vec<(std::ffi::OsString, PathBuf, bool)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let is_dir = entry.file_type().map_err(io(&entry.path()))?.is_dir();
        entries.push((entry.file_name(), entry.path(), is_dir));
    }
    entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (_, path, is_dir) in entries {
        // Names are bytes: a name that is not UTF-8 is matched by its lossy text (patterns are
        // text) and sent as it is.
        let relative = path.strip_prefix(root).map(Path::to_path_buf).unwrap_or_else(|_| path.clone());
        let text = relative.to_string_lossy().into_owned();
        if state_dir == Some(text.as_str()) {
            continue;
        }
        let (skip, info) = matcher.matches_using_parent_results(&text, parent);
        if skip {
            if !is_dir {
                plan.excluded.push(text);
                continue;
            }
            let dir_slash = format!("{text}/");
            let exception_inside = matcher.has_exclusions()
                && matcher
                    .patterns()
                    .iter()
                    .any(|pattern| pattern.is_exclusion() && format!("{}/", pattern.as_str()).starts_with(&dir_slash));
            if !exception_inside {
                plan.excluded.push(text);
                continue;
            }
            walk(root, &path, matcher, &info, state_dir, plan)?;
            continue;
        }
        plan.entries.push(relative);
        if is_dir {
            walk(root, &path, matcher, &info, state_dir, plan)?;
        }
    }
    Ok(())
}

/// The project's files a build reads, relative to `project_root` with `/` separators: what
/// the context sends after its ignore file, the ignore file, and the Dockerfile. `None` when
/// the context cannot be listed (a bad pattern, an unreadable directory).
pub fn files_read(context: &Path, dockerfile: &Path, project_root: &Path) -> Option<BTreeSet<String>> {
    let context = context.canonicalize().ok()?;
    let root = project_root.canonicalize().ok()?;
    let ignore_file = ignore_file_for(&context, dockerfile);
    let dockerfile = dockerfile.canonicalize().ok()?;
    let in_context = dockerfile.strip_prefix(&context).ok().map(|relative| relative.to_string_lossy().into_owned());
    let plan = plan(&context, ignore_file.as_deref(), in_context.as_deref(), &root).ok()?;
    let under_root =
        |path: &Path| path.strip_prefix(&root).ok().map(|relative| relative.to_string_lossy().into_owned());
    let listed = plan.entries.iter().map(|entry| context.join(entry));
    let ignore_file = ignore_file.and_then(|file| file.canonicalize().ok());
    Some(listed.chain(ignore_file).chain([dockerfile]).filter_map(|path| under_root(&path)).collect())
}

/// What the tar of a build context would hold, without reading the files: every entry with
/// its size, modification time and mode (and a link's target), and a Dockerfile outside the
/// context with its content. Equal listings make equal tars unless a file was rewritten with
/// the same size within the file system's time resolution.
pub fn listing(
    context: &Path,
    dockerfile: &Path,
    dockerfile_in_context: Option<&str>,
    project_root: &Path,
) -> Result<String, ContextError> {
    use std::fmt::Write as _;
    use std::os::unix::fs::MetadataExt as _;
    let ignore_file = ignore_file_for(context, dockerfile);
    let plan = plan(context, ignore_file.as_deref(), dockerfile_in_context, project_root)?;
    let mut out = String::new();
    for entry in &plan.entries {
        let path = context.join(entry);
        let meta = std::fs::symlink_metadata(&path).map_err(|error| ContextError::Io { path: path.clone(), error })?;
        let target = if meta.file_type().is_symlink() {
            std::fs::read_link(&path).map(|target| target.display().to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "{} {} {}.{} {:o} {target}",
            entry.display(),
            meta.len(),
            meta.mtime(),
            meta.mtime_nsec(),
            meta.mode()
        );
    }
    if dockerfile_in_context.is_none() {
        let text =
            std::fs::read(dockerfile).map_err(|error| ContextError::Io { path: dockerfile.to_path_buf(), error })?;
        let _ = writeln!(out, "dockerfile {}", String::from_utf8_lossy(&text));
    }
    Ok(out)
}

fn stopped() -> std::io::Error {
    std::io::Error::other("stopped")
}

/// A reader that fails once `stop` is set (a large file in the tar).
struct Stoppable<'a, R> {
    inner: R,
    stop: &'a AtomicBool,
}

impl<R: std::io::Read> std::io::Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.stop.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        self.inner.read(buf)
    }
}

/// Size of what was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TarStats {
    /// Entries written.
    pub entries: usize,
    /// Bytes of the tar.
    pub bytes: u64,
}

/// Writes the planned entries of `context` to an uncompressed tar at `out`, and `dockerfile`
/// (the file greenlight builds from, see [`crate::rewrite`]) under [`OUTSIDE_DOCKERFILE`]. As
/// docker/cli does for a Dockerfile from elsewhere, the tar's `.dockerignore` names that file
/// (and itself, when the context has none), so the daemon removes both before the build and a
/// `COPY . .` never copies them. Errors name the file that could not be read.
///
/// `stop` abandons the tar between entries and within a file.
pub fn write_tar(
    context: &Path,
    plan: &ContextPlan,
    dockerfile: &[u8],
    out: &Path,
    stop: &AtomicBool,
) -> Result<TarStats, ContextError> {
    let at = |path: &Path| {
        let path = path.to_path_buf();
        move |error| ContextError::Io { path, error }
    };
    let file = BufWriter::new(File::create(out).map_err(at(out))?);
    let mut builder = tar::Builder::new(file);
    builder.follow_symlinks(false);
    let mut stats = TarStats::default();
    let mut ignore_file_sent = false;
    let extra_ignore = format!("\n{OUTSIDE_DOCKERFILE}\n");
    for relative in &plan.entries {
        let path = context.join(relative);
        if stop.load(Ordering::Relaxed) {
            return Err(ContextError::Io { path, error: stopped() });
        }
        let metadata = std::fs::symlink_metadata(&path).map_err(at(&path))?;
        let mut header = tar::Header::new_gnu();
        header.set_metadata_in_mode(&metadata, tar::HeaderMode::Complete);
        header.set_uid(0);
        header.set_gid(0);
        let _ = header.set_username("");
        let _ = header.set_groupname("");
        let file_type = metadata.file_type();
        let written = if file_type.is_symlink() {
            let target = std::fs::read_link(&path).map_err(at(&path))?;
            header.set_size(0);
            builder.append_link(&mut header, relative, target)
        } else if file_type.is_dir() {
            header.set_size(0);
            builder.append_data(&mut header, relative.join(""), std::io::empty())
        } else if file_type.is_file() && relative.as_os_str() == ".dockerignore" {
            let mut text = std::fs::read(&path).map_err(at(&path))?;
            text.extend_from_slice(extra_ignore.as_bytes());
            header.set_size(text.len() as u64);
            ignore_file_sent = true;
            builder.append_data(&mut header, relative, text.as_slice())
        } else if file_type.is_file() {
            let source = File::open(&path).map_err(at(&path))?;
            builder.append_data(&mut header, relative, Stoppable { inner: source, stop })
        } else {
            continue; // sockets, fifos, devices: docker/cli skips them too
        };
        written.map_err(at(&path))?;
        stats.entries += 1;
    }
    let mut add = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_size(bytes.len() as u64);
        builder.append_data(&mut header, name, bytes).map_err(at(out))
    };
    if !ignore_file_sent {
        add(".dockerignore", format!("{OUTSIDE_DOCKERFILE}\n.dockerignore\n").as_bytes())?;
        stats.entries += 1;
    }
    add(OUTSIDE_DOCKERFILE, dockerfile)?;
    stats.entries += 1;
    let mut file = builder.into_inner().map_err(at(out))?;
    file.flush().map_err(at(out))?;
    stats.bytes = std::fs::metadata(out).map_err(at(out))?.len();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[&str]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for file in files {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, file).unwrap();
        }
        dir
    }

    fn entries_with(ignore: &str, files: &[&str], dockerfile: Option<&str>) -> Vec<String> {
        let dir = tree(files);
        std::fs::write(dir.path().join(".dockerignore"), ignore).unwrap();
        let ignore_file = dir.path().join(".dockerignore");
        let entries = plan(dir.path(), Some(&ignore_file), dockerfile, dir.path()).unwrap().entries;
        entries.iter().map(|entry| entry.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn excluded_directories_are_pruned_and_exceptions_reinclude() {
        let files = ["Dockerfile", "app/main.py", "docs/a.md", "docs/runbook.md", "secrets/token.txt", "x/docs/b.md"];
        let entries = entries_with("docs\n!docs/runbook.md\nsecrets/\n", &files, Some("Dockerfile"));
        assert_eq!(
            entries,
            [".dockerignore", "Dockerfile", "app", "app/main.py", "docs/runbook.md", "x", "x/docs", "x/docs/b.md"]
        );
    }

    #[test]
    fn the_files_read_are_the_sent_ones_relative_to_the_project() {
        let dir = tree(&["docker/Dockerfile", "app/main.py", "app/tests/test_main.py", "README.md", "tests/test_x.py"]);
        std::fs::write(dir.path().join("app/.dockerignore"), "tests\n").unwrap();
        let read = files_read(&dir.path().join("app"), &dir.path().join("docker/Dockerfile"), dir.path()).unwrap();
        let read: Vec<&str> = read.iter().map(String::as_str).collect();
        assert_eq!(read, ["app/.dockerignore", "app/main.py", "docker/Dockerfile"]);
        assert_eq!(files_read(&dir.path().join("missing"), &dir.path().join("docker/Dockerfile"), dir.path()), None);
    }

    #[test]
    fn dockerfile_and_ignore_file_are_always_sent() {
        let files = ["Dockerfile", "build/Dockerfile.prod", "main.py"];
        let entries = entries_with("*\n", &files, Some("build/Dockerfile.prod"));
        assert_eq!(entries, [".dockerignore", "build/Dockerfile.prod"]);
    }

    #[test]
    fn an_exception_under_a_wildcard_does_not_reopen_the_directory() {
        // docker/cli only walks into an excluded directory for exceptions that start with it.
        let entries = entries_with("secrets\n!**/keep.txt\n", &["secrets/keep.txt", "keep.txt"], None);
        assert_eq!(entries, [".dockerignore", "keep.txt"]);
    }

    #[test]
    fn tar_has_modes_links_and_root_ownership() {
        let dir = tree(&["Dockerfile", "run.sh", "app/main.py", ".env"]);
        std::fs::set_permissions(dir.path().join("run.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        std::os::unix::fs::symlink("app/main.py", dir.path().join("link.py")).unwrap();
        std::fs::write(dir.path().join(".dockerignore"), ".env\n").unwrap();
        let ignore_file = ignore_file_for(dir.path(), &dir.path().join("Dockerfile"));
        assert_eq!(ignore_file.as_deref(), Some(dir.path().join(".dockerignore").as_path()));
        let plan = plan(dir.path(), ignore_file.as_deref(), Some("Dockerfile"), dir.path()).unwrap();
        assert_eq!(plan.excluded, [".env"]);
        assert_eq!(plan.ignore_file.as_deref(), Some(".dockerignore"));
        let out = tempfile::NamedTempFile::new().unwrap();
        let stats = write_tar(dir.path(), &plan, b"FROM sent\n", out.path(), &AtomicBool::new(false)).unwrap();
        assert_eq!(stats.entries, 7);
        let mut archive = tar::Archive::new(File::open(out.path()).unwrap());
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            let header = entry.header();
            let path = entry.path().unwrap().to_string_lossy().into_owned();
            assert_eq!((header.uid().unwrap(), header.gid().unwrap()), (0, 0), "{path}");
            if path == "run.sh" {
                assert_eq!(header.mode().unwrap() & 0o777, 0o755);
            }
            if path == "link.py" {
                assert_eq!(header.entry_type(), tar::EntryType::Symlink);
                assert_eq!(entry.link_name().unwrap().unwrap().to_string_lossy(), "app/main.py");
            }
            let mut text = String::new();
            if path == ".dockerignore" || path == OUTSIDE_DOCKERFILE {
                std::io::Read::read_to_string(&mut entry, &mut text).unwrap();
            }
            if path == ".dockerignore" {
                assert_eq!(text, format!(".env\n\n{OUTSIDE_DOCKERFILE}\n"), "the daemon drops the sent Dockerfile");
            }
            if path == OUTSIDE_DOCKERFILE {
                assert_eq!(text, "FROM sent\n");
            }
            seen.push(path);
        }
        assert_eq!(
            seen,
            [".dockerignore", "Dockerfile", "app/", "app/main.py", "link.py", "run.sh", OUTSIDE_DOCKERFILE]
        );
    }

    #[test]
    fn names_that_are_not_utf8_are_sent_as_bytes() {
        use std::os::unix::ffi::OsStrExt as _;
        let dir = tree(&["Dockerfile"]);
        let name = std::ffi::OsStr::from_bytes(b"caf\xe9.py");
        std::fs::write(dir.path().join(name), "x = 1\n").unwrap();
        let plan = plan(dir.path(), None, Some("Dockerfile"), dir.path()).unwrap();
        assert!(plan.entries.iter().any(|entry| entry.as_os_str() == name), "{:?}", plan.entries);
        let out = tempfile::NamedTempFile::new().unwrap();
        write_tar(dir.path(), &plan, b"FROM sent\n", out.path(), &AtomicBool::new(false)).unwrap();
        let mut archive = tar::Archive::new(File::open(out.path()).unwrap());
        let paths: Vec<Vec<u8>> =
            archive.entries().unwrap().map(|entry| entry.unwrap().path_bytes().into_owned()).collect();
        assert!(paths.contains(&b"caf\xe9.py".to_vec()), "{paths:?}");
        assert!(paths.contains(&b".dockerignore".to_vec()), "a .dockerignore that drops the sent Dockerfile");
        let listing = listing(dir.path(), &dir.path().join("Dockerfile"), Some("Dockerfile"), dir.path()).unwrap();
        assert!(listing.contains("caf"), "{listing}");
    }

    #[test]
    fn a_stop_abandons_the_tar() {
        let dir = tree(&["Dockerfile", "big.bin"]);
        let plan = plan(dir.path(), None, Some("Dockerfile"), dir.path()).unwrap();
        let out = tempfile::NamedTempFile::new().unwrap();
        let error = write_tar(dir.path(), &plan, b"FROM sent\n", out.path(), &AtomicBool::new(true)).unwrap_err();
        assert!(error.to_string().contains("stopped"), "{error}");
        // Within a file too.
        let stop = AtomicBool::new(false);
        let mut reader = Stoppable { inner: std::io::repeat(0), stop: &stop };
        let mut buffer = [0u8; 4];
        assert_eq!(std::io::Read::read(&mut reader, &mut buffer).unwrap(), 4);
        stop.store(true, Ordering::Relaxed);
        assert!(std::io::Read::read(&mut reader, &mut buffer).is_err());
    }

    #[test]
    fn a_dockerfile_specific_ignore_file_wins() {
        let dir = tree(&["docker/api.Dockerfile", "docker/api.Dockerfile.dockerignore", "main.py"]);
        std::fs::write(dir.path().join(".dockerignore"), "").unwrap();
        let found = ignore_file_for(dir.path(), &dir.path().join("docker/api.Dockerfile")).unwrap();
        assert!(found.ends_with("docker/api.Dockerfile.dockerignore"));
    }

    #[test]
    fn invalid_patterns_are_errors() {
        let dir = tree(&["Dockerfile"]);
        std::fs::write(dir.path().join(".dockerignore"), "[\n").unwrap();
        let error =
            plan(dir.path(), Some(&dir.path().join(".dockerignore")), Some("Dockerfile"), dir.path()).unwrap_err();
        assert!(error.to_string().starts_with(".dockerignore: invalid .dockerignore pattern `[`"), "{error}");
    }
}
