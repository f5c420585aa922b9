//! The Docker Engine, behind a small trait so the check's logic can be tested without one.
//!
//! [`BollardEngine`] is the real thing (the Engine API through bollard, no `docker` CLI). The
//! trait's types are greenlight's own, so the rest of the plugin never sees bollard.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt as _};
use greenlight_checker::async_trait;

/// Where greenlight looks for the engine when `DOCKER_HOST` is not set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// What the engine said when a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineError {
    /// Nothing answers at the address (no socket, connection refused, timeout).
    Unreachable(String),
    /// 404: no such image or container.
    NotFound(String),
    /// 409: in use (an image with children or containers, a running container).
    Conflict(String),
    /// Any other error status, with its message.
    Server {
        /// The HTTP status.
        status: u16,
        /// The daemon's message.
        message: String,
    },
    /// An error the daemon reported in a stream (a build step that failed).
    Stream(String),
    /// Anything else (a response that does not parse, an I/O error).
    Other(String),
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::Unreachable(message)
            | EngineError::NotFound(message)
            | EngineError::Conflict(message)
            | EngineError::Stream(message)
            | EngineError::Other(message) => f.write_str(message),
            EngineError::Server { status, message } => write!(f, "{message} (HTTP {status})"),
        }
    }
}

/// An image build, as `POST /build` takes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildRequest {
    /// The context tar on disk.
    pub context_tar: PathBuf,
    /// The Dockerfile's path inside the context.
    pub dockerfile: String,
    /// The tag of the result.
    pub tag: String,
    /// The stage to build.
    pub target: Option<String>,
    /// `--build-arg`s.
    pub build_args: BTreeMap<String, String>,
    /// Labels of the result.
    pub labels: BTreeMap<String, String>,
    /// `--no-cache`.
    pub no_cache: bool,
}

/// One item of the build's progress stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildEvent {
    /// Build output (`Step 1/5 : FROM ...`, the output of `RUN`); chunks, not lines.
    Output(String),
    /// A status line (image pulls).
    Status(String),
    /// The id of the built image.
    ImageId(String),
}

/// The build's progress stream.
pub type BuildStream<'a> = Pin<Box<dyn Stream<Item = Result<BuildEvent, EngineError>> + Send + 'a>>;

/// A container for the smoke test.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Its name.
    pub name: String,
    /// The image.
    pub image: String,
    /// The command (the image's `ENTRYPOINT` is cleared).
    pub cmd: Vec<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
}

/// What greenlight wants to know about an image.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageInfo {
    /// `sha256:...`.
    pub id: String,
    /// Bytes.
    pub size: Option<u64>,
}

/// A container's output, bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerLogs {
    /// stdout (the tail when it was longer than the limit).
    pub stdout: String,
    /// stderr (the tail when it was longer than the limit).
    pub stderr: String,
}

/// The operations the docker check needs.
#[async_trait]
pub trait Engine: Send + Sync {
    /// The address, for messages (`unix:///var/run/docker.sock`).
    fn endpoint(&self) -> String;
    /// `Docker Engine 20.10.24 (API 1.41)`: proves something answers.
    async fn version(&self) -> Result<String, EngineError>;
    /// Starts a build; the stream ends when the build does.
    fn build(&self, request: &BuildRequest) -> BuildStream<'_>;
    /// Id and size of an image.
    async fn inspect_image(&self, image: &str) -> Result<ImageInfo, EngineError>;
    /// Creates a container and returns its id.
    async fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError>;
    /// Starts it.
    async fn start_container(&self, id: &str) -> Result<(), EngineError>;
    /// Waits until it stops and returns its exit code.
    async fn wait_container(&self, id: &str) -> Result<i64, EngineError>;
    /// Its stdout and stderr, each bounded to `limit` bytes (the tail).
    async fn logs(&self, id: &str, limit: usize) -> Result<ContainerLogs, EngineError>;
    /// Removes it, killing it first if it runs.
    async fn remove_container(&self, id: &str) -> Result<(), EngineError>;
    /// True while the container exists.
    async fn container_exists(&self, id: &str) -> Result<bool, EngineError>;
    /// Removes an image (and its untagged parents), unless something still uses it.
    async fn remove_image(&self, image: &str) -> Result<(), EngineError>;
    /// Untagged images without children created at or after `since` (Unix seconds), with
    /// their parents: where to look for what an interrupted build committed after the client
    /// stopped listening.
    async fn dangling_images(&self, since: i64) -> Result<Vec<(String, String)>, EngineError>;
    /// Ids of the containers (running or not) labelled `io.greenlight.run=<run>`.
    async fn labelled_containers(&self, run: &str) -> Result<Vec<String>, EngineError>;
    /// Ids of the images, intermediate layers included, labelled `io.greenlight.run=<run>`.
    async fn labelled_images(&self, run: &str) -> Result<Vec<String>, EngineError>;
}

/// Why greenlight cannot talk to the engine that `DOCKER_HOST` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// Nothing is there.
    NoEngine(String),
    /// An address greenlight cannot use (ssh://, TLS).
    Unsupported(String),
}

/// The engine at `DOCKER_HOST` (`unix://` and `tcp://`/`http://`), or the default socket.
/// Fails at once when a unix socket does not exist.
pub fn connect(docker_host: Option<&str>, tls_verify: Option<&str>) -> Result<BollardEngine, ConnectError> {
    let host = docker_host.map(str::trim).filter(|host| !host.is_empty()).unwrap_or(DEFAULT_HOST).to_string();
    let version = bollard::API_DEFAULT_VERSION;
    // Request timeouts are enforced around each call (and around streams) by the check; this
    // one only bounds waiting for response headers, which for `/build` comes after the whole
    // context was uploaded and unpacked.
    let timeout = 3600;
    let docker = if let Some(path) = host.strip_prefix("unix://") {
        if !Path::new(path).exists() {
            return Err(ConnectError::NoEngine(format!("{path} does not exist")));
        }
        bollard::Docker::connect_with_socket(&host, timeout, version)
    } else if host.starts_with("tcp://") || host.starts_with("http://") {
        if tls_verify.is_some_and(|value| !value.is_empty() && value != "0") {
            return Err(ConnectError::Unsupported(format!(
                "DOCKER_HOST={host} with DOCKER_TLS_VERIFY set needs TLS, which greenlight does not speak; use a unix socket or a plain tcp:// address (for example through an SSH tunnel)"
            )));
        }
        bollard::Docker::connect_with_http(&host, timeout, version)
    } else {
        return Err(ConnectError::Unsupported(format!(
            "DOCKER_HOST={host}: greenlight talks to unix:// and tcp:// engines only (not ssh:// or npipe://); forward the engine to a local socket or set DOCKER_HOST to one"
        )));
    };
    docker.map(|docker| BollardEngine { docker, host }).map_err(|error| ConnectError::NoEngine(error.to_string()))
}

/// The Docker Engine API through bollard.
#[derive(Debug, Clone)]
pub struct BollardEngine {
    docker: bollard::Docker,
    host: String,
}

impl BollardEngine {
    /// A new client for the same address (for cleanup on another runtime).
    pub fn reconnect(&self) -> Option<Self> {
        connect(Some(&self.host), None).ok()
    }
}

fn map_error(error: bollard::errors::Error) -> EngineError {
    use bollard::errors::Error;
    match error {
        Error::DockerResponseServerError { status_code: 404, message } => EngineError::NotFound(message),
        Error::DockerResponseServerError { status_code: 409, message } => EngineError::Conflict(message),
        Error::DockerResponseServerError { status_code, message } => {
            EngineError::Server { status: status_code, message }
        }
        Error::DockerStreamError { error } => EngineError::Stream(error),
        Error::SocketNotFoundError(path) => EngineError::Unreachable(format!("{path} does not exist")),
        Error::RequestTimeoutError => EngineError::Unreachable("no answer in time".to_string()),
        error @ (Error::HyperLegacyError { .. } | Error::IOError { .. }) => {
            EngineError::Unreachable(root_cause(&error))
        }
        error => EngineError::Other(error.to_string()),
    }
}

/// The innermost message of an error chain (`Connection refused (os error 111)` rather than
/// the HTTP client's `client error (Connect)`).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}

#[async_trait]
impl Engine for BollardEngine {
    fn endpoint(&self) -> String {
        self.host.clone()
    }

    async fn version(&self) -> Result<String, EngineError> {
        let version = self.docker.version().await.map_err(map_error)?;
        Ok(format!(
            "Docker Engine {} (API {})",
            version.version.unwrap_or_else(|| "?".to_string()),
            version.api_version.unwrap_or_else(|| "?".to_string())
        ))
    }

    fn build(&self, request: &BuildRequest) -> BuildStream<'_> {
        use bollard::query_parameters::BuildImageOptionsBuilder;
        let file = match std::fs::File::open(&request.context_tar) {
            Ok(file) => tokio::fs::File::from_std(file),
            Err(error) => {
                let message = format!("cannot read the build context {}: {error}", request.context_tar.display());
                return Box::pin(futures_util::stream::once(async move { Err(EngineError::Other(message)) }));
            }
        };
        let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(file));
        let build_args: std::collections::HashMap<String, String> =
            request.build_args.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let labels: std::collections::HashMap<String, String> =
            request.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut options = BuildImageOptionsBuilder::default()
            .dockerfile(&request.dockerfile)
            .t(&request.tag)
            .rm(true)
            .forcerm(true)
            .nocache(request.no_cache)
            .buildargs(&build_args)
            .labels(&labels);
        if let Some(target) = &request.target {
            options = options.target(target);
        }
        let stream = self.docker.build_image(options.build(), None, Some(body)).filter_map(|item| async move {
            match item {
                Ok(info) => {
                    if let Some(detail) = info.error_detail
                        && let Some(message) = detail.message
                    {
                        return Some(Err(EngineError::Stream(message)));
                    }
                    if let Some(output) = info.stream {
                        return Some(Ok(BuildEvent::Output(output)));
                    }
                    // Without bollard's `buildkit` feature, `aux` is the classic builder's image id.
                    if let Some(image) = info.aux
                        && let Some(id) = image.id
                    {
                        return Some(Ok(BuildEvent::ImageId(id)));
                    }
                    info.status.map(|status| {
                        let status = match info.id {
                            Some(id) => format!("{id}: {status}"),
                            None => status,
                        };
                        Ok(BuildEvent::Status(status))
                    })
                }
                Err(error) => Some(Err(map_error(error))),
            }
        });
        Box::pin(stream)
    }

    async fn inspect_image(&self, image: &str) -> Result<ImageInfo, EngineError> {
        let inspect = self.docker.inspect_image(image).await.map_err(map_error)?;
        Ok(ImageInfo {
            id: inspect.id.unwrap_or_default(),
            size: inspect.size.and_then(|size| u64::try_from(size).ok()),
        })
    }

    async fn create_container(&self, spec: &ContainerSpec) -> Result<String, EngineError> {
        use bollard::models::{ContainerCreateBody, HostConfig};
        use bollard::query_parameters::CreateContainerOptionsBuilder;
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            cmd: Some(spec.cmd.clone()),
            // An empty (not absent) entrypoint clears the image's, so `cmd` runs as given.
            entrypoint: Some(Vec::new()),
            labels: Some(spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
            network_disabled: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            host_config: Some(HostConfig {
                network_mode: Some("none".to_string()),
                auto_remove: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default().name(&spec.name).build();
        let created = self.docker.create_container(Some(options), body).await.map_err(map_error)?;
        Ok(created.id)
    }

    async fn start_container(&self, id: &str) -> Result<(), EngineError> {
        self.docker.start_container(id, None).await.map_err(map_error)
    }

    async fn wait_container(&self, id: &str) -> Result<i64, EngineError> {
        let mut stream = self.docker.wait_container(id, None);
        match stream.next().await {
            Some(Ok(response)) => Ok(response.status_code),
            // bollard turns a non-zero exit into this error.
            Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
            Some(Err(error)) => Err(map_error(error)),
            None => Err(EngineError::Other("the wait stream ended without a status".to_string())),
        }
    }

    async fn logs(&self, id: &str, limit: usize) -> Result<ContainerLogs, EngineError> {
        use bollard::container::LogOutput;
        use bollard::query_parameters::LogsOptionsBuilder;
        let options = LogsOptionsBuilder::default().stdout(true).stderr(true).build();
        let mut stream = self.docker.logs(id, Some(options));
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Some(item) = stream.next().await {
            match item.map_err(map_error)? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    keep_tail(&mut stdout, &message, limit)
                }
                LogOutput::StdErr { message } => keep_tail(&mut stderr, &message, limit),
                LogOutput::StdIn { .. } => {}
            }
        }
        Ok(ContainerLogs {
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        })
    }

    async fn remove_container(&self, id: &str) -> Result<(), EngineError> {
        use bollard::query_parameters::RemoveContainerOptionsBuilder;
        let options = RemoveContainerOptionsBuilder::default().force(true).v(true).build();
        self.docker.remove_container(id, Some(options)).await.map_err(map_error)
    }

    async fn container_exists(&self, id: &str) -> Result<bool, EngineError> {
        match self.docker.inspect_container(id, None).await.map_err(map_error) {
            Ok(_) => Ok(true),
            Err(EngineError::NotFound(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn remove_image(&self, image: &str) -> Result<(), EngineError> {
        use bollard::query_parameters::RemoveImageOptionsBuilder;
        let options = RemoveImageOptionsBuilder::default().force(false).noprune(false).build();
        self.docker.remove_image(image, Some(options), None).await.map(|_| ()).map_err(map_error)
    }

    async fn dangling_images(&self, since: i64) -> Result<Vec<(String, String)>, EngineError> {
        use bollard::query_parameters::ListImagesOptionsBuilder;
        let filters = std::collections::HashMap::from([("dangling", vec!["true"])]);
        let options = ListImagesOptionsBuilder::default().all(true).filters(&filters).build();
        let images = self.docker.list_images(Some(options)).await.map_err(map_error)?;
        Ok(images.into_iter().filter(|image| image.created >= since).map(|image| (image.id, image.parent_id)).collect())
    }

    async fn labelled_containers(&self, run: &str) -> Result<Vec<String>, EngineError> {
        use bollard::query_parameters::ListContainersOptionsBuilder;
        let filters = run_filter(run);
        let options = ListContainersOptionsBuilder::default().all(true).filters(&filters).build();
        let containers = self.docker.list_containers(Some(options)).await.map_err(map_error)?;
        Ok(containers.into_iter().filter_map(|container| container.id).collect())
    }

    async fn labelled_images(&self, run: &str) -> Result<Vec<String>, EngineError> {
        use bollard::query_parameters::ListImagesOptionsBuilder;
        let filters = run_filter(run);
        let options = ListImagesOptionsBuilder::default().all(true).filters(&filters).build();
        let mut images = self.docker.list_images(Some(options)).await.map_err(map_error)?;
        // Newest first: children before their parents.
        images.sort_by_key(|image| std::cmp::Reverse(image.created));
        Ok(images.into_iter().map(|image| image.id).collect())
    }
}

fn run_filter(run: &str) -> std::collections::HashMap<&'static str, Vec<String>> {
    std::collections::HashMap::from([("label", vec![format!("{}={run}", crate::RUN_LABEL)])])
}

/// True when two image references name the same image: full ids with or without `sha256:`, or
/// a 12-digit prefix.
pub fn same_image(a: &str, b: &str) -> bool {
    let a = a.strip_prefix("sha256:").unwrap_or(a);
    let b = b.strip_prefix("sha256:").unwrap_or(b);
    !a.is_empty() && !b.is_empty() && (a.starts_with(b) || b.starts_with(a))
}

/// Appends `chunk` to `buffer`, keeping at most the last `limit` bytes.
pub fn keep_tail(buffer: &mut Vec<u8>, chunk: &[u8], limit: usize) {
    buffer.extend_from_slice(chunk);
    if buffer.len() > limit {
        let excess = buffer.len() - limit;
        buffer.drain(..excess);
    }
}

/// How long to wait for the engine to answer `version` before saying there is none.
pub const PING_TIMEOUT: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_socket_is_no_engine_at_once() {
        let started = std::time::Instant::now();
        let error = connect(Some("unix:///nonexistent/docker.sock"), None).unwrap_err();
        assert_eq!(error, ConnectError::NoEngine("/nonexistent/docker.sock does not exist".to_string()));
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[test]
    fn unsupported_addresses() {
        for host in ["ssh://me@host", "npipe:////./pipe/docker_engine", "https://host:2376"] {
            assert!(matches!(connect(Some(host), None), Err(ConnectError::Unsupported(_))), "{host}");
        }
        assert!(matches!(connect(Some("tcp://127.0.0.1:2376"), Some("1")), Err(ConnectError::Unsupported(_))));
    }

    #[tokio::test]
    async fn refused_tcp_is_unreachable_quickly() {
        let engine = connect(Some("tcp://127.0.0.1:1"), None).unwrap();
        let started = std::time::Instant::now();
        let error = tokio::time::timeout(PING_TIMEOUT, engine.version()).await.unwrap().unwrap_err();
        assert!(matches!(&error, EngineError::Unreachable(message) if message.contains("refused")), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[test]
    fn tails() {
        let mut buffer = Vec::new();
        keep_tail(&mut buffer, b"hello ", 8);
        keep_tail(&mut buffer, b"world", 8);
        assert_eq!(buffer, b"lo world");
    }
}
