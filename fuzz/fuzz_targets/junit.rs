//! JUnit XML (pytest's report, defined checks' `junit` reader) and what is made of its cases.
#![no_main]

use greenlight_checker::junit;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let xml = greenlight_fuzz::text(data);
    if let Ok(parsed) = junit::parse_junit(&xml) {
        let _ = junit::counts(&parsed.summary);
        let _ = junit::case_findings(&parsed.summary, &parsed.failure_lines, "pytest");
    }
});
