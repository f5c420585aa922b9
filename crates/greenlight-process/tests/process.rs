//! The process layer against real programs (`sh`, `sleep`, `setsid`, `yes`) misbehaving in
//! every way a tool can: floods, stalls, ignored SIGTERM, closed stdin, descendants that leave
//! the group or keep the pipes, non-UTF-8 bytes, and a greenlight that is SIGKILLed.
//!
//! Every test marks its processes with an environment variable of its own and ends by
//! checking `/proc` that no process with that mark is alive.
#![allow(unsafe_code, reason = "set_var and kill(2) in tests")]

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use greenlight_process::{
    Cmd, DEFAULT_LOG_HEAD, DEFAULT_LOG_TAIL, ExitState, ProcessError, ProcessRecord, Stop, Stream, sweep_leftovers,
};

const MARK: &str = "GREENLIGHT_TEST_MARK";

/// `sh -c script`, marked with `mark` (inherited by everything it starts).
fn sh(mark: &str, script: &str) -> Cmd {
    Cmd::new("sh").args(["-c", script]).env(MARK, mark)
}

/// One test's processes and files: a mark they all inherit, a scratch directory for the pid
/// files its scripts write, and, when dropped at the end of a test that passed, the check
/// that no process carrying the mark is alive.
struct Scene {
    mark: String,
    dir: tempfile::TempDir,
}

impl Scene {
    fn new(name: &str) -> Self {
        Self { mark: format!("{name}-{}", std::process::id()), dir: tempfile::tempdir().unwrap() }
    }

    /// `sh -c script`, marked.
    fn sh(&self, script: &str) -> Cmd {
        sh(&self.mark, script)
    }

    /// A path in the scratch directory.
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            assert_nothing_left(&self.mark);
        }
    }
}

fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

fn alive(pid: i32) -> bool {
    stat_fields(pid).is_some_and(|fields| fields[0] != "Z" && fields[0] != "X")
}

/// Live processes carrying `mark`, as `pid cmdline`.
fn marked(mark: &str) -> Vec<String> {
    let needle = format!("{MARK}={mark}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else { continue };
        if environ.split(|&byte| byte == 0).any(|var| var == needle.as_bytes()) && alive(pid) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            found.push(format!("{pid} {}", String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

/// Fails unless no process carrying `mark` is alive (SIGKILLed ones get a moment to go).
fn assert_nothing_left(mark: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = marked(mark);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits for a file that a script writes its pid to.
fn read_pid(path: &Path) -> i32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(text) = std::fs::read_to_string(path)
            && let Ok(pid) = text.trim().parse()
        {
            return pid;
        }
        assert!(Instant::now() < deadline, "{} was not written", path.display());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A shell snippet that waits until the process whose pid is in `pidfile` runs `command`
/// (its words joined by spaces): a tool that ends only then leaves a process that has exec'd.
fn until_running(pidfile: &Path, command: &str) -> String {
    format!(
        "until [ -s {0} ] && [ \"$(tr '\\0' ' ' < /proc/$(cat {0})/cmdline)\" = '{command} ' ]; do sleep 0.01; done",
        pidfile.display()
    )
}

/// Waits until `pid` runs `command` (its words joined by spaces): it has exec'd.
fn wait_exec(pid: i32, command: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).replace('\0', " ").trim_end() == command {
            return;
        }
        assert!(Instant::now() < deadline, "{} never ran `{command}`", describe(pid));
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `pid`'s stat fields and command line, for failure messages.
fn describe(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    format!(
        "{pid} {:?} `{}`",
        stat_fields(pid).map(|f| f[..5].to_vec()),
        String::from_utf8_lossy(&cmdline).replace('\0', " ")
    )
}

fn wait_dead(pid: i32) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

#[tokio::test]
async fn exit_codes_and_output() {
    let output = Cmd::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]).run(&Stop::new()).await.unwrap();
    assert_eq!(output.status, ExitState::Exited(3));
    assert_eq!(output.stdout.text(), "out\n");
    assert_eq!(output.stderr.text(), "err\n");
    assert!(output.leaked.is_none());
}

#[tokio::test]
async fn missing_program_is_not_found() {
    let error = Cmd::new("greenlight-no-such-program").run(&Stop::new()).await.unwrap_err();
    assert!(matches!(error, ProcessError::NotFound { .. }), "{error}");
}

#[tokio::test]
async fn megabytes_on_both_streams_do_not_deadlock_and_are_bounded_per_stream() {
    let scene = Scene::new("flood-both");
    let script = "head -c 10000000 /dev/zero | tr '\\0' a; head -c 10000000 /dev/zero | tr '\\0' b >&2";
    let log = scene.path("big.log");
    let output = scene
        .sh(script)
        .stdout_limit(1024)
        .stderr_limit(8192)
        .log_file(&log)
        .log_limit(64 * 1024, 64 * 1024)
        .run(&Stop::new())
        .await
        .unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.total(), 10_000_000);
    assert_eq!(output.stderr.total(), 10_000_000);
    // Each stream keeps its own limit (plus the omission marker).
    assert!(output.stdout.bytes().len() < 1024 + 100, "{}", output.stdout.bytes().len());
    assert!((8192..8192 + 100).contains(&output.stderr.bytes().len()), "{}", output.stderr.bytes().len());
    // The log keeps its head and tail: the command line first, the status last.
    let logged = std::fs::read(&log).unwrap();
    assert!(logged.len() <= 64 * 1024 + 2 * 64 * 1024 + 200, "{} bytes on disk", logged.len());
    let text = String::from_utf8_lossy(&logged);
    assert!(text.starts_with("$ sh -c "), "{}", &text[..100]);
    assert!(text.contains("bytes omitted: this log keeps the first 64 KiB and the last 64 KiB"));
    assert!(text.trim_end().ends_with("s]") && text.contains("[exit code 0 after"), "{}", &text[text.len() - 200..]);
    assert!(text.contains("bbbbbbbb"), "the tail holds the end of stderr");
}

#[tokio::test]
async fn one_stream_limit_does_not_apply_to_the_other() {
    let script = "head -c 600000 /dev/zero; head -c 600000 /dev/zero >&2";
    let output = Cmd::new("sh").args(["-c", script]).stdout_limit(1 << 20).run(&Stop::new()).await.unwrap();
    assert!(output.stdout.is_complete());
    assert_eq!(output.stdout.bytes().len(), 600_000);
    assert!(!output.stderr.is_complete(), "stderr keeps the default limit");
    assert!(output.stderr.bytes().len() < greenlight_process::DEFAULT_CAPTURE_LIMIT + 100);
}

#[tokio::test]
async fn an_endless_flood_is_bounded_in_memory_and_on_disk() {
    let scene = Scene::new("flood-endless");
    let log = scene.path("flood.log");
    let output = scene
        .sh("yes 'a line of output that repeats'")
        .log_file(&log)
        .timeout(Duration::from_secs(2))
        .grace(Duration::from_millis(200))
        .run(&Stop::new())
        .await
        .unwrap();
    assert_eq!(output.status, ExitState::TimedOut);
    let total = output.stdout.total();
    assert!(output.stdout.bytes().len() <= greenlight_process::DEFAULT_CAPTURE_LIMIT + 100);
    let on_disk = std::fs::metadata(&log).unwrap().len();
    assert!(on_disk <= DEFAULT_LOG_HEAD + 2 * DEFAULT_LOG_TAIL + 1024, "{on_disk} bytes on disk");
    if total > DEFAULT_LOG_HEAD + 2 * DEFAULT_LOG_TAIL {
        assert!(on_disk < total, "the log was limited ({on_disk} of {total} bytes)");
    }
    let text = String::from_utf8_lossy(&std::fs::read(&log).unwrap()).into_owned();
    let last = text.trim_end().rsplit('\n').next().unwrap_or_default();
    assert!(last.starts_with("[timed out after ") && last.ends_with("s]"), "the log ends with the status: {last}");
}

#[tokio::test]
async fn timeout_kills_the_whole_group() {
    let scene = Scene::new("timeout-group");
    let pidfile = scene.path("grandchild.pid");
    let script = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let started = Instant::now();
    let output = scene
        .sh(&script)
        .timeout(Duration::from_secs(1))
        .grace(Duration::from_millis(200))
        .run(&Stop::new())
        .await
        .unwrap();
    assert_eq!(output.status, ExitState::TimedOut);
    assert!(started.elapsed() < Duration::from_secs(20));
    let pid = read_pid(&pidfile);
    assert!(!alive(pid), "grandchild {pid} outlived the timeout");
}

#[tokio::test]
async fn a_stall_mid_stream_times_out_with_the_output_so_far() {
    let scene = Scene::new("stall");
    let output = scene
        .sh("printf 'first half, '; printf 'no newline yet' >&2; sleep 300; echo never")
        .timeout(Duration::from_secs(1))
        .grace(Duration::from_millis(200))
        .run(&Stop::new())
        .await
        .unwrap();
    assert_eq!(output.status, ExitState::TimedOut);
    assert_eq!(output.stdout.text(), "first half, ");
    assert_eq!(output.stderr.text(), "no newline yet");
}

#[tokio::test]
async fn sigterm_ignoring_tools_get_sigkill_after_grace() {
    let scene = Scene::new("ignore-term");
    let pidfile = scene.path("child.pid");
    // The tool and its child both ignore SIGTERM.
    let script =
        format!("trap '' TERM; sh -c \"trap '' TERM; sleep 300\" & echo $! > {}; sleep 300", pidfile.display());
    let output = scene
        .sh(&script)
        .timeout(Duration::from_secs(1))
        .grace(Duration::from_millis(300))
        .run(&Stop::new())
        .await
        .unwrap();
    assert_eq!(output.status, ExitState::TimedOut);
    assert!(!alive(read_pid(&pidfile)));
}

#[tokio::test]
async fn stop_cancels_and_kill_skips_grace() {
    let scene = Scene::new("stop-kill");
    let stop = Stop::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        trigger.kill();
    });
    let started = Instant::now();
    let output = scene.sh("trap '' TERM; sleep 300").grace(Duration::from_secs(60)).run(&stop).await.unwrap();
    assert_eq!(output.status, ExitState::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(30), "kill waited for the grace period");
}

#[tokio::test]
async fn a_background_process_holding_stdout_is_a_leak_and_is_killed() {
    let scene = Scene::new("straggler");
    let pidfile = scene.path("straggler.pid");
    // The child exits at once; the straggler stays in its group and keeps stdout open.
    let script =
        format!("echo started; sleep 300 & echo $! > {}; {}", pidfile.display(), until_running(&pidfile, "sleep 300"));
    let output = scene.sh(&script).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.text(), "started\n");
    let pid = read_pid(&pidfile);
    assert!(!alive(pid), "straggler {pid} outlived its parent");
    let leak = output.leaked.expect("a leak is reported");
    assert_eq!(leak.held_open, [Stream::Stdout, Stream::Stderr]);
    assert_eq!(leak.processes.len(), 1, "{leak:?}");
    let process = &leak.processes[0];
    assert_eq!(process.pid, pid as u32);
    assert!(!process.left_group);
    assert_eq!(process.held, [Stream::Stdout, Stream::Stderr]);
    assert_eq!(
        leak.message("sh"),
        format!(
            "a process started by `sh` outlived it (pid {pid}, `sleep 300`) and kept its stdout and stderr open; it was killed"
        )
    );
}

#[tokio::test]
async fn a_descendant_that_leaves_the_group_and_holds_stdout_keeps_the_capture() {
    let scene = Scene::new("setsid-stdout");
    let pidfile = scene.path("escaped.pid");
    // As a formatter that forks a daemon and then prints its report: the daemon holds stdout.
    let script = format!(
        "echo 'report line 1'; setsid sleep 300 2>/dev/null & echo $! > {}; {}; echo 'report line 2'",
        pidfile.display(),
        until_running(&pidfile, "sleep 300")
    );
    let dir_log = scene.path("check.log");
    let output = scene.sh(&script).log_file(&dir_log).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.text(), "report line 1\nreport line 2\n", "the capture is kept");
    let pid = read_pid(&pidfile);
    assert!(!alive(pid), "the escaped process {pid} was killed");
    let leak = output.leaked.expect("a leak is reported");
    assert_eq!(leak.held_open, [Stream::Stdout], "{leak:?}");
    let process = leak.processes.iter().find(|process| process.pid == pid as u32).expect("the holder is named");
    assert!(process.left_group);
    assert_eq!(process.held, [Stream::Stdout]);
    assert_eq!(process.command, [OsString::from("sleep"), OsString::from("300")]);
    let log = std::fs::read_to_string(&dir_log).unwrap();
    assert!(log.contains(&format!("a process started by `sh` outlived it (pid {pid}, `sleep 300`)")), "{log}");
}

#[tokio::test]
async fn a_daemon_that_closed_its_output_is_found_and_killed() {
    let scene = Scene::new("daemon");
    let pidfile = scene.path("daemon.pid");
    // A double fork: the intermediate subshell exits, the daemon is in a session of its own
    // with no pipe of ours, and forks a worker of its own.
    let script = format!(
        "( setsid sh -c 'echo $$ > {0}; sleep 300 & exec sleep 301' </dev/null >/dev/null 2>&1 & ); {1}; echo spawned",
        pidfile.display(),
        until_running(&pidfile, "sleep 301")
    );
    let output = scene.sh(&script).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.text(), "spawned\n");
    let pid = read_pid(&pidfile);
    assert!(!alive(pid));
    let leak = output.leaked.expect("a leak is reported");
    assert!(leak.held_open.is_empty(), "{leak:?}");
    let daemon = leak.processes.iter().find(|process| process.pid == pid as u32).expect("the daemon is named");
    assert!(daemon.left_group && daemon.held.is_empty());
    assert_eq!(daemon.command, [OsString::from("sleep"), OsString::from("301")]);
}

#[tokio::test]
async fn a_leaked_writer_is_killed_and_what_it_wrote_before_is_kept() {
    let scene = Scene::new("writer");
    let script = "echo done; setsid sh -c 'while :; do echo tick; sleep 0.01; done' &";
    let output = scene.sh(script).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    let text = output.stdout.text();
    assert!(text.starts_with("done\n"), "{text}");
    assert!(text.lines().skip(1).all(|line| line == "tick"), "{text}");
    let leak = output.leaked.expect("a leak is reported");
    assert_eq!(leak.held_open, [Stream::Stdout, Stream::Stderr]);
    assert!(leak.processes.iter().any(|process| process.left_group), "{leak:?}");
}

#[tokio::test]
async fn leaks_are_attributed_to_the_command_that_made_them() {
    let scene = Scene::new("attribution");
    let pidfile = scene.path("escaped.pid");
    let leaky = format!(
        "setsid sh -c 'echo $$ > {0}; exec sleep 300' >/dev/null 2>&1 & {1}; echo leaky done",
        pidfile.display(),
        until_running(&pidfile, "sleep 300")
    );
    let (long, leaky) = (scene.sh("sleep 2 & wait; echo long done"), scene.sh(&leaky));
    let stop = Stop::new();
    let (long, leaky) = tokio::join!(long.run(&stop), leaky.run(&stop));
    let (long, leaky) = (long.unwrap(), leaky.unwrap());
    assert!(long.status.success());
    assert_eq!(long.stdout.text(), "long done\n", "the other command's processes were left alone");
    assert!(long.leaked.is_none(), "{:?}", long.leaked);
    let leak = leaky.leaked.expect("a leak is reported");
    assert_eq!(leak.processes.len(), 1, "{leak:?}");
    assert_eq!(leak.processes[0].command, [OsString::from("sleep"), OsString::from("300")]);
}

#[tokio::test]
async fn a_tool_that_closes_stdin_early_is_not_a_broken_pipe_for_us() {
    let scene = Scene::new("stdin");
    let input = vec![b'x'; 8 * 1024 * 1024];
    let output = scene.sh("exec 0<&-; echo closed").stdin_bytes(input.clone()).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.text(), "closed\n");
    let output = scene.sh("head -c 5").stdin_bytes(input).run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.text(), "xxxxx");
}

#[tokio::test]
async fn a_tool_whose_output_breaks_its_pipe_exits_normally() {
    let scene = Scene::new("sigpipe");
    // `yes` dies of SIGPIPE inside the tool's own pipeline; the tool itself exits 0.
    let output = scene.sh("yes | head -n 3").run(&Stop::new()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(output.stdout.text(), "y\ny\ny\n");
    assert!(output.leaked.is_none());
}

#[tokio::test]
async fn death_by_signal_is_reported() {
    let output = Cmd::new("sh").args(["-c", "kill -SEGV $$"]).run(&Stop::new()).await.unwrap();
    assert_eq!(output.status, ExitState::Signaled(11));
    assert_eq!(output.status.to_string(), "killed by SIGSEGV");
}

#[tokio::test]
async fn dropping_the_future_kills_the_group_and_what_left_it() {
    let scene = Scene::new("drop");
    let pidfile = scene.path("child.pid");
    let escaped = scene.path("escaped.pid");
    let script = format!(
        "echo $$ > {}; setsid sleep 300 >/dev/null 2>&1 & echo $! > {}; sleep 300",
        pidfile.display(),
        escaped.display()
    );
    let command = scene.sh(&script);
    let stop = Stop::new();
    let mut run = Box::pin(command.run(&stop));
    let started = tokio::task::spawn_blocking(move || {
        let escaped = read_pid(&escaped);
        wait_exec(escaped, "sleep 300");
        (read_pid(&pidfile), escaped)
    });
    let (pid, escaped) = tokio::select! {
        _ = &mut run => panic!("the command ended on its own"),
        pids = started => pids.unwrap(),
    };
    drop(run);
    assert!(wait_dead(pid), "{} outlived its dropped future", describe(pid));
    assert!(wait_dead(escaped), "{} outlived its dropped future", describe(escaped));
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

#[tokio::test]
async fn non_utf8_arguments_paths_and_output_are_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let odd = dir.path().join(OsString::from_vec(b"dir-\xff\xfe".to_vec()));
    std::fs::create_dir(&odd).unwrap();
    let script = odd.join(OsString::from_vec(b"tool-\xe9.sh".to_vec()));
    std::fs::write(&script, "#!/bin/sh\nprintf '%s|' \"$1\"; pwd; printf '\\377\\376 raw\\n' >&2\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let log = odd.join(OsString::from_vec(b"log-\xff.log".to_vec()));
    let argument = OsString::from_vec(b"caf\xe9-\xff".to_vec());
    let command = Cmd::new(&script).arg(&argument).current_dir(&odd).log_file(&log);
    let output = command.run(&Stop::new()).await.unwrap();
    assert!(output.status.success(), "{:?}", output.stderr.text());
    let mut expected = argument.as_bytes().to_vec();
    expected.push(b'|');
    expected.extend_from_slice(odd.as_os_str().as_bytes());
    expected.push(b'\n');
    assert_eq!(output.stdout.bytes(), expected, "the argument and the directory arrive unchanged");
    assert_eq!(output.stderr.bytes(), b"\xff\xfe raw\n");
    assert_eq!(output.stderr.text(), "\u{fffd}\u{fffd} raw\n", "replacement only when shown as text");
    let logged = std::fs::read(&log).unwrap();
    assert!(logged.windows(expected.len()).any(|window| window == expected), "the log has the raw bytes");
    let first_line = String::from_utf8(logged.split(|&byte| byte == b'\n').next().unwrap().to_vec()).unwrap();
    assert!(first_line.ends_with("tool-\\xe9.sh' $'caf\\xe9-\\xff'"), "{first_line}");
    assert_eq!(command.args_os(), [argument]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_are_forked_by_the_thread_that_lives_as_long_as_the_process() {
    let scene = Scene::new("spawner");
    let pidfile = scene.path("child.pid");
    let go = scene.path("go");
    let script = format!("echo $$ > {}; until [ -e {} ]; do sleep 0.01; done", pidfile.display(), go.display());
    // Started from a blocking-pool thread, which tokio stops when idle.
    let handle = tokio::runtime::Handle::current();
    let command = scene.sh(&script);
    let run = tokio::task::spawn_blocking(move || handle.block_on(command.run(&Stop::new())));
    let pid = read_pid(&pidfile);
    let spawner = std::fs::read_dir("/proc/self/task")
        .unwrap()
        .flatten()
        .find(|task| {
            std::fs::read_to_string(task.path().join("comm")).is_ok_and(|comm| comm.trim() == "process-spawner")
        })
        .expect("the spawning thread exists");
    let children = std::fs::read_to_string(spawner.path().join("children")).unwrap();
    assert!(
        children.split_whitespace().any(|child| child == pid.to_string()),
        "{pid} was forked by another thread (spawner's children: {children})"
    );
    std::fs::write(&go, "").unwrap();
    assert!(run.await.unwrap().unwrap().status.success());
}

#[tokio::test]
async fn the_record_lists_running_groups_and_is_removed_when_done() {
    let dir = tempfile::tempdir().unwrap();
    let record = ProcessRecord::open(dir.path()).unwrap();
    assert!(record.swept().is_empty());
    let pidfile = dir.path().join("leader.pid");
    let go = dir.path().join("go");
    let script = format!("echo $$ > {}; until [ -e {} ]; do sleep 0.01; done", pidfile.display(), go.display());
    let command = Cmd::new("sh").args(["-c", &script]);
    let stop = Stop::new();
    let run = command.run(&stop);
    tokio::pin!(run);
    let files = || -> Vec<PathBuf> {
        std::fs::read_dir(dir.path().join("processes")).unwrap().flatten().map(|entry| entry.path()).collect()
    };
    let pid = tokio::select! {
        _ = &mut run => panic!("finished too early"),
        pid = tokio::task::spawn_blocking({ let pidfile = pidfile.clone(); move || read_pid(&pidfile) }) => pid.unwrap(),
    };
    let file = files().pop().expect("a record file");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("+ {pid} ")), "{text}");
    std::fs::write(&go, "").unwrap();
    assert!(run.await.unwrap().status.success());
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("- {pid} ")), "{text}");
    drop(record);
    assert!(files().is_empty(), "the record is removed when done");
}

/// Starts `sleep 300` in a group of its own, as a recorded group of a fake dead run would be.
async fn start_sleeper(mark: &str, pidfile: &Path) -> tokio::task::JoinHandle<()> {
    let command = sh(mark, &format!("echo $$ > {}; exec sleep 300", pidfile.display()));
    let handle = tokio::spawn(async move {
        let _ = command.run(&Stop::new()).await;
    });
    read_pid(pidfile);
    handle
}

fn start_of(pid: i32) -> u64 {
    stat_fields(pid).unwrap()[19].parse().unwrap()
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap().trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_leaves_live_runs_and_recycled_pids_alone() {
    let scene = Scene::new("sweep-alone");
    let processes = scene.path("processes");
    std::fs::create_dir_all(&processes).unwrap();
    let owner = start_sleeper(&scene.mark, &scene.path("owner.pid")).await;
    let owner_pid = read_pid(&scene.path("owner.pid"));
    let group = start_sleeper(&scene.mark, &scene.path("group.pid")).await;
    let group_pid = read_pid(&scene.path("group.pid"));
    let other = start_sleeper(&scene.mark, &scene.path("other.pid")).await;
    let other_pid = read_pid(&scene.path("other.pid"));
    // A live owner with a recorded group, and a dead owner whose recorded group's pid now
    // belongs to another process (another start time).
    let boot = boot_id();
    std::fs::write(
        processes.join(format!("{owner_pid}-{}", start_of(owner_pid))),
        format!("greenlight process groups boot={boot}\n+ {group_pid} {}\n", start_of(group_pid)),
    )
    .unwrap();
    std::fs::write(
        processes.join("999999-1"),
        format!("greenlight process groups boot={boot}\n+ {other_pid} {}\n", start_of(other_pid) + 1),
    )
    .unwrap();
    assert!(sweep_leftovers(scene.dir.path()).is_empty());
    assert!(alive(group_pid), "the group of a live run was killed");
    assert!(alive(other_pid), "a process with a recycled pid was killed");
    assert!(!processes.join("999999-1").exists(), "the dead run's record is removed");
    assert!(processes.join(format!("{owner_pid}-{}", start_of(owner_pid))).exists());
    // Once the owner is dead, its recorded group goes: its leader is the recorded process.
    owner.abort();
    assert!(wait_dead(owner_pid));
    let swept = sweep_leftovers(scene.dir.path());
    assert_eq!(swept.iter().map(|leftover| leftover.pid).collect::<Vec<_>>(), [group_pid as u32]);
    assert_eq!(swept[0].owner, owner_pid as u32);
    assert!(wait_dead(group_pid));
    assert!(alive(other_pid));
    other.abort();
    let _ = group.await;
}

#[test]
#[ignore = "the run that `a_killed_run_leaves_nothing_after_the_next_sweep` starts and SIGKILLs"]
#[expect(clippy::disallowed_methods, reason = "the helper process learns its setup from its environment")]
fn killed_run() {
    let Some(dir) = std::env::var_os("GREENLIGHT_TEST_RUN_DIR").map(PathBuf::from) else { return };
    let mark = std::env::var(MARK).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let _record = ProcessRecord::open(&dir).unwrap();
        let script = "sleep 300 & echo $! > member.pid; \
                      setsid sleep 301 >/dev/null 2>&1 & echo $! > escaped.pid; \
                      echo $$ > leader.pid; wait";
        let command = sh(&mark, script).current_dir(&dir);
        let run = tokio::spawn(async move { command.run(&Stop::new()).await });
        std::fs::write(dir.join("owner.pid"), std::process::id().to_string()).unwrap();
        let _ = run.await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_leaves_nothing_after_the_next_sweep() {
    let scene = Scene::new("killed-run");
    let path = scene.dir.path().to_path_buf();
    let runner = Cmd::new(std::env::current_exe().unwrap())
        .args(["killed_run", "--exact", "--ignored", "--nocapture"])
        .env("GREENLIGHT_TEST_RUN_DIR", &path)
        .env(MARK, &scene.mark);
    let run = tokio::spawn(async move { runner.run(&Stop::new()).await });
    let owner = read_pid(&path.join("owner.pid"));
    let leader = read_pid(&path.join("leader.pid"));
    let member = read_pid(&path.join("member.pid"));
    let escaped = read_pid(&path.join("escaped.pid"));
    wait_exec(member, "sleep 300");
    wait_exec(escaped, "sleep 301");
    assert!(alive(leader) && alive(member) && alive(escaped));
    // SAFETY: kill(2) on the runner, our own unreaped child.
    assert_eq!(unsafe { libc::kill(owner, libc::SIGKILL) }, 0);
    let output = run.await.unwrap().unwrap();
    assert_eq!(output.status, ExitState::Signaled(libc::SIGKILL), "{}", output.both_tails(20));
    // The tool the run started died with it (PR_SET_PDEATHSIG); what the tool started did not.
    assert!(wait_dead(leader), "the run's tool {leader} outlived it");
    assert!(alive(member) && alive(escaped), "the rest of the tool's group lives on until the sweep");
    let swept = sweep_leftovers(&path);
    let mut pids: Vec<u32> = swept.iter().map(|leftover| leftover.pid).collect();
    pids.sort_unstable();
    let mut expected = vec![member as u32, escaped as u32];
    expected.sort_unstable();
    assert_eq!(pids, expected, "{swept:?}");
    assert!(swept.iter().all(|leftover| leftover.owner == owner as u32));
    assert!(swept.iter().any(|leftover| leftover.describe() == format!("pid {escaped}, `sleep 301`")), "{swept:?}");
    assert!(wait_dead(member) && wait_dead(escaped));
    assert_eq!(std::fs::read_dir(path.join("processes")).unwrap().count(), 0, "the record is removed");
    assert!(sweep_leftovers(&path).is_empty());
}
