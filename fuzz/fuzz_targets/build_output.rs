//! The classifier of a failed `python -m build` (stdout, NUL, stderr).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (stdout, stderr) = greenlight_fuzz::two_texts(data);
    let _ = greenlight_plugin_build::classify(&stdout, &stderr);
});
