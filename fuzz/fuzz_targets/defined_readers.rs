//! The readers of defined checks: SARIF, JUnit, and the `json`, `json-lines` and `regex`
//! readers of the shipped definitions (bandit, mypy and its older text format), one chosen by
//! the selector byte, reading the rest.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use greenlight_plugin_defined::reader::{RawReader, Reader};
use greenlight_plugin_defined::{BANDIT_DEFINITION, MYPY_DEFINITION};
use libfuzzer_sys::fuzz_target;

fn reader(value: toml::Value) -> Reader {
    let raw: RawReader = value.try_into().expect("a shipped reader is a reader table");
    Reader::new(&raw).expect("a shipped reader is valid")
}

fn definition(text: &str) -> toml::Table {
    toml::from_str(text).expect("a shipped definition parses")
}

static READERS: LazyLock<Vec<Reader>> = LazyLock::new(|| {
    let mypy = definition(MYPY_DEFINITION);
    let bandit = definition(BANDIT_DEFINITION);
    let older = mypy["older"].as_array().and_then(|older| older.first()).expect("mypy has an older format");
    let format = |name: &str| reader(toml::Value::Table(toml::Table::from_iter([("format".into(), name.into())])));
    vec![
        format("sarif"),
        format("junit"),
        reader(bandit["reader"].clone()),
        reader(mypy["reader"].clone()),
        reader(older["reader"].clone()),
    ]
});

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = greenlight_fuzz::selector(data);
    let reader = &READERS[usize::from(selector) % READERS.len()];
    let _ = reader.read(&greenlight_fuzz::text(rest), Path::new("/project"), "fuzz");
});
