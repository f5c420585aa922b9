//! The working-tree scan's input: a copy of the project's files in the check's scratch
//! directory.
//!
//! gitleaks' directory scan reads everything under its source, including `.greenlight/` (the
//! project environment, logs) and virtual environments, and reports paths as they are walked.
//! Scanning a copy of exactly the files that matter, laid out as in the repository, keeps the
//! scan fast, its paths relative, its fingerprints those of a scan from the repository root,
//! and the user's tree untouched.

use std::io;
use std::path::{Path, PathBuf};

/// Directories never copied outside git (inside git, `.gitignore` decides).
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".greenlight",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "node_modules",
    "__pycache__",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
];

/// Every regular file under `root` (relative paths), skipping [`SKIPPED_DIRS`], virtual
/// environments (directories holding `pyvenv.cfg`) and symbolic links (gitleaks does not follow
/// them either).
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
                let name = entry.file_name();
                let skipped = SKIPPED_DIRS.iter().any(|skipped| name == *skipped)
                    || name.to_string_lossy().ends_with(".egg-info")
                    || entry.path().join("pyvenv.cfg").is_file();
                if !skipped {
                    pending.push(path);
                }
            } else if file_type.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Splits `git ls-files -z` output into paths, dropping greenlight's own directory.
pub fn split_ls_files(output: &[u8]) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt as _;
    output
        .split(|byte| *byte == 0)
        .filter(|path| !path.is_empty())
        .map(|path| PathBuf::from(std::ffi::OsStr::from_bytes(path)))
        .filter(|path| !path.starts_with(".greenlight"))
        .collect()
}

/// Copies `files` (relative to `from`) to the same relative paths under `to`. Files that no
/// longer exist (deleted but still tracked), directories (submodules) and symbolic links are
/// skipped. Returns how many files were copied.
pub fn copy_files(from: &Path, files: &[PathBuf], to: &Path) -> io::Result<usize> {
    let mut copied = 0;
    for relative in files {
        let source = from.join(relative);
        let metadata = match std::fs::symlink_metadata(&source) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(with_path(error, &source)),
        };
        if !metadata.is_file() {
            continue;
        }
        let target = to.join(relative);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|error| with_path(error, parent))?;
        }
        std::fs::copy(&source, &target).map_err(|error| with_path(error, &source))?;
        copied += 1;
    }
    Ok(copied)
}

fn with_path(error: io::Error, path: &Path) -> io::Error {
    io::Error::new(error.kind(), format!("{}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_and_copies_what_matters() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("project");
        for file in [
            "app/main.py",
            "pyproject.toml",
            ".env",
            ".greenlight/logs/x.log",
            ".venv/lib/site.py",
            "env2/pyvenv.cfg",
            "env2/lib/x.py",
            "pkg.egg-info/PKG-INFO",
            "node_modules/a.js",
        ] {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "x").unwrap();
        }
        std::os::unix::fs::symlink("/etc/hostname", root.join("link")).unwrap();
        let files = walk(&root).unwrap();
        assert_eq!(files, [PathBuf::from(".env"), "app/main.py".into(), "pyproject.toml".into()]);

        let copy = dir.path().join("copy");
        let mut listed = files.clone();
        listed.push("deleted.py".into());
        listed.push("link".into());
        assert_eq!(copy_files(&root, &listed, &copy.join("sub")).unwrap(), 3);
        assert_eq!(std::fs::read_to_string(copy.join("sub/app/main.py")).unwrap(), "x");
        assert!(!copy.join("sub/link").exists());
    }

    #[test]
    fn ls_files_output() {
        assert_eq!(
            split_ls_files(b"a.py\0dir/b c.py\0.greenlight/x\0"),
            [PathBuf::from("a.py"), PathBuf::from("dir/b c.py")]
        );
        assert!(split_ls_files(b"").is_empty());
    }
}
