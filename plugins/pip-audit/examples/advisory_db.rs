//! Times and serves an offline advisory database.
//!
//! ```sh
//! cargo run --release -p greenlight-plugin-pip-audit --example advisory_db -- bench DB [PACKAGES.txt]
//! cargo run --release -p greenlight-plugin-pip-audit --example advisory_db -- serve DB
//! cargo run --release -p greenlight-plugin-pip-audit --example advisory_db -- query DB < QUERIES
//! ```
//!
//! `bench` loads the database, then answers one query per `name==version` line of
//! PACKAGES.txt (default: a typical FastAPI service's ~40 pinned dependencies), both directly
//! and over HTTP through the loopback endpoint, and prints the times (`--json`: and a JSON
//! line of them). `cargo xtask bench` runs it. `serve` serves the database until interrupted and prints the `--osv-url` for pip-audit.
//! `query` reads `NAME VERSION` lines and prints `NAME VERSION ID,ID,...` for each.
#![expect(clippy::print_stdout, clippy::print_stderr, reason = "a command-line tool")]

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use greenlight_plugin_pip_audit::advisory::{AdvisoryDb, serve};

/// A FastAPI service's pinned dependencies, old enough that several have advisories.
const SERVICE: &str = "anyio==3.6.2 certifi==2022.12.7 charset-normalizer==3.1.0 click==8.1.3 fastapi==0.95.0
h11==0.14.0 httpcore==0.16.3 httptools==0.5.0 httpx==0.23.3 idna==3.4 jinja2==3.1.2 markupsafe==2.1.2
pydantic==1.10.7 python-dotenv==1.0.0 python-multipart==0.0.6 pyyaml==6.0 requests==2.28.2 rfc3986==1.5.0
sniffio==1.3.0 sqlalchemy==2.0.9 starlette==0.26.1 typing-extensions==4.5.0 urllib3==1.26.15 uvicorn==0.21.1
uvloop==0.17.0 watchfiles==0.19.0 websockets==11.0.2 greenlet==2.0.2 psycopg2-binary==2.9.6 alembic==1.10.3
mako==1.2.4 redis==4.5.4 celery==5.2.7 kombu==5.2.4 billiard==3.6.4.0 vine==5.0.0 amqp==5.1.1
cryptography==40.0.1 cffi==1.15.1 pycparser==2.21 pyjwt==2.6.0 passlib==1.7.4 gunicorn==20.1.0";

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|arg| arg == "--json");
    args.retain(|arg| arg != "--json");
    let (Some(mode), Some(db)) = (args.first(), args.get(1)) else {
        eprintln!(
            "usage: advisory_db bench DB [PACKAGES.txt] [--json] | advisory_db serve DB | advisory_db query DB < QUERIES"
        );
        std::process::exit(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match mode.as_str() {
        "bench" => runtime.block_on(bench(PathBuf::from(db), args.get(2).map(PathBuf::from), json)),
        "serve" => runtime.block_on(serve_forever(PathBuf::from(db))),
        "query" => query(&PathBuf::from(db)),
        other => {
            eprintln!("unknown mode `{other}`");
            std::process::exit(2);
        }
    }
}

fn load(path: &std::path::Path) -> AdvisoryDb {
    let (db, warnings) = AdvisoryDb::load(path).unwrap_or_else(|error| {
        eprintln!("error: {error}");
        std::process::exit(1);
    });
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    db
}

async fn bench(path: PathBuf, packages: Option<PathBuf>, json: bool) {
    let text = match packages {
        Some(file) => std::fs::read_to_string(&file).expect("the packages file"),
        None => SERVICE.to_string(),
    };
    let packages: Vec<(String, String)> = text
        .split_whitespace()
        .filter_map(|pin| pin.split_once("==").map(|(name, version)| (name.to_string(), version.to_string())))
        .collect();

    // Without a cache (every YAML file parsed), then with a cache: filled, then reused.
    let cold = time_load(&path, None);
    let cache = std::env::temp_dir().join(format!("greenlight-advisory-bench-{}", std::process::id()));
    let filling = time_load(&path, Some(&cache));
    let warm = time_load(&path, Some(&cache));
    let _ = std::fs::remove_dir_all(&cache);
    let (db, load_time, load_cpu) = warm;
    let stats = db.stats().clone();

    let started = Instant::now();
    let mut matches = 0;
    for (name, version) in &packages {
        matches += db.query(name, version).len();
    }
    let query_time = started.elapsed();

    let server = serve(Arc::new(db)).await.expect("serve");
    let addr = server.addr();
    let bodies: Vec<String> = packages
        .iter()
        .map(|(name, version)| {
            serde_json::json!({"package": {"name": name, "ecosystem": "PyPI"}, "version": version}).to_string()
        })
        .collect();
    let started = Instant::now();
    let bytes = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        let mut total = 0;
        for body in &bodies {
            total += post(&mut stream, body);
        }
        total
    })
    .await
    .expect("the client");
    let http_time = started.elapsed();
    server.shutdown().await;

    println!(
        "advisory database: {} files, {} advisories for {} packages ({} withdrawn, {} malformed)",
        stats.files, stats.advisories, stats.packages, stats.withdrawn, stats.malformed
    );
    println!("load, no cache:    {} (CPU {})", ms(cold.1), ms(cold.2));
    println!("load, cache fill:  {} (CPU {})", ms(filling.1), ms(filling.2));
    println!(
        "load, cached:      {} (CPU {}; {} of {} files from the cache)",
        ms(load_time),
        ms(load_cpu),
        stats.from_cache,
        stats.files
    );
    println!("{} queries:        {} ({matches} advisories match)", packages.len(), ms(query_time));
    println!("{} HTTP queries:   {} ({} KiB of OSV records served)", packages.len(), ms(http_time), bytes / 1024);
    println!("total, cached:     {}", ms(load_time + query_time + http_time));
    println!("total, no cache:   {}", ms(cold.1 + query_time + http_time));
    if json {
        let seconds = |duration: Duration| duration.as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "advisories": stats.advisories,
                "files": stats.files,
                "queries": packages.len(),
                "load_cold_s": seconds(cold.1),
                "load_cold_cpu_s": seconds(cold.2),
                "load_cached_s": seconds(load_time),
                "load_cached_cpu_s": seconds(load_cpu),
                "queries_s": seconds(query_time),
                "http_queries_s": seconds(http_time),
            })
        );
    }
}

/// Loads the database and returns it with the wall-clock and CPU time it took.
fn time_load(path: &std::path::Path, cache: Option<&std::path::Path>) -> (AdvisoryDb, Duration, Duration) {
    let started = Instant::now();
    let cpu = cpu_time();
    let (db, _) = AdvisoryDb::load_cached(path, cache).unwrap_or_else(|error| {
        eprintln!("error: {error}");
        std::process::exit(1);
    });
    (db, started.elapsed(), cpu_time().saturating_sub(cpu))
}

/// CPU time of the whole process so far (user + system, every thread), from
/// `/proc/self/stat` in clock ticks of 10 ms; zero where that file does not exist.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |index: usize| fields.get(index).and_then(|value| value.parse::<u64>().ok()).unwrap_or(0);
    // After the command name: state is field 0, utime field 11, stime field 12.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

/// POSTs one query on a kept-alive connection and returns the response body's length.
fn post(stream: &mut std::net::TcpStream, body: &str) -> usize {
    let request = format!("POST /v1/query HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).expect("write");
    let mut response = Vec::new();
    let mut buffer = [0u8; 65536];
    loop {
        let read = stream.read(&mut buffer).expect("read");
        assert!(read > 0, "the server closed the connection");
        response.extend_from_slice(&buffer[..read]);
        let Some(end) = response.windows(4).position(|window| window == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&response[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|line| line.strip_prefix("content-length:").and_then(|v| v.trim().parse().ok()))
            .expect("a Content-Length");
        if response.len() >= end + 4 + length {
            return length;
        }
    }
}

fn query(path: &std::path::Path) {
    let db = load(path);
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("read the queries");
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in input.lines() {
        let Some((name, version)) = line.split_once(' ') else { continue };
        let ids: Vec<&str> = db.query(name, version).iter().map(|advisory| advisory.id.as_str()).collect();
        let _ = writeln!(out, "{name} {version} {}", ids.join(","));
    }
}

async fn serve_forever(path: PathBuf) {
    let db = load(&path);
    let stats = db.stats().clone();
    let server = serve(Arc::new(db)).await.expect("serve");
    eprintln!("{} advisories loaded in {}", stats.advisories, ms(stats.elapsed));
    println!("{}", server.query_url());
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("{} queries answered", server.queries());
    server.shutdown().await;
}
