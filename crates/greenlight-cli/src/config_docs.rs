//! docs/configuration.md mentions every option key the configuration loader accepts: the
//! keys are read from the loader itself (the valid keys its unknown-key errors list), for
//! greenlight's own tables and every registered check's section.

use std::collections::BTreeSet;

use greenlight_checker::{COMMON_KEYS, ConfigSource};
use greenlight_orchestrator::Config;
use greenlight_orchestrator::config::TOP_LEVEL_KEYS;

use crate::registry::registry;

/// The valid keys an unknown-key error lists (``expected one of `a`, `b` ``).
fn valid_keys(message: &str) -> Vec<String> {
    let Some(at) = message.find("expected") else { return Vec::new() };
    message[at..].split('`').skip(1).step_by(2).map(str::to_string).collect()
}

fn source(text: &str) -> ConfigSource {
    ConfigSource::new("greenlight.toml", text, &[])
}

#[test]
fn configuration_md_mentions_every_key() {
    let docs = include_str!("../../../docs/configuration.md");
    let ids: Vec<&str> = registry().iter().map(|factory| factory.id).collect();
    let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
    for key in TOP_LEVEL_KEYS {
        keys.insert(("[tool.greenlight]".into(), key.to_string()));
    }
    for key in COMMON_KEYS {
        keys.insert(("every check section".into(), key.to_string()));
    }
    for table in ["environment", "cache", "hotfix"] {
        let error = Config::from_source(source(&format!("[{table}]\nzz-unknown = 1\n")), &ids).unwrap_err();
        let found = valid_keys(&error.message);
        assert!(!found.is_empty(), "no keys listed for [{table}]: {error}");
        keys.extend(found.into_iter().map(|key| (format!("[{table}]"), key)));
    }
    let error = Config::from_source(source("[tools]\nruff = { zz-unknown = 1 }\n"), &ids).unwrap_err();
    keys.extend(valid_keys(&error.message).into_iter().map(|key| ("[tools] pin".to_string(), key)));
    for factory in registry().factories {
        let Err(error) = (factory.build)(&source(&format!("[{}]\nzz-unknown = 1\n", factory.id))) else {
            panic!("[{}] accepted an unknown key", factory.id);
        };
        let found = valid_keys(&error.message);
        assert!(found.len() >= COMMON_KEYS.len(), "no keys listed for [{}]: {error}", factory.id);
        keys.extend(found.into_iter().map(|key| (format!("[{}]", factory.id), key)));
    }
    // A defined check's keys, and its reader's.
    let define = registry().define.expect("the registry defines checks");
    for (table, text) in [
        ("[checks.<id>]", "[checks.x]\ncommand = 'a'\nzz-unknown = 1\n"),
        ("reader", "[checks.x]\ncommand = 'a'\nreader = { format = 'json', zz-unknown = 1 }\n"),
    ] {
        let Err(error) = define(&source(text), &["x".to_string()]) else { panic!("{table} accepted an unknown key") };
        let found = valid_keys(&error.message);
        assert!(found.len() > 5, "no keys listed for {table}: {error}");
        keys.extend(found.into_iter().map(|key| (table.to_string(), key)));
    }
    let missing: Vec<String> = keys
        .iter()
        .filter(|(_, key)| !docs.contains(&format!("`{key}`")))
        .map(|(table, key)| format!("{table} `{key}`"))
        .collect();
    assert!(missing.is_empty(), "docs/configuration.md does not mention: {}", missing.join(", "));
}
