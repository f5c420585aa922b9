//! The Docker build stream decoder (`BuildLog::push` over chunks cut where the input has a
//! NUL byte, as the engine's stream arrives) and the build-log classifier of an error message
//! against the step it stopped in.
#![no_main]

use greenlight_plugin_docker::buildlog::{BuildLog, classify, error_lines, line_in_message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut log = BuildLog::default();
    let mut chunks = data.split(|byte| *byte == 0);
    let message = greenlight_fuzz::text(chunks.next().unwrap_or_default());
    for chunk in chunks {
        let _ = log.push(&greenlight_fuzz::text(chunk));
        let _ = log.safe_to_leave();
    }
    let _ = log.finish();
    let _ = log.last_image();
    let step = log.last_step();
    let _ = classify(&message, step);
    let _ = line_in_message(&message);
    if let Some(step) = step {
        let _ = error_lines(step, 20);
    }
});
