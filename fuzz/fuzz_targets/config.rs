//! The configuration loader: a `pyproject.toml` (selector byte even) or a `greenlight.toml`
//! (odd) through `Config::from_source` and the plan, which builds every checker from its
//! section and every defined check. Errors are expected; a panic is a bug.
#![no_main]

use greenlight_checker::{ConfigSource, Project};
use greenlight_orchestrator::{Config, Plan, Selection};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = greenlight_fuzz::selector(data);
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let registry = greenlight_fuzz::registry();
    let source = if selector % 2 == 0 {
        ConfigSource::new("/nonexistent/pyproject.toml", text, &["tool", "greenlight"])
    } else {
        ConfigSource::new("/nonexistent/greenlight.toml", text, &[])
    };
    let Ok(config) = Config::from_source(source, &registry.ids()) else { return };
    let project = Project { root: "/nonexistent".into(), ..Project::default() };
    let _ = Plan::from_config(project, &registry, &Selection::default(), config);
});
