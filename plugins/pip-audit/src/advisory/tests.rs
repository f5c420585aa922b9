//! Unit tests of the offline advisory database: loading, matching, serving the OSV API.
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::*;

const REQUESTS: &str = r#"id: PYSEC-2018-28
details: The Requests package before 2.20.0 for Python sends an HTTP Authorization
  header to an http URI upon receiving a same-hostname https-to-http redirect.
affected:
- package:
    name: requests
    ecosystem: PyPI
    purl: pkg:pypi/requests
  ranges:
  - type: GIT
    repo: https://github.com/requests/requests
    events:
    - introduced: '0'
    - fixed: c45d7c49ea75133e52ab22a8e9e13173938e36ff
  - type: ECOSYSTEM
    events:
    - introduced: '0'
    - fixed: 2.20.0
  versions:
  - 2.19.0
  - 2.19.1
aliases:
- GHSA-x84v-xcm2-53pg
- CVE-2018-18074
modified: '2021-06-16T00:03:24.800813Z'
"#;

/// Mixed-case name, JSON, two ranges, an unquoted number in `versions`.
const PYYAML_JSON: &str = r#"{
  "id": "GHSA-8q59-q68h-6hv4",
  "summary": "Improper Input Validation in PyYAML",
  "aliases": ["CVE-2020-14343"],
  "modified": "2024-01-01T00:00:00Z",
  "affected": [{
    "package": {"name": "PyYAML", "ecosystem": "PyPI"},
    "ranges": [
      {"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.4"}]},
      {"type": "ECOSYSTEM", "events": [{"introduced": "6.0b1"}, {"last_affected": "6.0b3"}]}
    ],
    "versions": [3.1]
  }, {
    "package": {"name": "pyyaml", "ecosystem": "Debian:11"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}]
  }]
}"#;

const WITHDRAWN: &str = "id: PYSEC-2023-73\nwithdrawn: '2023-06-06T10:37:00Z'\naffected:\n- package:\n    name: redis\n    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n";

const NPM_ONLY: &str =
    r#"{"id": "GHSA-npm", "affected": [{"package": {"name": "left-pad", "ecosystem": "npm"}, "versions": ["1.0.0"]}]}"#;

const INVALID_RANGE: &str = "id: PYSEC-2019-125\ndetails: steam before 2019-09-12\naffected:\n- package:\n    name: steam\n    ecosystem: PyPI\n  ranges:\n  - type: ECOSYSTEM\n    events:\n    - introduced: '0'\n    - fixed: 2019-09-12\n  versions:\n  - 0.8.20\n  - 0.9.0\n";

fn write(root: &Path, relative: &str, text: &str) -> PathBuf {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, text).unwrap();
    path
}

fn sample_db() -> (tempfile::TempDir, AdvisoryDb, Vec<LoadWarning>) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "vulns/requests/PYSEC-2018-28.yaml", REQUESTS);
    write(root, "vulns/pyyaml/GHSA-8q59-q68h-6hv4.json", PYYAML_JSON);
    write(root, "vulns/redis/PYSEC-2023-73.yaml", WITHDRAWN);
    write(root, "vulns/left-pad/GHSA-npm.json", NPM_ONLY);
    write(root, "vulns/steam/PYSEC-2019-125.yaml", INVALID_RANGE);
    write(root, "vulns/broken/PYSEC-0000-1.yaml", "id: [unclosed\n");
    write(root, "vulns/broken/PYSEC-0000-2.yaml", "details: no id here\n");
    write(root, "vulns/.id-allocator", "ignored");
    write(root, "vulns/requests/README.md", "ignored");
    write(
        root,
        "vulns/zz-dupe/PYSEC-2018-28.json",
        r#"{"id": "PYSEC-2018-28", "affected": [{"package": {"name": "zz-dupe", "ecosystem": "PyPI"}}]}"#,
    );
    write(root, ".github/workflows/ci.yaml", "on: push\n");
    let (db, warnings) = AdvisoryDb::load(root).unwrap();
    (dir, db, warnings)
}

fn ids(advisories: &[&Advisory]) -> Vec<String> {
    advisories.iter().map(|advisory| advisory.id.clone()).collect()
}

#[test]
fn loads_yaml_and_json_and_skips_what_is_not_usable() {
    let (_dir, db, warnings) = sample_db();
    let stats = db.stats();
    assert_eq!(stats.files, 8, "{stats:?}");
    assert_eq!((stats.advisories, stats.withdrawn, stats.other_ecosystems, stats.malformed), (3, 1, 1, 3), "{stats:?}");
    assert_eq!(stats.packages, 3);
    assert_eq!(db.len(), 3);

    let skipped: Vec<String> = warnings
        .iter()
        .filter(|warning| warning.skipped)
        .map(|warning| format!("{} {}", warning.path.file_name().unwrap().to_string_lossy(), warning.message))
        .collect();
    assert_eq!(skipped.len(), 3, "{skipped:#?}");
    assert!(skipped[0].starts_with("PYSEC-0000-1.yaml not an OSV record"), "{skipped:#?}");
    assert!(skipped[1].starts_with("PYSEC-0000-2.yaml not an OSV record: missing field `id`"), "{skipped:#?}");
    assert!(skipped[2].starts_with("PYSEC-2018-28.json duplicate id PYSEC-2018-28"), "{skipped:#?}");
    let warning = warnings.iter().find(|warning| warning.path.ends_with("broken/PYSEC-0000-1.yaml")).unwrap();
    assert!(warning.to_string().contains("vulns/broken/PYSEC-0000-1.yaml: not an OSV record"), "{warning}");

    let note = warnings.iter().find(|warning| !warning.skipped).unwrap();
    assert!(note.path.ends_with("steam/PYSEC-2019-125.yaml"));
    assert!(note.message.contains("`fixed: 2019-09-12` is not a PEP 440 version"), "{}", note.message);
}

#[test]
fn queries_match_names_per_pep_503_and_versions_per_pep_440() {
    let (_dir, db, _) = sample_db();
    assert_eq!(ids(&db.query("requests", "2.19.0")), ["PYSEC-2018-28"]);
    assert_eq!(ids(&db.query("Requests", "2.19")), ["PYSEC-2018-28"], "2.19 == 2.19.0");
    assert_eq!(ids(&db.query("requests", "1.0.0")), ["PYSEC-2018-28"], "in the range, not in `versions`");
    assert!(db.query("requests", "2.20.0").is_empty());
    assert!(db.query("requests", "not-a-version").is_empty());

    for spelling in ["pyyaml", "PyYAML", "PYYAML"] {
        assert_eq!(ids(&db.query(spelling, "5.3.1")), ["GHSA-8q59-q68h-6hv4"], "{spelling}");
    }
    assert!(db.query("pyyaml", "5.4").is_empty());
    assert_eq!(ids(&db.query("pyyaml", "6.0b3")), ["GHSA-8q59-q68h-6hv4"], "last_affected is inclusive");
    assert!(db.query("pyyaml", "6.0").is_empty());
    assert_eq!(ids(&db.query("pyyaml", "3.1")), ["GHSA-8q59-q68h-6hv4"], "an unquoted version is text");

    assert!(db.query("redis", "4.5.0").is_empty(), "withdrawn");
    assert!(db.query("left-pad", "1.0.0").is_empty(), "not PyPI");
    assert!(!db.knows("left-pad"));
    assert!(db.knows("Steam"));
    assert!(db.query("unknown-package", "1.0").is_empty());

    // The range with a non-PEP 440 `fixed` is left out; the `versions` list still matches.
    assert_eq!(ids(&db.query("steam", "0.9.0")), ["PYSEC-2019-125"]);
    assert!(db.query("steam", "0.9.5").is_empty());
    assert_eq!(ids(&db.advisories_for("steam")), ["PYSEC-2019-125"]);
}

#[test]
fn served_records_are_json_with_canonical_names_and_string_versions() {
    let (_dir, db, _) = sample_db();
    let advisory = db.get("GHSA-8q59-q68h-6hv4").unwrap();
    let json: serde_json::Value = serde_json::from_str(advisory.to_osv_json().unwrap()).unwrap();
    assert_eq!(json["affected"][0]["package"]["name"], "pyyaml");
    assert_eq!(json["affected"][1]["package"]["name"], "pyyaml", "other ecosystems keep their names");
    assert_eq!(json["affected"][0]["versions"][0], "3.1");
    assert_eq!(json["summary"], "Improper Input Validation in PyYAML");
    assert_eq!(advisory.fixed_versions("PyYAML"), ["5.4"]);

    let steam = db.get("PYSEC-2019-125").unwrap();
    let json: serde_json::Value = serde_json::from_str(steam.to_osv_json().unwrap()).unwrap();
    assert_eq!(json["affected"][0]["ranges"], serde_json::json!([]), "a range pip-audit cannot parse is not served");
    assert_eq!(json["affected"][0]["versions"][1], "0.9.0");

    let requests = db.get("PYSEC-2018-28").unwrap();
    let json: serde_json::Value = serde_json::from_str(requests.to_osv_json().unwrap()).unwrap();
    assert_eq!(json["aliases"], serde_json::json!(["GHSA-x84v-xcm2-53pg", "CVE-2018-18074"]));
    assert_eq!(json["affected"][0]["ranges"].as_array().unwrap().len(), 2, "GIT ranges are served as they are");
    assert!(requests.affects("requests", "2.19.1"));
    assert!(!requests.affects("urllib3", "2.19.1"));
    assert_eq!(requests.packages().collect::<Vec<_>>(), ["requests"]);
}

#[test]
fn unusable_databases_are_errors() {
    let missing = AdvisoryDb::load(Path::new("/nonexistent/advisory-db")).unwrap_err();
    assert!(missing.to_string().contains("does not exist"), "{missing}");
    let dir = tempfile::tempdir().unwrap();
    let empty = AdvisoryDb::load(dir.path()).unwrap_err();
    assert!(empty.to_string().contains("no OSV records"), "{empty}");
    write(dir.path(), "a/PYSEC-1.yaml", "- not a record\n");
    let broken = AdvisoryDb::load(dir.path()).unwrap_err();
    assert!(broken.to_string().contains("every record file is malformed"), "{broken}");
    let file = write(dir.path(), "file.yaml", REQUESTS);
    assert!(AdvisoryDb::load(&file).unwrap_err().to_string().contains("not a directory"));
}

#[test]
fn a_flat_directory_without_vulns_works() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "PYSEC-2018-28.yaml", REQUESTS);
    let (db, warnings) = AdvisoryDb::load(dir.path()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(ids(&db.query("requests", "2.0")), ["PYSEC-2018-28"]);
}

#[test]
fn from_sources_builds_the_same_database() {
    let (db, warnings) = AdvisoryDb::from_sources(
        Path::new("memory"),
        vec![(PathBuf::from("a.yaml"), REQUESTS.to_string()), (PathBuf::from("b.json"), PYYAML_JSON.to_string())],
    );
    assert!(warnings.is_empty());
    assert_eq!(db.len(), 2);
    assert_eq!(ids(&db.query("requests", "2.19.0")), ["PYSEC-2018-28"]);
}

#[test]
fn the_cache_is_reused_while_files_are_unchanged() {
    let (dir, first, first_warnings) = sample_db();
    let cache = tempfile::tempdir().unwrap();
    let (cold, cold_warnings) = AdvisoryDb::load_cached(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(cold.stats().from_cache, 0);
    assert_eq!(cold_warnings, first_warnings);
    let (warm, warm_warnings) = AdvisoryDb::load_cached(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(warm.stats().from_cache, warm.stats().files, "every file from the cache");
    assert_eq!(warm_warnings, first_warnings, "the same warnings from cached files");
    assert_eq!(
        (warm.stats().advisories, warm.stats().withdrawn, warm.stats().malformed),
        (first.stats().advisories, first.stats().withdrawn, first.stats().malformed)
    );
    assert_eq!(ids(&warm.query("requests", "2.19.0")), ["PYSEC-2018-28"]);
    assert_eq!(
        warm.get("PYSEC-2018-28").unwrap().to_osv_json().unwrap(),
        first.get("PYSEC-2018-28").unwrap().to_osv_json().unwrap()
    );

    // A changed file is parsed again; the others still come from the cache.
    let changed = REQUESTS.replace("fixed: 2.20.0", "fixed: 2.30.0");
    write(dir.path(), "vulns/requests/PYSEC-2018-28.yaml", &changed);
    let (updated, _) = AdvisoryDb::load_cached(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(updated.stats().from_cache, updated.stats().files - 1);
    assert_eq!(ids(&updated.query("requests", "2.25.0")), ["PYSEC-2018-28"]);

    // A new file, and a removed one.
    write(
        dir.path(),
        "vulns/pyyaml/PYSEC-2021-142.yaml",
        &REQUESTS.replace("PYSEC-2018-28", "PYSEC-2021-142").replace("name: requests", "name: pyyaml"),
    );
    std::fs::remove_file(dir.path().join("vulns/steam/PYSEC-2019-125.yaml")).unwrap();
    let (grown, _) = AdvisoryDb::load_cached(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(grown.stats().files, first.stats().files);
    assert_eq!(grown.stats().from_cache, first.stats().files - 1);
    assert!(grown.get("PYSEC-2019-125").is_none());
    assert!(grown.get("PYSEC-2021-142").is_some());

    // A corrupt cache is ignored and replaced.
    for entry in std::fs::read_dir(cache.path()).unwrap().flatten() {
        std::fs::write(entry.path(), "{ not json").unwrap();
    }
    let (recovered, _) = AdvisoryDb::load_cached(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(recovered.stats().from_cache, 0);
    assert_eq!(recovered.len(), grown.len());
    let (again, _) = AdvisoryDb::load_cached(dir.path(), Some(cache.path())).unwrap();
    assert_eq!(again.stats().from_cache, again.stats().files);
}

/// Sends one HTTP/1.1 request and returns the status code and body.
fn http(stream: &mut TcpStream, method: &str, path: &str, body: &str, close: bool) -> (u16, String) {
    let connection = if close { "Connection: close\r\n" } else { "" };
    // Like pip-audit (python-requests with `data=`): no Content-Type header.
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: python-requests/2.32\r\nAccept: */*\r\n{connection}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let mut buffer = [0u8; 65536];
    loop {
        let read = stream.read(&mut buffer).unwrap();
        if read == 0 {
            break;
        }
        response.extend_from_slice(&buffer[..read]);
        let text = String::from_utf8_lossy(&response);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())
                })
                .unwrap_or(0);
            if response.len() >= end + 4 + length {
                break;
            }
        }
    }
    let text = String::from_utf8(response).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

fn connect(server: &AdvisoryServer) -> TcpStream {
    let stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_osv_api_on_loopback() {
    let (_dir, db, _) = sample_db();
    let server = serve(Arc::new(db)).await.unwrap();
    assert!(server.addr().ip().is_loopback());
    assert!(server.query_url().starts_with("http://127.0.0.1:") && server.query_url().ends_with("/v1/query"));
    let addr = server.addr();

    let answers = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let query = |stream: &mut TcpStream, body: &str| http(stream, "POST", "/v1/query", body, false);
        // Several requests on one kept-alive connection, as python-requests sends them.
        let hit = query(&mut stream, r#"{"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.19.0"}"#);
        let miss = query(&mut stream, r#"{"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.31.0"}"#);
        let unknown =
            query(&mut stream, r#"{"package": {"name": "no-such-package", "ecosystem": "PyPI"}, "version": "1.0"}"#);
        let purl = query(&mut stream, r#"{"package": {"purl": "pkg:pypi/PyYAML@5.3"}}"#);
        let all = query(&mut stream, r#"{"package": {"name": "PyYAML", "ecosystem": "PyPI"}}"#);
        let npm = query(&mut stream, r#"{"package": {"name": "left-pad", "ecosystem": "npm"}, "version": "1.0.0"}"#);
        let garbage = query(&mut stream, "{not json");
        let batch = http(
            &mut stream,
            "POST",
            "/v1/querybatch",
            r#"{"queries": [{"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "2.0"},
                            {"package": {"name": "requests", "ecosystem": "PyPI"}, "version": "3.0"}]}"#,
            false,
        );
        let by_id = http(&mut stream, "GET", "/v1/vulns/PYSEC-2018-28", "", false);
        let no_id = http(&mut stream, "GET", "/v1/vulns/PYSEC-1999-1", "", false);
        let other = http(&mut stream, "GET", "/", "", true);
        (hit, miss, unknown, purl, all, npm, garbage, batch, by_id, no_id, other)
    })
    .await
    .unwrap();
    let (hit, miss, unknown, purl, all, npm, garbage, batch, by_id, no_id, other) = answers;

    assert_eq!(hit.0, 200);
    let hit: serde_json::Value = serde_json::from_str(&hit.1).unwrap();
    assert_eq!(hit["vulns"][0]["id"], "PYSEC-2018-28");
    assert_eq!(hit["vulns"][0]["affected"][0]["ranges"][1]["events"][1]["fixed"], "2.20.0");
    assert_eq!(miss, (200, "{}".to_string()), "no match is an empty object, as OSV answers");
    assert_eq!(unknown, (200, "{}".to_string()));
    assert!(purl.1.contains("GHSA-8q59-q68h-6hv4"), "{purl:?}");
    assert!(all.1.contains("GHSA-8q59-q68h-6hv4"), "{all:?}");
    assert_eq!(npm.0, 400);
    assert!(npm.1.contains("only the PyPI ecosystem"), "{npm:?}");
    assert_eq!(garbage.0, 400);
    assert!(garbage.1.contains("invalid JSON"), "{garbage:?}");
    assert_eq!(batch.0, 200);
    let batch: serde_json::Value = serde_json::from_str(&batch.1).unwrap();
    assert_eq!(
        batch,
        serde_json::json!({"results": [{"vulns": [{"id": "PYSEC-2018-28", "modified": "2021-06-16T00:03:24.800813Z"}]}, {}]})
    );
    assert_eq!(by_id.0, 200);
    assert!(by_id.1.contains("CVE-2018-18074"));
    assert_eq!(no_id.0, 404);
    assert_eq!(other.0, 404);
    assert_eq!(server.queries(), 7, "five answered queries and two in the batch");

    server.shutdown().await;
    assert!(TcpStream::connect(addr).is_err(), "the port is closed after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_server_closes_the_port_and_open_connections() {
    let (_dir, db, _) = sample_db();
    let server = serve(Arc::new(db)).await.unwrap();
    let addr = server.addr();
    let mut stream = connect(&server);
    let (status, _) =
        tokio::task::spawn_blocking(move || (http(&mut stream, "GET", "/v1/vulns/PYSEC-2018-28", "", false), stream))
            .await
            .unwrap()
            .0;
    assert_eq!(status, 200);
    drop(server);
    let closed = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        TcpStream::connect(addr).is_err()
    });
    assert!(closed, "the port is closed soon after the server is dropped");
}

/// The full PyPA snapshot, when `GREENLIGHT_ADVISORY_DB` points at one.
#[test]
fn full_snapshot_when_available() {
    let env = greenlight_checker::env::Env::capture();
    let Some(path) = env.path(greenlight_checker::env::EnvVars::GREENLIGHT_ADVISORY_DB) else {
        return;
    };
    let (db, warnings) = AdvisoryDb::load(Path::new(&path)).unwrap();
    assert!(db.len() > 2000, "{:?}", db.stats());
    assert!(warnings.iter().all(|warning| !warning.skipped), "{warnings:#?}");
    assert!(db.stats().withdrawn > 0);
    let found = ids(&db.query("requests", "2.19.0"));
    assert!(found.contains(&"PYSEC-2018-28".to_string()), "{found:?}");
    assert!(!ids(&db.query("requests", "2.20.0")).contains(&"PYSEC-2018-28".to_string()));
    assert!(ids(&db.query("py", "1.11.0")).contains(&"PYSEC-2022-42969".to_string()), "last_affected");
    assert!(ids(&db.query("redis", "4.5.3")).iter().all(|id| id != "PYSEC-2023-73"), "withdrawn");
    for advisory in db.query("urllib3", "1.23") {
        let json: serde_json::Value = serde_json::from_str(advisory.to_osv_json().unwrap()).unwrap();
        assert_eq!(json["id"], advisory.id.as_str());
    }
}
