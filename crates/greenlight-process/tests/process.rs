//! The process layer against real programs (`sh`, `sleep`).
#![allow(unsafe_code, reason = "set_var in a test")]

use std::time::{Duration, Instant};

use greenlight_process::{Cmd, ExitState, ProcessError, Stop};

fn pid_alive(pid: i32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| stat.contains(") Z "))
}

#[tokio::test]
async fn exit_codes_and_output() {
    let output = Cmd::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).run(&Stop::new()).await.unwrap();
    assert_eq!(output.status, ExitState::Exited(3));
    assert_eq!(output.stdout.text(), "out\n");
    assert_eq!(output.stderr.text(), "err\n");
}

#[tokio::test]
async fn missing_program_is_not_found() {
    let error = Cmd::new("greenlight-no-such-program").run(&Stop::new()).await.unwrap_err();
    assert!(matches!(error, ProcessError::NotFound { .. }), "{error}");
}

#[tokio::test]
async fn megabytes_on_both_streams_do_not_deadlock() {
    let script = "head -c 10000000 /dev/zero | tr '\\0' a; head -c 10000000 /dev/zero | tr '\\0' b >&2";
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.log");
    let output =
        Cmd::new("sh").args(["-c", script]).capture_limit(1024).log_file(&log).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.total(), 10_000_000);
    assert_eq!(output.stderr.total(), 10_000_000);
    assert!(output.stdout.bytes().len() < 2048);
    // The log has the whole of both streams.
    assert!(std::fs::metadata(&log).unwrap().len() > 20_000_000);
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("grandchild.pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let started = Instant::now();
    let output = Cmd::new("sh")
        .args(["-c", &script])
        .timeout(Duration::from_millis(500))
        .grace(Duration::from_millis(200))
        .run(&Stop::new())
        .await
        .unwrap();
    assert_eq!(output.status, ExitState::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(!pid_alive(pid), "grandchild {pid} outlived the timeout");
}

#[tokio::test]
async fn sigterm_ignoring_child_gets_sigkill_after_grace() {
    let output = Cmd::new("sh")
        .args(["-c", "trap '' TERM; sleep 300"])
        .timeout(Duration::from_millis(200))
        .grace(Duration::from_millis(300))
        .run(&Stop::new())
        .await
        .unwrap();
    assert_eq!(output.status, ExitState::TimedOut);
}

#[tokio::test]
async fn stop_cancels_and_kill_skips_grace() {
    let stop = Stop::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.kill();
    });
    let started = Instant::now();
    let output =
        Cmd::new("sh").args(["-c", "trap '' TERM; sleep 300"]).grace(Duration::from_secs(60)).run(&stop).await.unwrap();
    assert_eq!(output.status, ExitState::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(10), "kill waited for the grace period");
}

#[tokio::test]
async fn background_stragglers_are_killed_after_exit() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("straggler.pid");
    // The child exits at once; the straggler keeps stdout open and would hang the drain.
    let script = format!("sleep 300 & echo $! > {}", pidfile.display());
    let output = Cmd::new("sh").args(["-c", &script]).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(!pid_alive(pid), "straggler {pid} outlived its parent");
}

#[tokio::test]
async fn death_by_signal_is_reported() {
    let output = Cmd::new("sh").args(["-c", "kill -SEGV $$"]).run(&Stop::new()).await.unwrap();
    assert_eq!(output.status, ExitState::Signaled(libc_sigsegv()));
    assert_eq!(output.status.to_string(), "killed by SIGSEGV");
}

fn libc_sigsegv() -> i32 {
    11
}

#[tokio::test]
async fn dropping_the_future_kills_the_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let script = format!("echo $$ > {}; sleep 300", pidfile.display());
    let command = Cmd::new("sh").args(["-c", &script]);
    let stop = Stop::new();
    let _ = tokio::time::timeout(Duration::from_millis(500), command.run(&stop)).await;
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(!pid_alive(pid), "{pid} outlived its dropped future");
}

#[tokio::test]
async fn secrets_are_not_passed_unless_allowed() {
    // SAFETY: tests in this binary do not read these variables concurrently.
    unsafe {
        std::env::set_var("GREENLIGHT_TEST_TOKEN", "s3cr3t");
    }
    let output = Cmd::new("sh").args(["-c", "echo \"[$GREENLIGHT_TEST_TOKEN]\""]).run(&Stop::new()).await.unwrap();
    assert_eq!(output.stdout.text(), "[]\n");
    let output = Cmd::new("sh")
        .args(["-c", "echo \"[$GREENLIGHT_TEST_TOKEN]\""])
        .pass_env(&["GREENLIGHT_TEST_TOKEN".to_string()])
        .run(&Stop::new())
        .await
        .unwrap();
    assert_eq!(output.stdout.text(), "[s3cr3t]\n");
}
