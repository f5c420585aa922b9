//! The report loader of `report render` and `report merge`, then what they do with a report
//! that loads: merge it with itself and render every format.
#![no_main]

use greenlight_reporters::{codequality, github, json, junit, markdown, merge, sarif, terminal};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(report) = json::parse(text) else { return };
    let _ = json::render(&report);
    let _ = junit::render(&report);
    let _ = markdown::render(&report);
    let _ = github::render(&report);
    let _ = sarif::render(&report);
    let _ = codequality::render(&report);
    let _ = terminal::render_summary(&report, &terminal::SummaryOptions::default());
    let _ = merge::merge(vec![report.clone(), report]);
});
