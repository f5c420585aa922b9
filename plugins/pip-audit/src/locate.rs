//! Where a dependency comes from: the line of `pyproject.toml` or of a requirements file that
//! declares it, and, for a dependency of a dependency, the declared package that pulls it in
//! (read from the `Requires-Dist` metadata of the installed distributions).
//!
//! Vulnerability findings need a location: SARIF consumers reject results without one, and a
//! line to fix is what a developer wants.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use greenlight_checker::{Location, Project, normalize_name, requirement_name};

/// Where a package is declared or pulled in from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Located {
    /// The declaring line (or at least the file) in the project.
    pub location: Option<Location>,
    /// The declared package that requires it, when it is not declared itself.
    pub required_by: Option<String>,
    /// False when the installed metadata shows that nothing the project declares requires it
    /// (only known when the environment's metadata was read).
    pub required: bool,
}

/// Declarations of the project's dependencies and, optionally, the installed dependency graph.
#[derive(Debug, Clone, Default)]
pub struct Locator {
    declared: HashMap<String, Location>,
    required_by: HashMap<String, String>,
    graph_known: bool,
    fallback: Option<Location>,
}

impl Locator {
    /// The declarations in `pyproject.toml` (`[project].dependencies` and the optional
    /// dependencies) and in `requirements_files` (paths relative to the project root), first
    /// declaration first.
    pub fn new(project: &Project, requirements_files: &[String]) -> Self {
        let mut locator = Locator::default();
        if let Some(pyproject) = &project.pyproject {
            let names = pyproject
                .dependencies
                .iter()
                .chain(pyproject.optional_dependencies.values().flatten())
                .map(|requirement| requirement_name(requirement).to_string());
            for name in names {
                let line = pyproject.dependency_line(&name);
                locator.declare(&name, Location::at("pyproject.toml", line, None));
            }
            locator.fallback = Some(Location::at("pyproject.toml", None, None));
        }
        for file in requirements_files {
            let Ok(text) = std::fs::read_to_string(project.root.join(file)) else { continue };
            for (name, line) in requirements_lines(&text) {
                locator.declare(&name, Location::at(file.as_str(), Some(line), None));
            }
            if locator.fallback.is_none() {
                locator.fallback = Some(Location::at(file.as_str(), None, None));
            }
        }
        locator
    }

    fn declare(&mut self, name: &str, location: Location) {
        let name = normalize_name(name);
        if !name.is_empty() {
            self.declared.entry(name).or_insert(location);
        }
    }

    /// Reads the installed distributions' `Requires-Dist` in `site_packages` to tell, for each
    /// installed package, which declared package pulls it in (the nearest, declaration order
    /// breaking ties; dependencies behind extras only when nothing else explains a package).
    pub fn with_environment(mut self, site_packages: &Path) -> Self {
        let graph = dependency_graph(site_packages);
        if graph.is_empty() {
            return self;
        }
        self.graph_known = true;
        let mut roots: Vec<(&String, &Location)> = self.declared.iter().collect();
        roots.sort_by_key(|(name, location)| (location.path.clone(), location.line, (*name).clone()));
        let mut visited: HashSet<String> = roots.iter().map(|(name, _)| (*name).clone()).collect();
        let mut order: Vec<(String, String)> =
            roots.iter().map(|(name, _)| ((*name).clone(), (*name).clone())).collect();
        let mut required_by = HashMap::new();
        for with_extras in [false, true] {
            let mut queue: VecDeque<(String, String)> = order.iter().cloned().collect();
            while let Some((package, root)) = queue.pop_front() {
                for (child, behind_extra) in graph.get(&package).into_iter().flatten() {
                    if (*behind_extra && !with_extras) || !visited.insert(child.clone()) {
                        continue;
                    }
                    required_by.insert(child.clone(), root.clone());
                    queue.push_back((child.clone(), root.clone()));
                    order.push((child.clone(), root.clone()));
                }
            }
        }
        self.required_by = required_by;
        self
    }

    /// Where package `name` is declared, or what pulls it in.
    pub fn locate(&self, name: &str) -> Located {
        let name = normalize_name(name);
        if let Some(location) = self.declared.get(&name) {
            return Located { location: Some(location.clone()), required_by: None, required: true };
        }
        if let Some(root) = self.required_by.get(&name) {
            return Located {
                location: self.declared.get(root).cloned().or_else(|| self.fallback.clone()),
                required_by: Some(root.clone()),
                required: true,
            };
        }
        Located { location: self.fallback.clone(), required_by: None, required: !self.graph_known }
    }
}

/// The requirements of a requirements file: normalized name and 1-based line, for lines that
/// name a distribution (options, includes, paths and URLs without a name are skipped).
pub fn requirements_lines(text: &str) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    let mut continued = false;
    for (index, line) in text.lines().enumerate() {
        let is_continuation = continued;
        continued = line.trim_end().ends_with('\\');
        if is_continuation {
            continue;
        }
        let line = match line.find('#') {
            Some(start) if start == 0 || line[..start].ends_with(char::is_whitespace) => &line[..start],
            _ => line,
        };
        let line = line.trim().trim_end_matches('\\').trim();
        if line.is_empty() || line.starts_with('-') || line.starts_with('.') || line.starts_with('/') {
            continue;
        }
        if line.contains("://") && !line.contains(" @ ") && !line.contains("@ ") {
            continue;
        }
        let name = requirement_name(line);
        if !name.is_empty() {
            found.push((normalize_name(name), index as u32 + 1));
        }
    }
    found
}

/// Installed distributions in `site_packages` → their requirements (normalized name, and
/// whether it is behind an extra).
pub fn dependency_graph(site_packages: &Path) -> HashMap<String, Vec<(String, bool)>> {
    let mut graph = HashMap::new();
    let Ok(entries) = std::fs::read_dir(site_packages) else { return graph };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().ends_with(".dist-info") {
            continue;
        }
        let Ok(metadata) = std::fs::read_to_string(entry.path().join("METADATA")) else { continue };
        let mut name = None;
        let mut requires = Vec::new();
        for line in metadata.lines() {
            if line.is_empty() {
                break; // The headers end at the first empty line; the description follows.
            }
            if let Some(value) = line.strip_prefix("Name:") {
                name = Some(normalize_name(value.trim()));
            } else if let Some(value) = line.strip_prefix("Requires-Dist:") {
                let (requirement, marker) = value.split_once(';').unwrap_or((value, ""));
                let dependency = normalize_name(requirement_name(requirement));
                if !dependency.is_empty() {
                    requires.push((dependency, marker.contains("extra")));
                }
            }
        }
        if let Some(name) = name {
            graph.insert(name, requires);
        }
    }
    graph
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenlight_checker::PyProject;

    #[test]
    fn requirements_files() {
        let text = "# pinned by pip-compile\n-r base.txt\n--index-url https://example.org/simple\nRequests[socks]==2.19.0 \\\n    --hash=sha256:abc \\\n    --hash=sha256:def\nurllib3==1.23  # via requests\n-e .\n./local/pkg\nhttps://example.org/x.whl\nmy_pkg @ https://example.org/my_pkg.whl\nidna>=2.5; python_version >= '3'\n\nzope.interface\n";
        assert_eq!(
            requirements_lines(text),
            [
                ("requests".to_string(), 4),
                ("urllib3".to_string(), 7),
                ("my-pkg".to_string(), 11),
                ("idna".to_string(), 12),
                ("zope-interface".to_string(), 14)
            ]
        );
    }

    fn write_dist(site: &Path, name: &str, version: &str, requires: &[&str]) {
        let dir = site.join(format!("{}-{version}.dist-info", name.replace('-', "_")));
        std::fs::create_dir_all(&dir).unwrap();
        let mut metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        for requirement in requires {
            metadata.push_str(&format!("Requires-Dist: {requirement}\n"));
        }
        metadata.push_str("\nRequires-Dist: not-a-header (this is the description)\n");
        std::fs::write(dir.join("METADATA"), metadata).unwrap();
    }

    fn project(root: &Path, pyproject: &str) -> Project {
        std::fs::write(root.join("pyproject.toml"), pyproject).unwrap();
        Project {
            root: root.to_path_buf(),
            pyproject: Some(PyProject::parse(pyproject).unwrap()),
            ..Project::default()
        }
    }

    #[test]
    fn declared_and_transitive_dependencies() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let project = project(
            root,
            "[project]\nname = \"svc\"\ndependencies = [\n    \"requests==2.19.0\",\n    \"fastapi\",\n]\n[project.optional-dependencies]\ndev = [\"pytest\"]\n",
        );
        std::fs::write(root.join("requirements-extra.txt"), "# extra\nPyYAML==6.0\n").unwrap();
        let site = root.join("site-packages");
        write_dist(
            &site,
            "requests",
            "2.19.0",
            &["urllib3 (<1.24,>=1.21.1)", "idna (<2.8,>=2.5)", "PySocks (>=1.5.6); extra == 'socks'"],
        );
        write_dist(&site, "urllib3", "1.23", &[]);
        write_dist(&site, "idna", "2.7", &[]);
        write_dist(&site, "fastapi", "0.95.0", &["starlette (<0.27.0,>=0.26.1)", "idna ; extra == 'all'"]);
        write_dist(&site, "starlette", "0.26.1", &["anyio"]);
        write_dist(&site, "anyio", "3.6.2", &["idna>=2.8", "sniffio>=1.1"]);
        write_dist(&site, "sniffio", "1.3.0", &[]);
        write_dist(&site, "pysocks", "1.7.1", &[]);
        write_dist(&site, "pytest", "9.0", &["pluggy"]);
        write_dist(&site, "pluggy", "1.5", &[]);
        write_dist(&site, "pyyaml", "6.0", &[]);
        write_dist(&site, "pip", "23.2.1", &[]);
        write_dist(&site, "svc", "0.1.0", &["requests==2.19.0", "fastapi", "pytest ; extra == 'dev'"]);

        let locator = Locator::new(&project, &["requirements-extra.txt".to_string()]).with_environment(&site);
        let at = |name: &str| {
            let located = locator.locate(name);
            let location = located.location.unwrap();
            (location.path, location.line, located.required_by, located.required)
        };
        assert_eq!(at("Requests"), ("pyproject.toml".into(), Some(4), None, true));
        assert_eq!(at("pytest"), ("pyproject.toml".into(), Some(8), None, true));
        assert_eq!(at("urllib3"), ("pyproject.toml".into(), Some(4), Some("requests".into()), true));
        assert_eq!(at("idna"), ("pyproject.toml".into(), Some(4), Some("requests".into()), true), "nearest root first");
        assert_eq!(at("sniffio"), ("pyproject.toml".into(), Some(5), Some("fastapi".into()), true));
        assert_eq!(at("pluggy"), ("pyproject.toml".into(), Some(8), Some("pytest".into()), true));
        assert_eq!(at("pysocks"), ("pyproject.toml".into(), Some(4), Some("requests".into()), true), "behind an extra");
        assert_eq!(at("pyyaml"), ("requirements-extra.txt".into(), Some(2), None, true));
        assert_eq!(at("pip"), ("pyproject.toml".into(), None, None, false), "nothing requires it");

        let without_graph = Locator::new(&project, &[]);
        assert!(without_graph.locate("pip").required, "unknown without the metadata");
        assert_eq!(without_graph.locate("urllib3").location.unwrap().line, None);
    }

    #[test]
    fn requirements_only_project() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "flask==0.12\n").unwrap();
        let project = Project { root: dir.path().to_path_buf(), ..Project::default() };
        let locator = Locator::new(&project, &["requirements.txt".to_string()]);
        assert_eq!(locator.locate("Flask").location, Some(Location::at("requirements.txt", Some(1), None)));
        assert_eq!(locator.locate("werkzeug").location, Some(Location::at("requirements.txt", None, None)));
        assert_eq!(Locator::default().locate("x").location, None);
    }
}
