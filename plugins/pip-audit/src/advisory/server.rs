//! The OSV API over HTTP/1.1 on a loopback port: `POST /v1/query`, `POST /v1/querybatch` and
//! `GET /v1/vulns/{id}`, answered from an [`AdvisoryDb`].
//!
//! The server lives as long as its [`AdvisoryServer`]: [`AdvisoryServer::shutdown`] (or
//! dropping it) closes the listening socket and every connection.

use std::convert::Infallible;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

use super::{Advisory, AdvisoryDb, ECOSYSTEM};

/// Largest request body accepted (a querybatch of 1,000 queries is ~100 KiB).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// Most queries in one querybatch, as the OSV API.
const MAX_BATCH: usize = 1000;

/// A running OSV endpoint on `127.0.0.1`. Dropping it stops it.
#[derive(Debug)]
pub struct AdvisoryServer {
    addr: SocketAddr,
    task: Option<JoinHandle<()>>,
    queries: Arc<AtomicU64>,
}

impl AdvisoryServer {
    /// The address it listens on (`127.0.0.1:<ephemeral port>`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The full query URL, as pip-audit's `--osv-url` wants it.
    pub fn query_url(&self) -> String {
        format!("http://{}/v1/query", self.addr)
    }

    /// How many package queries it answered (a querybatch counts each of its queries).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }

    /// Stops listening, closes every connection, and returns once the socket is closed.
    pub async fn shutdown(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for AdvisoryServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Serves `db` on `127.0.0.1` at an ephemeral port until the returned server is shut down or
/// dropped.
pub async fn serve(db: Arc<AdvisoryDb>) -> io::Result<AdvisoryServer> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let queries = Arc::new(AtomicU64::new(0));
    let state = Arc::new(State { db, queries: queries.clone() });
    let task = tokio::spawn(accept(listener, state));
    Ok(AdvisoryServer { addr, task: Some(task), queries })
}

struct State {
    db: Arc<AdvisoryDb>,
    queries: Arc<AtomicU64>,
}

/// Accepts connections until aborted; aborting drops the listener and, with the `JoinSet`,
/// every connection task.
async fn accept(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let state = state.clone();
                    connections.spawn(async move {
                        let service = service_fn(move |request| handle(state.clone(), request));
                        let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
                // Out of file descriptors and the like: wait instead of spinning.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = request.method().clone();
    let path = request.uri().path().trim_end_matches('/').to_string();
    let response = match (&method, path.as_str()) {
        (&Method::POST, "/v1/query") => match read_json::<Query>(request).await {
            Ok(query) => answer_query(&state, &query),
            Err(response) => response,
        },
        (&Method::POST, "/v1/querybatch") => match read_json::<Batch>(request).await {
            Ok(batch) => answer_batch(&state, &batch),
            Err(response) => response,
        },
        (&Method::GET, path) if path.starts_with("/v1/vulns/") => {
            let id = &path["/v1/vulns/".len()..];
            match state.db.get(id) {
                Some(advisory) => match advisory.to_osv_json() {
                    Ok(json) => json_response(StatusCode::OK, json.to_string()),
                    Err(error) => error_response(StatusCode::INTERNAL_SERVER_ERROR, 13, &error.to_string()),
                },
                None => error_response(StatusCode::NOT_FOUND, 5, "Bug not found."),
            }
        }
        (_, "/v1/query" | "/v1/querybatch") => {
            error_response(StatusCode::METHOD_NOT_ALLOWED, 12, &format!("{method} is not supported; use POST"))
        }
        _ => error_response(StatusCode::NOT_FOUND, 5, &format!("no such endpoint: {method} {path}")),
    };
    Ok(response)
}

async fn read_json<T: for<'de> Deserialize<'de>>(request: Request<Incoming>) -> Result<T, Response<Full<Bytes>>> {
    let body = match Limited::new(request.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            return Err(error_response(StatusCode::PAYLOAD_TOO_LARGE, 3, &format!("cannot read the request: {error}")));
        }
    };
    serde_json::from_slice(&body)
        .map_err(|error| error_response(StatusCode::BAD_REQUEST, 3, &format!("invalid JSON request: {error}")))
}

/// One OSV query.
#[derive(Debug, Deserialize)]
struct Query {
    #[serde(default)]
    package: Option<QueryPackage>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    commit: Option<String>,
}

#[derive(Debug, Deserialize)]
struct QueryPackage {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    ecosystem: Option<String>,
    #[serde(default)]
    purl: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Batch {
    queries: Vec<Query>,
}

/// Why the endpoint cannot answer a query (the client gets it with HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum QueryError {
    #[error("commit queries are not supported: this endpoint serves PyPI advisories by version")]
    Commit,
    #[error("the query has no `package`")]
    NoPackage,
    #[error("give the version in `version` or in the purl, not both")]
    TwoVersions,
    #[error("the query's package has no `name` (or `purl`)")]
    NoName,
    #[error("only the PyPI ecosystem is served, not `{0}`")]
    Ecosystem(String),
    #[error("the query's package has no `ecosystem`")]
    NoEcosystem,
    #[error("only pkg:pypi purls are served, not `{0}`")]
    PurlType(String),
    #[error("the purl `{0}` names no package")]
    PurlName(String),
}

/// The package name and version a query asks about, or why it is invalid.
fn resolve(query: &Query) -> Result<(String, Option<String>), QueryError> {
    if query.commit.is_some() {
        return Err(QueryError::Commit);
    }
    let Some(package) = &query.package else {
        return Err(QueryError::NoPackage);
    };
    if let Some(purl) = &package.purl {
        let (name, purl_version) = parse_purl(purl)?;
        if purl_version.is_some() && query.version.is_some() {
            return Err(QueryError::TwoVersions);
        }
        return Ok((name, purl_version.or_else(|| query.version.clone())));
    }
    let Some(name) = package.name.as_deref().filter(|name| !name.trim().is_empty()) else {
        return Err(QueryError::NoName);
    };
    match package.ecosystem.as_deref() {
        Some(ECOSYSTEM) => Ok((name.to_string(), query.version.clone())),
        Some(other) => Err(QueryError::Ecosystem(other.to_string())),
        None => Err(QueryError::NoEcosystem),
    }
}

/// `pkg:pypi/<name>[@<version>]` (qualifiers and subpath ignored).
fn parse_purl(purl: &str) -> Result<(String, Option<String>), QueryError> {
    let rest = purl.strip_prefix("pkg:pypi/").ok_or_else(|| QueryError::PurlType(purl.to_string()))?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (name, version) = match rest.split_once('@') {
        Some((name, version)) => (name, Some(version.to_string())),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(QueryError::PurlName(purl.to_string()));
    }
    Ok((name.to_string(), version))
}

/// The advisories a valid query matches (the query is counted).
fn matching<'a>(state: &'a State, query: &Query) -> Result<Vec<&'a Advisory>, QueryError> {
    let (name, version) = resolve(query)?;
    state.queries.fetch_add(1, Ordering::Relaxed);
    Ok(match &version {
        Some(version) => state.db.query(&name, version),
        None => state.db.advisories_for(&name),
    })
}

fn answer_query(state: &State, query: &Query) -> Response<Full<Bytes>> {
    let advisories = match matching(state, query) {
        Ok(advisories) => advisories,
        Err(error) => return error_response(StatusCode::BAD_REQUEST, 3, &error.to_string()),
    };
    if advisories.is_empty() {
        return json_response(StatusCode::OK, "{}".to_string());
    }
    let mut body = String::from("{\"vulns\":[");
    for (index, advisory) in advisories.iter().enumerate() {
        match advisory.to_osv_json() {
            Ok(json) => {
                if index > 0 {
                    body.push(',');
                }
                body.push_str(json);
            }
            // Never answer with fewer advisories than match: the client must see the failure.
            Err(error) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, 13, &error.to_string()),
        }
    }
    body.push_str("]}");
    json_response(StatusCode::OK, body)
}

fn answer_batch(state: &State, batch: &Batch) -> Response<Full<Bytes>> {
    if batch.queries.len() > MAX_BATCH {
        return error_response(StatusCode::BAD_REQUEST, 3, &format!("too many queries (at most {MAX_BATCH})"));
    }
    let mut results = Vec::with_capacity(batch.queries.len());
    for query in &batch.queries {
        let advisories = match matching(state, query) {
            Ok(advisories) => advisories,
            Err(error) => return error_response(StatusCode::BAD_REQUEST, 3, &error.to_string()),
        };
        if advisories.is_empty() {
            results.push(serde_json::json!({}));
        } else {
            let vulns: Vec<serde_json::Value> = advisories
                .iter()
                .map(|advisory| serde_json::json!({"id": advisory.id, "modified": advisory.modified}))
                .collect();
            results.push(serde_json::json!({ "vulns": vulns }));
        }
    }
    json_response(StatusCode::OK, serde_json::json!({ "results": results }).to_string())
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}

/// An error in the OSV API's shape: `{"code": <gRPC code>, "message": "..."}`.
fn error_response(status: StatusCode, code: u32, message: &str) -> Response<Full<Bytes>> {
    json_response(status, serde_json::json!({ "code": code, "message": message }).to_string())
}
