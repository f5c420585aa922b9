//! Which of the project's files a check reads ([`Checker::reads`]): the result cache keys the
//! check on those files only, so editing a file a check does not read replays its result.
//!
//! [`Checker::reads`]: crate::Checker::reads

use std::collections::BTreeSet;

/// The project's files a check's verdict depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Reads {
    /// Every file of the project (a test suite, a scanner of the working tree, a build).
    #[default]
    Everything,
    /// Only the files of this set.
    Only(FileSet),
}

/// A set of project files, by extension, name, name prefix or path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSet {
    /// Extensions without the dot (`py`), in any directory.
    pub extensions: Vec<&'static str>,
    /// File names (`pyproject.toml`, `.gitignore`), in any directory.
    pub names: Vec<&'static str>,
    /// A name's start and extension (`("requirements", "txt")`: `requirements-dev.txt`).
    pub prefixed: Vec<(&'static str, &'static str)>,
    /// Paths relative to the project root (files the configuration names).
    pub paths: Vec<String>,
    /// Files listed one by one, relative to the project root with `/` separators (a set the
    /// check computed, such as a build context after its ignore file).
    pub files: BTreeSet<String>,
}

impl Reads {
    /// True when the check reads `path` (relative to the project root, `/` separators).
    pub fn includes(&self, path: &str) -> bool {
        match self {
            Reads::Everything => true,
            Reads::Only(set) => set.contains(path),
        }
    }
}

impl FileSet {
    /// True when `path` (relative to the project root, `/` separators) is in the set.
    pub fn contains(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        let extension = name.rsplit_once('.').map(|(_, extension)| extension);
        self.names.contains(&name)
            || extension.is_some_and(|extension| self.extensions.contains(&extension))
            || self.prefixed.iter().any(|(start, ext)| name.starts_with(start) && extension == Some(ext))
            || self.paths.iter().any(|listed| listed.trim_start_matches("./") == path)
            || self.files.contains(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_matches_by_extension_name_prefix_and_path() {
        let set = FileSet {
            extensions: vec!["py"],
            names: vec!["pyproject.toml"],
            prefixed: vec![("requirements", "txt")],
            paths: vec!["./deps/prod.lock".to_string()],
            files: BTreeSet::from(["docker/entry.sh".to_string()]),
        };
        for path in [
            "app/main.py",
            "pyproject.toml",
            "sub/pyproject.toml",
            "requirements-dev.txt",
            "deps/prod.lock",
            "docker/entry.sh",
        ] {
            assert!(set.contains(path), "{path}");
        }
        for path in ["README.md", "app/main.pyc", "notes.txt", "deps/other.lock", "py", "entry.sh"] {
            assert!(!set.contains(path), "{path}");
        }
        assert!(Reads::Everything.includes("README.md"));
        assert!(!Reads::Only(set).includes("README.md"));
    }
}
