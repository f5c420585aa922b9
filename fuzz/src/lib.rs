//! What the fuzz targets share: splitting one input into the several texts a parser reads.

/// The registry of the command line, compiled from its one source file, so that the
/// configuration target builds exactly the checkers `greenlight` does.
#[path = "../../crates/greenlight-cli/src/registry.rs"]
mod registry;

pub use registry::registry;

/// The input as text, invalid UTF-8 replaced (tool output is read that way).
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The input split at its first NUL byte into two texts (stdout and stderr, say); without
/// one, the whole input is the first and the second is empty.
pub fn two_texts(data: &[u8]) -> (String, String) {
    match data.iter().position(|byte| *byte == 0) {
        Some(at) => (text(&data[..at]), text(&data[at + 1..])),
        None => (text(data), String::new()),
    }
}

/// The first byte as a selector (which variant of a parser to drive) and the rest.
pub fn selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, data),
    }
}
