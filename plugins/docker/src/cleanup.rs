//! Removing what a run created in the engine: the smoke container, the build's step
//! containers, the tag, and the layers the build committed (also those an interrupted build
//! commits after the check stopped reading), on every way the check ends, and from `Drop`
//! when the check is abandoned.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use greenlight_checker::CheckLog;
use greenlight_checker::process::Stop;

use crate::buildlog;
use crate::engine::{self, Engine, EngineError};
use crate::{BUILD_STEP_GRACE, Reconnect};

/// After a stopped build: how long no new layer must appear before the check stops watching,
/// and how long it watches at most. Short, so that Ctrl-C ends well within CI's grace before
/// SIGKILL (GitHub's 7.5 s): a layer committed later still carries the run's label, and the
/// run's record is left for the next run to sweep it.
const SWEEP_QUIET: Duration = Duration::from_millis(1500);
const SWEEP_LIMIT: Duration = Duration::from_secs(4);
/// How long a check dropped after a second Ctrl-C spends removing (containers and the tag).
const KILLED_CLEANUP: Duration = Duration::from_secs(2);

/// What this run created in the engine, removed by [`Resources::cleanup`], or — if the check
/// was dropped before it could (abandoned after a stop) — when it is dropped.
pub(crate) struct Resources {
    engine: Arc<dyn Engine>,
    reconnect: Reconnect,
    keep_image: bool,
    log_path: PathBuf,
    /// The check's stop: a second Ctrl-C (killed) skips every wait.
    stop: Stop,
    state: Mutex<Created>,
}

/// Everything to remove, in the order [`Created::next`] hands it out.
#[derive(Debug, Default)]
struct Created {
    /// The smoke-test container.
    containers: Vec<String>,
    /// Containers the builder started for steps and had not removed yet.
    build_containers: Vec<String>,
    /// The tag of the image.
    tag: Option<String>,
    /// Layers this build committed, oldest first.
    layers: Vec<String>,
    /// The built image, kept with `--keep-image` (its layers stay).
    kept: Option<String>,
    /// While a build runs: the image the step in progress builds on, and when the build last
    /// spoke. If the check stops listening before the build ends, the builder may still commit
    /// the step it is in: a child of that image, made after that moment.
    sweep: Option<(Vec<String>, i64)>,
    /// True from the start of the build until it ended on its own.
    building: bool,
}

/// Seconds since the epoch, as the engine dates images.
fn unix_now() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |since| i64::try_from(since.as_secs()).unwrap_or(i64::MAX))
}

/// One thing to remove.
#[derive(Debug)]
enum Removal {
    Container(String),
    BuildContainer(String),
    Image(String),
    Layer(String),
    Sweep(Vec<String>, i64),
}

impl Created {
    /// The next thing to remove: containers first, then what an interrupted build may have
    /// committed unseen, then the image, then the layers this build made (newest first).
    fn next(&mut self, keep_image: bool) -> Option<Removal> {
        if let Some(container) = self.containers.pop() {
            return Some(Removal::Container(container));
        }
        if let Some(container) = self.build_containers.pop() {
            return Some(Removal::BuildContainer(container));
        }
        // Before the layers: what the builder commits unseen is found by its parent.
        if let Some((known, since)) = self.sweep.take() {
            return Some(Removal::Sweep(known, since));
        }
        if let Some(tag) = self.tag.take()
            && !keep_image
        {
            return Some(Removal::Image(tag));
        }
        while let Some(layer) = self.layers.pop() {
            if self.kept.as_deref().is_some_and(|kept| engine::same_image(kept, &layer)) {
                continue;
            }
            return Some(Removal::Layer(layer));
        }
        None
    }

    fn is_empty(&self, keep_image: bool) -> bool {
        self.containers.is_empty()
            && self.build_containers.is_empty()
            && (self.tag.is_none() || keep_image)
            && self.layers.is_empty()
            && self.sweep.is_none()
    }
}

impl Resources {
    pub(crate) fn new(
        engine: Arc<dyn Engine>,
        reconnect: Reconnect,
        keep_image: bool,
        log_path: PathBuf,
        stop: Stop,
    ) -> Self {
        Self { engine, reconnect, keep_image, log_path, stop, state: Mutex::new(Created::default()) }
    }

    /// True when the build was stopped before it ended: it may still commit a layer after the
    /// check stopped watching (labelled, for the next run's sweep).
    pub(crate) fn build_interrupted(&self) -> bool {
        self.lock().building
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Created> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn set_tag(&self, tag: &str) {
        self.lock().tag = Some(tag.to_string());
    }

    pub(crate) fn build_started(&self) {
        self.lock().building = true;
    }

    /// Takes note of what the builder did; `images` are the images of its steps so far.
    pub(crate) fn record(&self, events: Vec<buildlog::Event>, parent: Option<String>) {
        let mut state = self.lock();
        for event in events {
            match event {
                buildlog::Event::Layer(id) => state.layers.push(id),
                buildlog::Event::ContainerStarted(id) => state.build_containers.push(id),
                buildlog::Event::ContainerRemoved(id) => state.build_containers.retain(|container| container != &id),
            }
        }
        if state.building {
            // What the builder commits unseen comes after this output, on `parent`: other
            // builds on the same engine may build on the same image, but not at this moment.
            // Image creation times are whole seconds.
            state.sweep = Some((parent.into_iter().collect(), unix_now() - 1));
        }
    }

    /// The build's stream ended (with its image or an error): the builder is done.
    pub(crate) fn build_ended(&self) {
        let mut state = self.lock();
        state.sweep = None;
        state.building = false;
    }

    /// The build made its image; with `--keep-image` it stays.
    pub(crate) fn built(&self, image_id: &str) {
        let mut state = self.lock();
        state.build_containers.clear();
        if self.keep_image {
            state.kept = Some(image_id.to_string());
        }
    }

    pub(crate) fn add_container(&self, id: &str) {
        self.lock().containers.push(id.to_string());
    }

    /// Removes everything; returns what could not be removed, with the command that would.
    pub(crate) async fn cleanup(&self) -> Vec<String> {
        let log = CheckLog::open(&self.log_path);
        let mut problems = Vec::new();
        loop {
            let next = self.lock().next(self.keep_image);
            let Some(removal) = next else { break };
            problems.extend(remove(&*self.engine, removal, &log, &self.stop).await);
        }
        problems
    }
}

/// Removes one thing; returns the problems to report.
async fn remove(engine: &dyn Engine, removal: Removal, log: &CheckLog, stop: &Stop) -> Vec<String> {
    let short = |id: &str| id.strip_prefix("sha256:").unwrap_or(id).chars().take(12).collect::<String>();
    match removal {
        Removal::Container(id) => match engine.remove_container(&id).await {
            Ok(()) | Err(EngineError::NotFound(_)) => {
                log.line(&format!("greenlight: removed container {}", short(&id)));
                Vec::new()
            }
            Err(error) => vec![format!("container {id}: {error}; remove it with `docker rm -f {id}`")],
        },
        // A stopped build finishes its current step (a `RUN` is killed; a commit completes),
        // then removes the step's container: wait for that, so that whatever it committed is
        // there to be found. Remove the container only if that takes too long.
        Removal::BuildContainer(id) => {
            let deadline = tokio::time::Instant::now() + BUILD_STEP_GRACE;
            while tokio::time::Instant::now() < deadline
                && !stop.is_killed()
                && engine.container_exists(&id).await.unwrap_or(false)
            {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            match engine.remove_container(&id).await {
                Ok(()) | Err(EngineError::NotFound(_) | EngineError::Conflict(_)) => Vec::new(),
                Err(error) => vec![format!("build container {id}: {error}; remove it with `docker rm -f {id}`")],
            }
        }
        Removal::Image(tag) => match engine.remove_image(&tag).await {
            Ok(()) | Err(EngineError::NotFound(_)) => {
                log.line(&format!("greenlight: removed image {tag}"));
                Vec::new()
            }
            Err(error) => vec![format!("image {tag}: {error}; remove it with `docker rmi {tag}`")],
        },
        Removal::Layer(id) => remove_layer(engine, &id).await.into_iter().collect(),
        Removal::Sweep(mut known, since) => {
            // A stopped build finishes the step it is in (a copy, a commit) and may commit it
            // after the check stopped reading: watch for new layers built on what the build
            // made until none has appeared for a while.
            let mut problems = Vec::new();
            let started = tokio::time::Instant::now();
            let mut last_seen = tokio::time::Instant::now();
            while last_seen.elapsed() < SWEEP_QUIET && started.elapsed() < SWEEP_LIMIT && !stop.is_killed() {
                let images = engine.dangling_images(since).await.unwrap_or_default();
                let unseen: Vec<String> = images
                    .into_iter()
                    .filter(|(id, parent)| {
                        known.iter().any(|image| engine::same_image(image, parent))
                            && !known.iter().any(|image| engine::same_image(image, id))
                    })
                    .map(|(id, _)| id)
                    .collect();
                for id in unseen {
                    log.line(&format!("greenlight: removed layer {} committed by the stopped build", short(&id)));
                    problems.extend(remove_layer(engine, &id).await);
                    known.push(id);
                    last_seen = tokio::time::Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            problems
        }
    }
}

/// Removes a layer this build made. One still in use by another image stays (it is that
/// image's now); one in use by a container the builder is removing is retried briefly.
async fn remove_layer(engine: &dyn Engine, id: &str) -> Option<String> {
    for _ in 0..10 {
        match engine.remove_image(id).await {
            Ok(()) | Err(EngineError::NotFound(_)) => return None,
            Err(EngineError::Conflict(message)) if message.contains("container") => {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            Err(EngineError::Conflict(_)) => return None,
            Err(error) => return Some(format!("layer {id}: {error}; remove it with `docker rmi {id}`")),
        }
    }
    Some(format!("layer {id} is still used by a container; remove both with `docker rm -f` and `docker rmi {id}`"))
}

impl Drop for Resources {
    fn drop(&mut self) {
        let mut created = std::mem::take(&mut *self.lock());
        if created.is_empty(self.keep_image) {
            return;
        }
        // The check was dropped before its cleanup ran (its run was abandoned): clean up on a
        // thread with a runtime of its own, bounded, and wait for it.
        let reconnect = self.reconnect.clone();
        let keep_image = self.keep_image;
        let log_path = self.log_path.clone();
        let stop = self.stop.clone();
        // After a second Ctrl-C everything ends at once: only the quick removals, briefly; the
        // run's record is left, and the next run removes the rest by label.
        let limit = if stop.is_killed() { KILLED_CLEANUP } else { Duration::from_secs(15) };
        let worker = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            runtime.block_on(async move {
                let Some(engine) = reconnect() else { return };
                let log = CheckLog::open(&log_path);
                let work = async {
                    while let Some(removal) = created.next(keep_image) {
                        let _ = remove(&*engine, removal, &log, &stop).await;
                    }
                };
                let _ = tokio::time::timeout(limit, work).await;
            });
        });
        let _ = worker.join();
    }
}
