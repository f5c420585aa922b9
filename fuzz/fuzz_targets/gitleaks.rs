//! gitleaks' JSON report (its leaks and the secrets to mask) and its log (report, NUL, stderr).
#![no_main]

use greenlight_plugin_gitleaks::{commits_scanned, parse_log, parse_report, parse_secrets};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let at = data.iter().position(|byte| *byte == 0).unwrap_or(data.len());
    let report = &data[..at];
    let _ = parse_report(report);
    let _ = parse_secrets(report);
    let stderr = greenlight_fuzz::text(data.get(at + 1..).unwrap_or_default());
    let log = parse_log(&stderr);
    let _ = commits_scanned(&log);
});
