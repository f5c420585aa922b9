//! The loopback endpoint lives exactly as long as the check: it serves while pip-audit runs
//! and is closed when the check returns, also when the check is stopped (Ctrl-C, timeout) or
//! abandoned. pip-audit is a stand-in script here (the real one finishes too fast to be
//! stopped mid-run); the end-to-end tests run the real one.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use greenlight_checker::process::Stop;
use greenlight_checker::{
    CheckContext, ConfigOverrides, ConfigSource, Outcome, Project, PythonEnv, ResolvedTool, ToolSource,
};

/// A directory with a stand-in pip-audit that records its arguments and waits.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("pip-audit");
        std::fs::write(&script, "#!/bin/sh\necho \"$@\" > \"$(dirname \"$0\")/args.tmp\"\nmv \"$(dirname \"$0\")/args.tmp\" \"$(dirname \"$0\")/args\"\nexec sleep 60\n").unwrap();
        std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(dir.path().join("venv/lib/python3.11/site-packages")).unwrap();
        std::fs::create_dir_all(dir.path().join("scratch")).unwrap();
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn context(&self, stop: Stop) -> CheckContext {
        let root = self.path().to_path_buf();
        let tool = ResolvedTool {
            name: "pip-audit".into(),
            path: root.join("pip-audit"),
            version: "2.10.1".into(),
            source: ToolSource::Config,
        };
        CheckContext {
            project: Arc::new(Project { root: root.clone(), ..Project::default() }),
            tools: BTreeMap::from([("pip-audit".to_string(), tool)]),
            environment: Some(PythonEnv {
                root: root.join("venv"),
                python: root.join("venv/bin/python"),
                site_packages: root.join("venv/lib/python3.11/site-packages"),
                python_version: "3.11.7".into(),
            }),
            scratch: root.join("scratch"),
            log_path: root.join("pip-audit.log"),
            stop,
            fix: false,
            pass_env: Vec::new(),
            run_id: "test".into(),
            vars: BTreeMap::from([("GREENLIGHT_CACHE_DIR".to_string(), root.join("cache").display().to_string())]),
            at_revision: false,
            changed: None,
            secrets: Default::default(),
            state_dir: std::env::temp_dir(),
            partition: None,
        }
    }

    /// Waits for the stand-in to start and returns the endpoint's address.
    async fn endpoint(&self) -> String {
        let args = self.path().join("args");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !args.exists() {
            assert!(Instant::now() < deadline, "pip-audit was not started");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let args = std::fs::read_to_string(args).unwrap();
        let url = args.split_whitespace().skip_while(|arg| *arg != "--osv-url").nth(1).unwrap().to_string();
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/v1/query"), "{url}");
        url.trim_start_matches("http://").trim_end_matches("/v1/query").to_string()
    }
}

/// The checker with `advisory-db` set as `--advisory-db` sets it (the bundled records by
/// default).
fn checker_with(db: &Path) -> Arc<dyn greenlight_checker::Checker> {
    let mut overrides = ConfigOverrides::default();
    overrides.set(greenlight_plugin_pip_audit::ADVISORY_DB, db.display().to_string()).unwrap();
    let source = ConfigSource::empty().with_overrides(overrides);
    greenlight_plugin_pip_audit::checker(&source).unwrap_or_else(|_| panic!("the default configuration"))
}

fn checker() -> Arc<dyn greenlight_checker::Checker> {
    checker_with(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/advisory-db"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_check_closes_the_endpoint_before_it_returns() {
    let setup = Setup::new();
    let stop = Stop::new();
    let cx = setup.context(stop.clone());
    let task = tokio::spawn(async move { greenlight_checker::execute(&*checker(), &cx).await });
    let address = setup.endpoint().await;
    assert!(TcpStream::connect(&address).is_ok(), "the endpoint serves while pip-audit runs");

    stop.cancel();
    let result = tokio::time::timeout(Duration::from_secs(30), task).await.expect("the check returns").unwrap();
    assert_eq!(result.outcome, Outcome::Cancelled, "{result:?}");
    assert!(TcpStream::connect(&address).is_err(), "the endpoint is closed when the check returns");
    let log = std::fs::read_to_string(setup.path().join("pip-audit.log")).unwrap();
    assert!(log.contains("advisory database") && log.contains("8 advisories"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_check_closes_the_endpoint() {
    let setup = Setup::new();
    let cx = setup.context(Stop::new());
    let run = async move { greenlight_checker::execute(&*checker(), &cx).await };
    let endpoint = setup.endpoint();
    // The check is dropped mid-run, as the scheduler does with a check that ignores its stop.
    let (_, address) = tokio::join!(tokio::time::timeout(Duration::from_secs(5), run), endpoint);
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&address).is_ok() {
        assert!(Instant::now() < deadline, "the endpoint outlived the dropped check");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_database_is_errored_before_anything_runs() {
    let setup = Setup::new();
    let cx = setup.context(Stop::new());
    let result = greenlight_checker::execute(&*checker_with(&PathBuf::from("/no/such/db")), &cx).await;
    assert_eq!(result.outcome, Outcome::Errored);
    assert!(
        result.summary.starts_with("not audited: cannot use the advisory database: /no/such/db does not exist"),
        "{}",
        result.summary
    );
    assert!(!setup.path().join("args").exists(), "pip-audit did not run");
}
