//! The docker check against a fake engine on a unix socket, for what the real engine cannot be
//! made to do here on demand: fail to attach a step's network endpoint, send a build stream
//! that does not decode, or go away in the middle of a build. The fake answers the Engine API
//! calls the check makes (`/version`, `/build`, the label listings, removals) and nothing
//! else; each case asserts the outcome, the exit code and the written report, and that the
//! project is blamed only by the builder's own markers.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use greenlight_e2e::TempProject;
use greenlight_report::Outcome;

/// How the fake ends the build's response.
#[derive(Clone, Copy)]
enum Ending {
    /// The stream ends as the daemon ends it.
    Complete,
    /// The connection drops before the response is complete (the engine died).
    Dropped,
}

/// A fake engine on a socket in a temporary directory, serving until the test ends.
struct FakeEngine {
    _dir: tempfile::TempDir,
    socket: PathBuf,
}

impl FakeEngine {
    /// Serves `build` (the body of the `/build` response: JSON messages, or anything) ended as
    /// `ending`.
    fn start(build: Vec<u8>, ending: Ending) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket).unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let build = build.clone();
                std::thread::spawn(move || serve(stream, &build, ending));
            }
        });
        Self { _dir: dir, socket }
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }
}

/// Reads one request (headers, then the body by length or chunks) and answers it.
fn serve(stream: UnixStream, build: &[u8], ending: Ending) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    if chunked {
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).unwrap_or(0) == 0 {
                return;
            }
            let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; size + 2];
            if reader.read_exact(&mut chunk).is_err() || size == 0 {
                break;
            }
        }
    } else {
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
    }
    let mut stream = stream;
    let path = request_line.split_whitespace().nth(1).unwrap_or_default().to_string();
    let method = request_line.split_whitespace().next().unwrap_or_default().to_string();
    let json = |stream: &mut UnixStream, status: &str, body: &str| {
        let _ = write!(
            stream,
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
    };
    if path.contains("/version") {
        json(&mut stream, "200 OK", r#"{"Version":"20.10.24-fake","ApiVersion":"1.41","MinAPIVersion":"1.12"}"#);
    } else if path.contains("/build") {
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        let _ = write!(stream, "{:x}\r\n", build.len());
        let _ = stream.write_all(build);
        let _ = stream.write_all(b"\r\n");
        if matches!(ending, Ending::Complete) {
            let _ = stream.write_all(b"0\r\n\r\n");
        }
        let _ = stream.flush();
        let _ = stream.shutdown(std::net::Shutdown::Both);
    } else if method == "GET" && (path.contains("/containers/json") || path.contains("/images/json")) {
        json(&mut stream, "200 OK", "[]");
    } else {
        json(&mut stream, "404 Not Found", r#"{"message":"No such image"}"#);
    }
}

/// The messages of a build that got to its `RUN` step (as the classic builder numbers the sent
/// Dockerfile, with greenlight's `LABEL`), then `last`.
fn build_until_run(last: &str) -> Vec<u8> {
    let mut lines: Vec<String> = [
        "Step 1/8 : ARG BASE_IMAGE=python:3.11-slim\n",
        "Step 2/8 : FROM ${BASE_IMAGE}\n",
        " ---> 68029b572af1\n",
        "Step 3/8 : LABEL io.greenlight.run=\"x\"\n",
        " ---> 1111111111aa\n",
        "Step 4/8 : WORKDIR /app\n",
        " ---> 2222222222bb\n",
        "Step 7/8 : RUN python -m compileall -q apps packages\n",
        " ---> Running in 3333333333cc\n",
    ]
    .iter()
    .map(|stream| serde_json::json!({ "stream": stream }).to_string())
    .collect();
    lines.push(last.to_string());
    let mut body = lines.join("\r\n").into_bytes();
    body.extend_from_slice(b"\r\n");
    body
}

fn error_message(message: &str) -> String {
    serde_json::json!({ "errorDetail": { "message": message }, "error": message }).to_string()
}

/// Runs the docker check of the `docker-build-fails` fixture against `engine`: outcome, exit
/// code, summary.
fn run_against(engine: &FakeEngine) -> (Outcome, Option<i32>, String) {
    let project = TempProject::fixture("docker-build-fails");
    let result = project.run_checks_with(&["docker"], &[("DOCKER_HOST", &engine.host())]);
    let check = result.report().check("docker").unwrap_or_else(|| panic!("no docker\n{}", result.output())).clone();
    (check.outcome, result.code, check.summary)
}

#[test]
fn an_engine_that_cannot_attach_the_step_network_is_errored_not_failed() {
    let bridge = "failed to create endpoint vibrant_lamport on network bridge: could not find bridge docker0: route ip+net: no such network interface";
    let engine = FakeEngine::start(build_until_run(&error_message(bridge)), Ending::Complete);
    let (outcome, code, summary) = run_against(&engine);
    assert_eq!((outcome, code), (Outcome::Errored, Some(2)), "{summary}");
    assert!(summary.starts_with("the Docker engine could not build the image (at step 6/7"), "{summary}");
    assert!(summary.contains("could not find bridge docker0"), "{summary}");
}

#[test]
fn a_build_stream_that_does_not_decode_is_errored() {
    let mut body = build_until_run("{\"stream\": \"half a message");
    body.extend_from_slice(b"\xff\xfe}}} not json\r\n");
    let engine = FakeEngine::start(body, Ending::Complete);
    let (outcome, code, summary) = run_against(&engine);
    assert_eq!((outcome, code), (Outcome::Errored, Some(2)), "{summary}");
    assert!(summary.starts_with("the engine's build output could not be read (at step 6/7"), "{summary}");
}

#[test]
fn an_engine_that_goes_away_mid_build_is_errored() {
    let engine = FakeEngine::start(build_until_run(""), Ending::Dropped);
    let (outcome, code, summary) = run_against(&engine);
    assert_eq!((outcome, code), (Outcome::Errored, Some(2)), "{summary}");
    assert!(summary.starts_with("the Docker engine stopped answering during the build (at step 6/7"), "{summary}");
}

#[test]
fn the_builders_own_marker_of_a_failing_step_is_failed() {
    let failed =
        error_message("The command '/bin/sh -c python -m compileall -q apps packages' returned a non-zero code: 1");
    let engine = FakeEngine::start(build_until_run(&failed), Ending::Complete);
    let (outcome, code, summary) = run_against(&engine);
    assert_eq!((outcome, code), (Outcome::Failed, Some(1)), "{summary}");
    assert_eq!(summary, "build failed at step 6/7: RUN python -m compileall -q apps packages");
}
