//! The project's files, listed once the same way for every check: what CI's clean checkout
//! holds.
//!
//! In a git repository that is what `git ls-files -co --exclude-standard` lists (tracked and
//! untracked files, not the ignored ones), run with the repository trusted ([`crate::git`]).
//! When git cannot list them, that is an error, never a silent walk that would bring along
//! ignored files. Outside git the project is walked, leaving out [`SKIPPED_DIRS`], virtual
//! environments, `*.egg-info` and the build outputs at the root, and the listing says so
//! ([`ListedBy::Walk`]). greenlight's own `.greenlight/` is never listed.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenlight_process::{ExitState, ProcessError, Stop};

use crate::context::CheckContext;
use crate::error::CheckError;
use crate::git::Git;

/// Directories a walk never enters, wherever they are: version control, greenlight's state,
/// virtual environments, tool caches.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".greenlight",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "node_modules",
];

/// Build outputs at the project root, never sources: a stale one changes what a backend packs.
pub const ROOT_OUTPUTS: &[&str] = &["build", "dist"];

/// Most bytes of `git ls-files` output read.
const LS_FILES_LIMIT: usize = 256 * 1024 * 1024;
/// How long listing may take.
const LS_FILES_TIMEOUT: Duration = Duration::from_secs(300);

/// The project's files, relative to the listed directory, sorted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectFiles {
    /// Relative paths of files and symbolic links (and of submodules, which git lists as one
    /// entry).
    pub files: Vec<PathBuf>,
    /// How they were listed.
    pub listed_by: ListedBy,
}

/// How [`ProjectFiles`] were listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListedBy {
    /// `git ls-files -co --exclude-standard`.
    Git,
    /// A walk of a directory that is not in a git repository.
    Walk,
}

impl std::fmt::Display for ListedBy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ListedBy::Git => "`git ls-files -co --exclude-standard`",
            ListedBy::Walk => {
                "a walk of the project (not in a git repository; environments, caches and build outputs left out)"
            }
        })
    }
}

/// Why the project's files could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// git could not be run.
    #[error("cannot run `git ls-files`: {0}")]
    Spawn(#[from] ProcessError),
    /// git ran and failed, or printed more than can be read.
    #[error("cannot list the project's files with `git ls-files` ({status}):\n{output}")]
    Git {
        /// How it ended.
        status: String,
        /// Its last lines of output.
        output: String,
    },
    /// The listing was stopped with the check.
    #[error("listing the project's files was stopped")]
    Stopped,
    /// A directory of the walk could not be read.
    #[error("cannot list the project's files: {0}")]
    Walk(#[source] io::Error),
}

impl From<ListError> for CheckError {
    fn from(error: ListError) -> Self {
        match error {
            ListError::Stopped => CheckError::cancelled(),
            error => CheckError::errored(error.to_string()),
        }
    }
}

/// Lists the files under `dir`: with `git` in a git repository, else by a walk (see the
/// [module documentation](self)).
pub async fn list(dir: &Path, git: Option<&Git>, stop: &Stop) -> Result<ProjectFiles, ListError> {
    let Some(git) = git else {
        let root = dir.to_path_buf();
        let files = in_background(move || walk(&root)).await.map_err(ListError::Walk)?;
        return Ok(ProjectFiles { files, listed_by: ListedBy::Walk });
    };
    let command = git
        .cmd(dir)
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."])
        .stdout_limit(LS_FILES_LIMIT)
        .timeout(LS_FILES_TIMEOUT);
    let output = command.run(stop).await?;
    if output.status == ExitState::Cancelled {
        return Err(ListError::Stopped);
    }
    if !output.status.success() || !output.stdout.is_complete() {
        let status = if output.status.success() {
            format!("more than {} MiB of file names", LS_FILES_LIMIT / (1024 * 1024))
        } else {
            output.status.to_string()
        };
        return Err(ListError::Git { status, output: output.both_tails(10) });
    }
    Ok(ProjectFiles { files: parse_ls_files(&output.stdout.bytes()), listed_by: ListedBy::Git })
}

impl CheckContext {
    /// The project's files (see the [module documentation](self)): git's listing in a
    /// repository, else a walk. A listing git refuses is [`CheckError::Errored`].
    pub async fn project_files(&self) -> Result<ProjectFiles, CheckError> {
        let git = self.project.git.as_ref().map(|_| self.git());
        Ok(list(&self.project.root, git.as_ref(), &self.stop).await?)
    }
}

/// Runs file work (a walk, a copy) on the blocking pool, off the async runtime; a panic in it
/// is an error like any other.
pub async fn in_background<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|error| Err(io::Error::other(error)))
}

/// Splits `git ls-files -z` output into relative paths, sorted, without `.greenlight/`.
pub fn parse_ls_files(output: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt as _;
    let mut files: Vec<PathBuf> = output
        .split(|byte| *byte == 0)
        .filter(|path| !path.is_empty())
        .map(|path| PathBuf::from(std::ffi::OsStr::from_bytes(path)))
        .filter(|path| !path.starts_with(".greenlight"))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// True when a relative path lies where a walk does not go: under one of [`SKIPPED_DIRS`] or
/// a `*.egg-info` directory, or under [`ROOT_OUTPUTS`] at the root.
pub fn is_generated(relative: &Path) -> bool {
    let mut parts = relative.iter().map(|part| part.to_string_lossy());
    let first = parts.next();
    if first.as_deref().is_some_and(|first| ROOT_OUTPUTS.contains(&first)) {
        return true;
    }
    first.into_iter().chain(parts).any(|part| skipped_dir_name(&part))
}

fn skipped_dir_name(name: &str) -> bool {
    SKIPPED_DIRS.contains(&name) || name.ends_with(".egg-info")
}

/// Every file and symbolic link under `root`, relative and sorted, except what
/// [`is_generated`] names and virtual environments (directories holding `pyvenv.cfg`).
pub fn walk(root: &Path) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(relative) = pending.pop() {
        let dir = root.join(&relative);
        let entries = std::fs::read_dir(&dir).map_err(|error| with_path(error, &dir))?;
        for entry in entries {
            let entry = entry.map_err(|error| with_path(error, &dir))?;
            let file_type = entry.file_type().map_err(|error| with_path(error, &entry.path()))?;
            let path = relative.join(entry.file_name());
            if file_type.is_dir() {
                let root_output =
                    relative.as_os_str().is_empty() && ROOT_OUTPUTS.iter().any(|output| entry.file_name() == *output);
                let skipped = root_output
                    || skipped_dir_name(&entry.file_name().to_string_lossy())
                    || entry.path().join("pyvenv.cfg").is_file();
                if !skipped {
                    pending.push(path);
                }
            } else if file_type.is_file() || file_type.is_symlink() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// What [`copy`] copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// Everything as it is: symbolic links stay links, a listed directory (a submodule) is
    /// copied whole.
    AsIs,
    /// Regular files only, for a scanner that follows neither links nor submodules.
    RegularFiles,
}

/// What [`copy`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Files (and links) copied.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Copies `files` (relative to `from`) to the same relative paths under `to`, keeping
/// permissions. Listed paths that no longer exist (deleted but still tracked) are skipped;
/// sockets and fifos too. Errors name the file.
pub fn copy(from: &Path, to: &Path, files: &[PathBuf], what: Copy) -> io::Result<Copied> {
    let mut copied = Copied::default();
    std::fs::create_dir_all(to).map_err(|error| with_path(error, to))?;
    for relative in files {
        let source = from.join(relative);
        let metadata = match std::fs::symlink_metadata(&source) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(with_path(error, &source)),
        };
        let target = to.join(relative);
        let file_type = metadata.file_type();
        if what == Copy::RegularFiles && !file_type.is_file() {
            continue;
        }
        if file_type.is_dir() {
            let inner = walk(&source)?;
            let counted = copy(&source, &target, &inner, what)?;
            copied.files += counted.files;
            copied.bytes += counted.bytes;
            continue;
        }
        if !(file_type.is_file() || file_type.is_symlink()) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|error| with_path(error, parent))?;
        }
        if file_type.is_symlink() {
            let link = std::fs::read_link(&source).map_err(|error| with_path(error, &source))?;
            let _ = std::fs::remove_file(&target);
            std::os::unix::fs::symlink(link, &target).map_err(|error| with_path(error, &target))?;
        } else {
            copied.bytes += std::fs::copy(&source, &target).map_err(|error| with_path(error, &source))?;
        }
        copied.files += 1;
    }
    Ok(copied)
}

fn with_path(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, relative).unwrap();
    }

    fn paths(files: &[&str]) -> Vec<PathBuf> {
        files.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn generated_paths() {
        assert!(is_generated(Path::new("dist/old-0.1.tar.gz")));
        assert!(is_generated(Path::new("build/lib/x.py")));
        assert!(is_generated(Path::new("src/demo.egg-info/PKG-INFO")));
        assert!(is_generated(Path::new("pkg/__pycache__/x.pyc")));
        assert!(!is_generated(Path::new("src/demo/build/steps.py")), "only the root build/ is an output");
        assert!(!is_generated(Path::new("apps/api/main.py")));
    }

    #[test]
    fn ls_files_output() {
        assert_eq!(parse_ls_files(b"b.py\0dir/b c.py\0.greenlight/x\0b.py\0"), paths(&["b.py", "dir/b c.py"]));
        assert!(parse_ls_files(b"").is_empty());
    }

    #[test]
    fn walk_leaves_out_environments_caches_and_outputs() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in [
            "pyproject.toml",
            "pkg/__init__.py",
            "pkg/build/steps.py",
            ".env",
            ".venv/bin/python",
            "env2/pyvenv.cfg",
            "env2/lib/x.py",
            "pkg/__pycache__/x.pyc",
            "pkg.egg-info/PKG-INFO",
            "dist/a.whl",
            "node_modules/a.js",
            ".greenlight/logs/x.log",
        ] {
            write(root, file);
        }
        std::os::unix::fs::symlink("pkg/__init__.py", root.join("link.py")).unwrap();
        let files = walk(root).unwrap();
        assert_eq!(files, paths(&[".env", "link.py", "pkg/__init__.py", "pkg/build/steps.py", "pyproject.toml"]));
    }

    #[test]
    fn copies_as_is_or_regular_files_only() {
        let from = tempfile::tempdir().unwrap();
        write(from.path(), "pkg/__init__.py");
        write(from.path(), "sub/inner.py");
        std::os::unix::fs::symlink("pkg/__init__.py", from.path().join("link.py")).unwrap();
        let listed = paths(&["link.py", "pkg/__init__.py", "deleted.py", "sub"]);

        let to = tempfile::tempdir().unwrap();
        let copied = copy(from.path(), to.path(), &listed, Copy::AsIs).unwrap();
        assert_eq!(copied.files, 3);
        assert!(std::fs::symlink_metadata(to.path().join("link.py")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(to.path().join("sub/inner.py")).unwrap(), "sub/inner.py");

        let to = tempfile::tempdir().unwrap();
        let copied = copy(from.path(), &to.path().join("nested"), &listed, Copy::RegularFiles).unwrap();
        assert_eq!(copied, Copied { files: 1, bytes: "pkg/__init__.py".len() as u64 });
        assert!(!to.path().join("nested/link.py").exists() && !to.path().join("nested/sub").exists());
    }

    #[tokio::test]
    async fn git_lists_what_ci_checks_out() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for file in ["a.py", "ignored.log", "new.py", ".greenlight/x"] {
            write(root, file);
        }
        std::fs::write(root.join(".gitignore"), "*.log\n").unwrap();
        let stop = Stop::new();
        let git = Git::repository(root, None);
        let init = git.cmd(root).args(["init", "-q"]).run(&stop).await.unwrap();
        assert!(init.status.success(), "{}", init.both_tails(5));
        let add = git.cmd(root).args(["add", "a.py", ".gitignore"]).run(&stop).await.unwrap();
        assert!(add.status.success(), "{}", add.both_tails(5));

        let listed = list(root, Some(&git), &stop).await.unwrap();
        assert_eq!(listed.listed_by, ListedBy::Git);
        assert_eq!(listed.files, paths(&[".gitignore", "a.py", "new.py"]));
        let walked = list(root, None, &stop).await.unwrap();
        assert_eq!(walked.listed_by, ListedBy::Walk);
        assert!(walked.files.contains(&PathBuf::from("ignored.log")));

        let error = list(&root.join("missing"), Some(&git), &stop).await.unwrap_err();
        assert!(matches!(error, ListError::Spawn(_) | ListError::Git { .. }), "{error}");
    }
}
