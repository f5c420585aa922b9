//! The JSON Schema of the report, `docs/report.schema.json`, is generated from the model: this
//! test fails when the checked-in file differs from what the model generates. After changing
//! the model, regenerate it and review the diff:
//!
//! ```sh
//! GREENLIGHT_UPDATE_SCHEMA=1 cargo test -p greenlight-report --test schema
//! git diff docs/report.schema.json
//! ```

use std::path::Path;

use greenlight_report::RunReport;

/// The schema as the model generates it, as the file holds it.
fn generated() -> String {
    let schema = schemars::schema_for!(RunReport);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

#[test]
fn the_checked_in_schema_is_the_models() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/report.schema.json");
    let generated = generated();
    #[expect(clippy::disallowed_methods, reason = "a switch of this test, not of greenlight")]
    let update = std::env::var_os("GREENLIGHT_UPDATE_SCHEMA").is_some_and(|value| value == "1");
    if update {
        std::fs::write(&path, &generated).expect("write docs/report.schema.json");
        return;
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "docs/report.schema.json is not the schema of the report model; regenerate it with \
         `GREENLIGHT_UPDATE_SCHEMA=1 cargo test -p greenlight-report --test schema` and review the diff"
    );
}

#[test]
fn the_schema_describes_the_contract_fields() {
    let schema: serde_json::Value = serde_json::from_str(&generated()).unwrap();
    let required: Vec<&str> =
        schema["required"].as_array().unwrap().iter().map(|field| field.as_str().unwrap()).collect();
    for field in ["schema_version", "greenlight_version", "outcome", "project", "started_at", "duration_ms", "checks"] {
        assert!(required.contains(&field), "{field} is not required: {required:?}");
    }
    let text = generated();
    for name in ["timed_out", "need_failed", "fail_fast", "vulnerability"] {
        assert!(text.contains(&format!("\"{name}\"")), "{name} is not in the schema");
    }
}
