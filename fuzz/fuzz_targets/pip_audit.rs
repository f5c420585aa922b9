//! pip-audit's JSON report and the message read from its stderr (report, NUL, stderr).
#![no_main]

use greenlight_plugin_pip_audit::{error_message, parse_report};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let at = data.iter().position(|byte| *byte == 0).unwrap_or(data.len());
    let _ = parse_report(&data[..at]);
    let _ = error_message(&greenlight_fuzz::text(data.get(at + 1..).unwrap_or_default()));
});
