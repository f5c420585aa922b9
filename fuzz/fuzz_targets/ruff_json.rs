//! ruff's JSON report, read as `ruff check` and as `ruff format --check` output.
#![no_main]

use std::path::Path;

use greenlight_plugin_ruff::{Mode, parse_diagnostics, parse_findings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let root = Path::new("/project");
    let _ = parse_diagnostics(data);
    let _ = parse_findings(data, root, Mode::Check);
    let _ = parse_findings(data, root, Mode::Format);
});
