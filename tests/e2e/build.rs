//! The `build` check: the real `python -m build` (with uv as installer) on copies of the
//! fixtures, from a clean copy of the project, with the artifacts verified.

use greenlight_e2e::{Expected, TempProject, require_tool};
use greenlight_report::Outcome;

fn check_fixture(name: &str) {
    if !require_tool("pyproject-build") {
        return;
    }
    let expected = Expected::load(name);
    let project = TempProject::fixture(name);
    let before = project.snapshot();
    let result = project.run_checks(&expected.check_ids());
    expected.assert_matches(&result);
    assert_eq!(project.snapshot(), before, "the build changed the project's files\n{}", result.output());
}

#[test]
fn broken_packaging_metadata_fails_with_the_backends_error() {
    check_fixture("build-broken-metadata");
}

#[test]
fn a_build_backend_that_cannot_be_installed_is_errored() {
    check_fixture("build-backend-unavailable");
}

/// The docker-service fixture in git, with `apps/api/local_settings.py` there but ignored.
fn service_with_an_ignored_file() -> TempProject {
    let project = TempProject::fixture("docker-service");
    project.write(".gitignore", "apps/api/local_settings.py\n");
    project.write("apps/api/local_settings.py", "DEBUG = True\n");
    project.git_init();
    project
}

/// A git project with an ignored file inside a package: the build sees what CI's clean
/// checkout sees, leaves no `*.egg-info/`, `build/` or `dist/` behind, and reports verified
/// artifacts with their hashes.
#[test]
fn builds_from_a_clean_copy_and_reports_verified_artifacts() {
    if !require_tool("pyproject-build") {
        return;
    }
    let project = service_with_an_ignored_file();
    let before = project.snapshot();
    let result = project.run_checks(&["build"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let check = result.report().check("build").expect("build in the report").clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}");
    assert_eq!(project.snapshot(), before, "the build changed the project's files\n{}", result.output());
    for leftover in ["docker_service.egg-info", "build", "dist"] {
        assert!(!project.path().join(leftover).exists(), "{leftover} was written into the project");
    }

    let kinds: Vec<&str> = check.artifacts.iter().map(|artifact| artifact.kind.as_str()).collect();
    assert_eq!(kinds, ["wheel", "sdist"], "{:?}", check.artifacts);
    for artifact in &check.artifacts {
        let path = project.path().join(&artifact.path);
        let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(artifact.size, Some(bytes.len() as u64));
        let sha256 = std::process::Command::new("sha256sum").arg(&path).output().expect("sha256sum");
        let sha256 = String::from_utf8_lossy(&sha256.stdout);
        assert_eq!(artifact.sha256.as_deref(), sha256.split_whitespace().next(), "{artifact:?}");
    }
    let wheel = project.path().join(&check.artifacts[0].path);
    let listing = std::process::Command::new("python3").args(["-m", "zipfile", "-l"]).arg(&wheel).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("apps/api/main.py"), "{listing}");
    assert!(!listing.contains("local_settings"), "a file ignored by git was built into the wheel:\n{listing}");
}

/// A package directory that exists only as an untracked, ignored folder is missing from a
/// clean checkout: the build fails here as it would in CI.
#[test]
fn a_file_missing_from_git_fails_as_in_ci() {
    if !require_tool("pyproject-build") {
        return;
    }
    let project = TempProject::fixture("docker-service");
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write("pyproject.toml", &pyproject.replace("include = [\"apps*\", \"packages*\"]", "where = [\"src\"]"));
    project.write("src/docker_service/__init__.py", "");
    project.write(".gitignore", "src/\n");
    project.git_init();
    let result = project.run_checks(&["build"]);
    assert_eq!(result.code, Some(1), "{}", result.output());
    let check = result.report().check("build").unwrap().clone();
    assert_eq!(check.outcome, Outcome::Failed, "{check:?}");
    assert!(check.summary.contains("'src' does not exist"), "{check:?}");
}

/// A checkout owned by another user (a container's bind mount, a CI workspace): git refuses it
/// unless it is marked safe, and the build must still copy only what git lists, never fall
/// back to a walk that brings along git-ignored files.
#[test]
fn a_checkout_owned_by_another_user_builds_what_git_lists() {
    if !require_tool("pyproject-build") {
        return;
    }
    let project = service_with_an_ignored_file();
    if !project.give_to_another_user() {
        return;
    }

    let result = project.run_checks(&["build"]);
    assert_eq!(result.code, Some(0), "{}", result.output());
    let check = result.report().check("build").expect("build in the report").clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}");
    let log_path = project.path().join(&check.log.as_ref().expect("a log").path);
    let log = std::fs::read_to_string(&log_path).unwrap_or_else(|error| panic!("{}: {error}", log_path.display()));
    assert!(log.contains("listed by `git ls-files -co --exclude-standard`"), "{log}");
    assert!(!log.contains("not a git repository"), "{log}");

    let sdist = check.artifacts.iter().find(|artifact| artifact.kind == "sdist").expect("an sdist");
    let sdist = project.path().join(&sdist.path);
    let listing = std::process::Command::new("python3").args(["-m", "tarfile", "-l"]).arg(&sdist).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("apps/api/main.py"), "{listing}");
    assert!(!listing.contains("local_settings"), "a file ignored by git was packed into the sdist:\n{listing}");
}

/// With the default configuration an unchanged re-run replays the build: its key holds the
/// versions its backend resolves to (kept for a day), not a network time to live. A new
/// resolution (another backend release) builds again; so does a changed file.
#[test]
fn an_unchanged_rerun_replays_the_build_keyed_on_its_backends_versions() {
    if !(require_tool("pyproject-build") && require_tool("uv")) {
        return;
    }
    let project = TempProject::fixture("clean-service");
    project.git_init();
    let cached = |result: &greenlight_e2e::RunResult| {
        assert_eq!(result.code, Some(0), "{}", result.output());
        result.report().check("build").unwrap().cached
    };
    assert!(!cached(&project.run_checks(&["build"])));
    assert!(cached(&project.run_checks(&["build"])), "an unchanged re-run built again");
    let kept = project.path().join(".greenlight/build-backend");
    let resolutions: Vec<_> = std::fs::read_dir(&kept).unwrap().flatten().map(|entry| entry.path()).collect();
    assert_eq!(resolutions.len(), 1, "{resolutions:?}");
    let pins = std::fs::read_to_string(&resolutions[0]).unwrap();
    assert!(pins.lines().any(|line| line.starts_with("setuptools==")), "{pins}");
    // The index now answers with another setuptools (as after a release).
    std::fs::write(&resolutions[0], pins.replace("setuptools==", "setuptools==0.0.0+other-")).unwrap();
    assert!(!cached(&project.run_checks(&["build"])), "another backend version replayed");
    project.write("README.md", "# clean-service\n");
    assert!(!cached(&project.run_checks(&["build"])), "a new file replayed");
}

/// `python -m build` itself crashing (a stand-in for its command that dies with Python's own
/// traceback, as a broken installation of build does: build cannot be made to crash on
/// demand) is `errored`, not the project's failure.
#[test]
fn a_crash_of_the_build_frontend_is_errored() {
    let project = TempProject::fixture("docker-service");
    project.write(
        "fake-build",
        "#!/usr/bin/env python3\nimport sys\nif sys.argv[1:] == ['--version']:\n    print('build 1.6.1 (fake)')\n    sys.exit(0)\nraise KeyError('PATH')\n",
    );
    std::fs::set_permissions(project.path().join("fake-build"), std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .unwrap();
    let pyproject = std::fs::read_to_string(project.path().join("pyproject.toml")).unwrap();
    project.write(
        "pyproject.toml",
        &format!("{pyproject}\n[tool.greenlight.tools]\nbuild = {{ path = \"fake-build\" }}\n"),
    );
    let result = project.run_checks(&["build"]);
    let check = result.report().check("build").expect("build in the report").clone();
    assert_eq!((check.outcome, result.code), (Outcome::Errored, Some(2)), "{check:?}\n{}", result.output());
    assert!(check.summary.contains("without saying the project is at fault"), "{check:?}");
    assert!(check.reason.as_deref().unwrap_or_default().contains("KeyError: 'PATH'"), "{check:?}");
}

/// A file whose name is not UTF-8 is kept in the clean copy the build runs in, and the wheel
/// has the package beside it.
#[test]
fn a_file_name_that_is_not_utf8_is_kept_in_the_clean_copy() {
    use std::os::unix::ffi::OsStrExt as _;
    if !require_tool("pyproject-build") {
        return;
    }
    let project = TempProject::fixture("docker-service");
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    std::fs::write(project.path().join("apps/api").join(name), "latin-1 name\n").unwrap();
    project.git_init();
    let result = project.run_checks(&["build", "-v"]);
    let check = result.report().check("build").expect("build in the report").clone();
    assert_eq!(check.outcome, Outcome::Passed, "{check:?}\n{}", result.output());
    let wheel = check.artifacts.iter().find(|artifact| artifact.kind == "wheel").expect("a wheel");
    let listing = std::process::Command::new("python3")
        .args(["-c", "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))"])
        .arg(project.path().join(&wheel.path))
        .output()
        .unwrap();
    let names = String::from_utf8_lossy(&listing.stdout);
    assert!(names.contains("apps/api/main.py"), "{names}");
    let log = std::fs::read_to_string(project.path().join(&check.log.as_ref().unwrap().path)).unwrap();
    let copied = log.lines().find(|line| line.contains("clean copy of")).unwrap_or_default().to_string();
    let listed = project.git(&["ls-files", "-z"]).split('\0').filter(|name| !name.is_empty()).count();
    assert!(copied.contains(&format!("clean copy of {listed} files")), "{copied} (git lists {listed})");
}
