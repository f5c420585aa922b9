//! The JSON report: the serde form of [`RunReport`] (contract).

use greenlight_report::RunReport;

use crate::common::redact;

/// The report as pretty-printed JSON with a trailing newline (secret findings redacted, see
/// [`crate::redact`]).
pub fn render(report: &RunReport) -> String {
    let report = redact(report);
    let mut text = serde_json::to_string_pretty(&*report).unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

/// Writes the report as pretty-printed JSON to `writer` (no intermediate string; secret
/// findings redacted, see [`crate::redact`]).
pub fn write(report: &RunReport, writer: impl std::io::Write) -> std::io::Result<()> {
    let report = redact(report);
    let mut writer = std::io::BufWriter::with_capacity(256 * 1024, writer);
    serde_json::to_writer_pretty(&mut writer, &*report)?;
    std::io::Write::write_all(&mut writer, b"\n")?;
    std::io::Write::flush(&mut writer)
}

/// Reads a JSON report written by [`render`] (any schema version 1 writer).
pub fn parse(text: &str) -> Result<RunReport, serde_json::Error> {
    serde_json::from_str(text)
}
