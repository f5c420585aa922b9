//! Text helpers of the renderers: the shared ones of [`greenlight_report::text`], and the
//! gutter of excerpts.

pub use greenlight_report::text::{clip, duration, first_line, indent, last_lines, plural, printable};

/// `text` with every line prefixed by `prefix` (a gutter), empty lines included.
pub fn gutter(text: &str, prefix: &str) -> String {
    text.lines().map(|line| format!("{prefix}{line}").trim_end().to_string()).collect::<Vec<_>>().join("\n")
}
