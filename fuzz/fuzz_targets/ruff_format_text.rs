//! The text `ruff format --check` prints (stdout, NUL, stderr).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (stdout, stderr) = greenlight_fuzz::two_texts(data);
    let _ = greenlight_plugin_ruff::parse_format_text(&stdout, &stderr, Path::new("/project"));
});
