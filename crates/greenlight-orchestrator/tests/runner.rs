//! The scheduler with fake checkers: parallelism, limits, needs, fail-fast, timeouts,
//! cancellation, panics, and no process outliving the run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use greenlight_checker::{
    CheckContext, CheckError, CheckResult, Checker, CheckerFactory, CheckerInfo, Detection, Outcome, Project,
    PyProject, Registry,
};
use greenlight_env::Env;
use greenlight_orchestrator::{NoObserver, Plan, RunFlags, RunSettings, Selection};
use greenlight_process::Stop;
use greenlight_report::{CancelReason, RunReport, SkipCause};

/// What a fake checker does.
#[derive(Clone, Copy)]
enum Behaviour {
    /// `sleep` for this many milliseconds, then pass.
    Sleep(u64),
    /// Fail at once.
    Fail,
    /// Start a shell that backgrounds a grandchild (pid written to `<scratch>/../<id>.pid`),
    /// then hang.
    Hang,
    /// Panic.
    Panic,
}

struct Fake {
    id: &'static str,
    behaviour: Behaviour,
    needs: Vec<&'static str>,
}

#[async_trait]
impl Checker for Fake {
    fn id(&self) -> &'static str {
        self.id
    }
    fn info(&self) -> CheckerInfo {
        CheckerInfo { needs: self.needs.clone(), default_timeout: Duration::from_secs(60), ..CheckerInfo::new("fake") }
    }
    fn detect(&self, _project: &Project) -> Detection {
        Detection::applies("always")
    }
    async fn run(&self, cx: &CheckContext) -> Result<CheckResult, CheckError> {
        match self.behaviour {
            Behaviour::Sleep(ms) => {
                let seconds = format!("{:.3}", ms as f64 / 1000.0);
                let output = cx.invocation("sleep", cx.cmd("sleep").arg(seconds)).run().await?;
                Ok(if output.status.success() {
                    CheckResult::passed("slept")
                } else {
                    CheckResult::errored("sleep failed")
                })
            }
            Behaviour::Fail => Ok(CheckResult::failed("1 finding")),
            Behaviour::Hang => {
                let pidfile = cx.project.root.join(format!("{}.pid", self.id));
                let script = format!("sleep 300 & echo $! > {}; sleep 300", pidfile.display());
                cx.invocation("sh", cx.cmd("sh").args(["-c", &script])).run().await?;
                Ok(CheckResult::passed("?"))
            }
            Behaviour::Panic => panic!("the fake checker panicked on purpose"),
        }
    }
}

macro_rules! fake {
    ($id:literal, $behaviour:expr) => {
        fake!($id, $behaviour, [])
    };
    ($id:literal, $behaviour:expr, [$($need:literal),*]) => {
        CheckerFactory { id: $id, build: |_| Ok(Arc::new(Fake { id: $id, behaviour: $behaviour, needs: vec![$($need),*] })) }
    };
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), format!("[project]\nname = \"fake\"\n{config}")).unwrap();
        Self { dir }
    }

    fn project(&self) -> Project {
        let text = std::fs::read_to_string(self.dir.path().join("pyproject.toml")).unwrap();
        Project {
            root: self.dir.path().to_path_buf(),
            pyproject: Some(PyProject::parse(&text).unwrap()),
            ..Project::default()
        }
    }

    async fn run(&self, registry: &[CheckerFactory], flags: RunFlags, stop: Stop) -> (RunReport, Duration) {
        let registry = Registry::from(registry.to_vec());
        let plan = Plan::new(self.project(), &registry, &Selection::default(), &Default::default()).unwrap();
        let settings = RunSettings::resolve(&flags, &plan.config.settings, &Env::default());
        let started = Instant::now();
        let report = greenlight_orchestrator::run(plan, settings, Arc::new(NoObserver), stop).await;
        (report, started.elapsed())
    }
}

fn outcome(report: &RunReport, id: &str) -> Outcome {
    report.check(id).unwrap_or_else(|| panic!("{id} not in the report")).outcome
}

fn pid_alive(pidfile: &std::path::Path) -> bool {
    let Ok(pid) = std::fs::read_to_string(pidfile) else { return false };
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).is_ok_and(|stat| !stat.contains(") Z "))
}

fn jobs(n: usize) -> RunFlags {
    RunFlags { jobs: Some(n), cache: Some(false), ..RunFlags::default() }
}

#[tokio::test]
async fn checks_run_concurrently() {
    let setup = Setup::new("");
    let registry =
        [fake!("a", Behaviour::Sleep(1000)), fake!("b", Behaviour::Sleep(1000)), fake!("c", Behaviour::Sleep(1000))];
    let (report, elapsed) = setup.run(&registry, jobs(3), Stop::new()).await;
    assert!(["a", "b", "c"].iter().all(|id| outcome(&report, id) == Outcome::Passed), "{report:?}");
    assert!(elapsed < Duration::from_millis(2500), "three 1 s checks took {elapsed:?}");
}

#[tokio::test]
async fn jobs_limits_cpu_bound_checks() {
    let setup = Setup::new("");
    let registry =
        [fake!("a", Behaviour::Sleep(300)), fake!("b", Behaviour::Sleep(300)), fake!("c", Behaviour::Sleep(300))];
    let (report, elapsed) = setup.run(&registry, jobs(1), Stop::new()).await;
    assert_eq!(report.outcome, Outcome::Passed);
    assert!(elapsed >= Duration::from_millis(900), "--jobs 1 ran them at once: {elapsed:?}");
}

#[tokio::test]
async fn failed_need_skips_dependents_with_the_reason() {
    let setup = Setup::new("");
    let registry = [fake!("lint", Behaviour::Fail), fake!("deploy", Behaviour::Sleep(10), ["lint"])];
    let (report, _) = setup.run(&registry, jobs(2), Stop::new()).await;
    assert_eq!(outcome(&report, "lint"), Outcome::Failed);
    let deploy = report.check("deploy").unwrap();
    assert_eq!(deploy.outcome, Outcome::Skipped);
    assert!(deploy.reason.as_deref().unwrap().contains("needs `lint`, which failed"), "{deploy:?}");
    assert_eq!(deploy.skip_cause, Some(SkipCause::NeedFailed { need: "lint".into(), outcome: Outcome::Failed }));
    assert_eq!(greenlight_report::ExitCode::for_report(&report), greenlight_report::ExitCode::Failed);
}

#[tokio::test]
async fn a_failed_need_skips_the_dependents_of_its_dependents() {
    // `a` waits on `b`, which waits on `lint`: when `lint` fails, both are skipped, not left
    // "not started".
    let setup = Setup::new("[tool.greenlight.a]\nneeds = [\"b\"]\n");
    let registry =
        [fake!("lint", Behaviour::Fail), fake!("b", Behaviour::Sleep(10), ["lint"]), fake!("a", Behaviour::Sleep(10))];
    let (report, _) = setup.run(&registry, jobs(2), Stop::new()).await;
    let a = report.check("a").unwrap();
    assert_eq!(a.outcome, Outcome::Skipped, "{a:?}");
    assert_eq!(a.skip_cause, Some(SkipCause::NeedFailed { need: "b".into(), outcome: Outcome::Skipped }));
    assert_eq!(outcome(&report, "b"), Outcome::Skipped);
    assert!(!report.interrupted);
}

#[tokio::test]
async fn configured_needs_order_checks() {
    let setup = Setup::new("[tool.greenlight.b]\nneeds = [\"a\"]\n");
    let registry = [fake!("a", Behaviour::Sleep(300)), fake!("b", Behaviour::Sleep(300))];
    let (report, elapsed) = setup.run(&registry, jobs(4), Stop::new()).await;
    assert_eq!(report.outcome, Outcome::Passed);
    assert!(elapsed >= Duration::from_millis(600), "b did not wait for a: {elapsed:?}");
}

#[tokio::test]
async fn fail_fast_cancels_the_rest() {
    let setup = Setup::new("");
    let registry = [
        fake!("fails", Behaviour::Fail),
        fake!("slow", Behaviour::Sleep(30_000)),
        fake!("later", Behaviour::Sleep(10)),
    ];
    let options = RunFlags { fail_fast: Some(true), ..jobs(1) };
    let (report, elapsed) = setup.run(&registry, options, Stop::new()).await;
    assert_eq!(outcome(&report, "fails"), Outcome::Failed);
    assert!(elapsed < Duration::from_secs(10), "fail-fast waited: {elapsed:?}");
    for id in ["slow", "later"] {
        assert_eq!(outcome(&report, id), Outcome::Cancelled, "{id}: {report:?}");
        assert_eq!(report.check(id).unwrap().cancel_reason, Some(CancelReason::FailFast), "{id}");
    }
    assert_eq!(report.check("fails").unwrap().cancel_reason, None);
    assert!(!report.interrupted);
    assert_eq!(greenlight_report::ExitCode::for_report(&report), greenlight_report::ExitCode::Failed);
}

#[tokio::test]
async fn timeout_kills_the_check_and_its_grandchildren() {
    let setup = Setup::new("[tool.greenlight.hang]\ntimeout = \"500ms\"\n");
    let registry = [fake!("hang", Behaviour::Hang), fake!("ok", Behaviour::Sleep(10))];
    let (report, elapsed) = setup.run(&registry, jobs(2), Stop::new()).await;
    let hang = report.check("hang").unwrap();
    assert_eq!(hang.outcome, Outcome::TimedOut, "{hang:?}");
    assert!(hang.reason.as_deref().unwrap().contains("timeout"), "{hang:?}");
    assert_eq!(outcome(&report, "ok"), Outcome::Passed);
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(!pid_alive(&setup.dir.path().join("hang.pid")), "a grandchild outlived the timeout");
    assert_eq!(greenlight_report::ExitCode::for_report(&report), greenlight_report::ExitCode::Errored);
}

#[tokio::test]
async fn overall_timeout_stops_everything() {
    let setup = Setup::new("");
    let registry = [fake!("hang", Behaviour::Hang), fake!("queued", Behaviour::Sleep(10), ["hang"])];
    let options = RunFlags { timeout: Some(Duration::from_millis(500)), ..jobs(2) };
    let (report, elapsed) = setup.run(&registry, options, Stop::new()).await;
    assert_eq!(outcome(&report, "hang"), Outcome::TimedOut);
    assert_eq!(outcome(&report, "queued"), Outcome::Cancelled);
    for id in ["hang", "queued"] {
        assert_eq!(report.check(id).unwrap().cancel_reason, Some(CancelReason::Deadline), "{id}");
    }
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(!pid_alive(&setup.dir.path().join("hang.pid")));
}

#[tokio::test]
async fn cancellation_stops_running_and_pending_checks() {
    let setup = Setup::new("");
    let registry = [fake!("hang", Behaviour::Hang), fake!("pending", Behaviour::Sleep(10), ["hang"])];
    let stop = Stop::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        trigger.cancel();
    });
    let (report, elapsed) = setup.run(&registry, jobs(2), stop).await;
    assert!(report.interrupted);
    assert_eq!(outcome(&report, "hang"), Outcome::Cancelled);
    assert_eq!(outcome(&report, "pending"), Outcome::Cancelled);
    for id in ["hang", "pending"] {
        assert_eq!(report.check(id).unwrap().cancel_reason, Some(CancelReason::Interrupted), "{id}");
    }
    assert!(elapsed < Duration::from_secs(10), "{elapsed:?}");
    assert!(!pid_alive(&setup.dir.path().join("hang.pid")), "a grandchild outlived the cancellation");
    assert_eq!(greenlight_report::ExitCode::for_report(&report), greenlight_report::ExitCode::Interrupted);
}

#[tokio::test]
async fn a_panicking_checker_is_errored_and_the_rest_run() {
    let setup = Setup::new("");
    let registry = [fake!("boom", Behaviour::Panic), fake!("ok", Behaviour::Sleep(10))];
    let (report, _) = setup.run(&registry, jobs(2), Stop::new()).await;
    let boom = report.check("boom").unwrap();
    assert_eq!(boom.outcome, Outcome::Errored);
    assert!(boom.reason.as_deref().unwrap().contains("panicked on purpose"), "{boom:?}");
    assert_eq!(outcome(&report, "ok"), Outcome::Passed);
}

#[tokio::test]
async fn disabled_and_skipped_checks_are_reported_with_reasons() {
    let setup = Setup::new("[tool.greenlight]\nskip = [\"b\"]\n[tool.greenlight.c]\nenabled = false\n");
    let registry =
        [fake!("a", Behaviour::Sleep(10)), fake!("b", Behaviour::Sleep(10)), fake!("c", Behaviour::Sleep(10))];
    let (report, _) = setup.run(&registry, jobs(2), Stop::new()).await;
    assert_eq!(outcome(&report, "a"), Outcome::Passed);
    assert!(report.check("b").unwrap().reason.as_deref().unwrap().contains("skip"));
    assert!(report.check("c").unwrap().reason.as_deref().unwrap().contains("disabled in [tool.greenlight.c]"));
    assert_eq!(report.check("b").unwrap().skip_cause, Some(SkipCause::SkipConfig));
    assert_eq!(report.check("c").unwrap().skip_cause, Some(SkipCause::Disabled));
    assert_eq!(report.check("a").unwrap().skip_cause, None);
    assert_eq!(report.outcome, Outcome::Passed);
}

#[test]
fn a_cycle_of_needs_is_a_configuration_error() {
    let setup = Setup::new("[tool.greenlight.a]\nneeds = [\"b\"]\n[tool.greenlight.b]\nneeds = [\"a\"]\n");
    let registry = [fake!("a", Behaviour::Sleep(10)), fake!("b", Behaviour::Sleep(10))];
    let registry = Registry::from(registry.to_vec());
    let error = Plan::new(setup.project(), &registry, &Selection::default(), &Default::default()).unwrap_err();
    assert!(error.to_string().contains("a → b → a"), "{error}");
}
