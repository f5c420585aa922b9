//! The clean copy the build runs in.
//!
//! Build backends write into the source tree (setuptools writes `<name>.egg-info/` and `build/`
//! even with `--outdir`), so the build runs in a temporary copy of the project's files: the
//! files git knows (`git ls-files -co --exclude-standard`: tracked and untracked, not ignored),
//! which is also what CI's clean checkout has. Outside git, every file but obvious junk.

use std::path::{Path, PathBuf};

/// Directory names never copied in a walk outside git (caches, environments, VCS metadata).
const JUNK_DIRS: &[&str] = &[
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

/// Build outputs at the root, never sources: a stale one changes what the backend packs.
const ROOT_OUTPUTS: &[&str] = &["build", "dist"];

/// True when the relative path (with `/`) is a build output or junk that is not copied even
/// when git lists it.
pub fn is_output(relative: &str) -> bool {
    let mut parts = relative.split('/');
    let first = parts.next().unwrap_or_default();
    ROOT_OUTPUTS.contains(&first)
        || relative.split('/').any(|part| part.ends_with(".egg-info") || part == "__pycache__" || part == ".greenlight")
}

/// Every file under `root` except junk directories and build outputs, relative, sorted.
pub fn walk(root: &Path) -> std::io::Result<Vec<String>> {
    let mut files = Vec::new();
    walk_into(root, root, &mut files)?;
    files.sort();
    Ok(files)
}

fn walk_into(root: &Path, dir: &Path, files: &mut Vec<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = greenlight_checker::relative_to(root, &path);
        let file_type = entry.file_type()?;
        if file_type.is_dir() {
            if JUNK_DIRS.contains(&name.as_str()) || is_output(&relative) {
                continue;
            }
            walk_into(root, &path, files)?;
        } else if !is_output(&relative) {
            files.push(relative);
        }
    }
    Ok(())
}

/// Splits `git ls-files -z` output into relative paths, dropping build outputs.
pub fn parse_ls_files(bytes: &[u8]) -> Vec<String> {
    let mut files: Vec<String> = bytes
        .split(|byte| *byte == 0)
        .filter(|part| !part.is_empty())
        .map(|part| String::from_utf8_lossy(part).into_owned())
        .filter(|path| !is_output(path))
        .collect();
    files.sort();
    files.dedup();
    files
}

/// What [`copy_files`] copied.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Copied {
    /// Files (and symlinks) copied.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

/// Copies `files` (relative to `from`) into `to`, keeping symlinks as symlinks and permissions.
/// Listed paths that no longer exist (deleted but still tracked) are skipped; a listed
/// directory (a git submodule) is copied whole.
pub fn copy_files(from: &Path, to: &Path, files: &[String]) -> std::io::Result<Copied> {
    let mut copied = Copied::default();
    std::fs::create_dir_all(to)?;
    for relative in files {
        let source = from.join(relative);
        let Ok(metadata) = std::fs::symlink_metadata(&source) else {
            continue;
        };
        let target = to.join(relative);
        if metadata.is_dir() {
            let inner: Vec<String> = walk(&source)?;
            let counted = copy_files(&source, &target, &inner)?;
            copied.files += counted.files;
            copied.bytes += counted.bytes;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if metadata.file_type().is_symlink() {
            let link = std::fs::read_link(&source)?;
            let _ = std::fs::remove_file(&target);
            std::os::unix::fs::symlink(link, &target)?;
        } else if metadata.is_file() {
            copied.bytes += std::fs::copy(&source, &target)?;
        } else {
            continue; // sockets, fifos
        }
        copied.files += 1;
    }
    Ok(copied)
}

/// A fresh, empty directory at `path`.
pub fn fresh_dir(path: &Path) -> std::io::Result<PathBuf> {
    if path.exists() {
        std::fs::remove_dir_all(path)?;
    }
    std::fs::create_dir_all(path)?;
    Ok(path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_are_not_sources() {
        assert!(is_output("dist/old-0.1.tar.gz"));
        assert!(is_output("build/lib/x.py"));
        assert!(is_output("src/demo.egg-info/PKG-INFO"));
        assert!(!is_output("src/demo/build/steps.py"), "only the root build/ is an output");
        assert!(!is_output("apps/api/main.py"));
    }

    #[test]
    fn ls_files_output() {
        let files = parse_ls_files(b"b.py\0a/c.py\0dist/x.whl\0a/c.py\0");
        assert_eq!(files, ["a/c.py", "b.py"]);
    }

    #[test]
    fn walk_and_copy_skip_junk_and_keep_symlinks() {
        let from = tempfile::tempdir().unwrap();
        let write = |relative: &str| {
            let path = from.path().join(relative);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, relative).unwrap();
        };
        for file in ["pyproject.toml", "pkg/__init__.py", ".venv/bin/python", "pkg/__pycache__/x.pyc", "dist/a.whl"] {
            write(file);
        }
        std::os::unix::fs::symlink("pkg/__init__.py", from.path().join("link.py")).unwrap();
        let files = walk(from.path()).unwrap();
        assert_eq!(files, ["link.py", "pkg/__init__.py", "pyproject.toml"]);
        let to = tempfile::tempdir().unwrap();
        let mut listed = files.clone();
        listed.push("deleted.py".to_string());
        let copied = copy_files(from.path(), to.path(), &listed).unwrap();
        assert_eq!(copied.files, 3);
        assert!(std::fs::symlink_metadata(to.path().join("link.py")).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(to.path().join("pkg/__init__.py")).unwrap(), "pkg/__init__.py");
    }
}
