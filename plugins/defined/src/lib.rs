//! Checks without Rust: any tool as a check from its definition in configuration
//! (`[tool.greenlight.checks.<id>]`, or `[checks.<id>]` in greenlight.toml), and the `mypy`
//! and `bandit` checks, whose definitions are shipped in the binary (`definitions/*.toml`)
//! and run by the same code.
//!
//! A definition names a command (an argv list, or a string split like a shell splits
//! words; no shell runs it), whether it runs in the project environment, the tool greenlight
//! resolves and installs for it (a PyPI package at a version, as for the built-in tools),
//! when it applies, its exit-code contract and a reader ([`reader`]) for its output. The
//! verdict ([`check::interpret`]): an exit code outside the contract is `errored` (a crash or
//! bad usage), so is a report that cannot be read; findings fail the check even when the tool
//! exits with a success code.

mod check;
mod definition;
pub mod reader;
mod walk;

use std::sync::Arc;

use greenlight_checker::{Checker, CheckerFactory, ConfigError, ConfigSource, check_options};

pub use check::{DefinedCheck, interpret};
pub use definition::{Condition, DEFINITION_KEYS, Definition, ExitCodes, Older, PLACEHOLDERS};

/// The key of the table of defined checks in greenlight's table.
const CHECKS: &str = "checks";

/// The definition of the `mypy` check.
pub const MYPY_DEFINITION: &str = include_str!("../definitions/mypy.toml");

/// The definition of the `bandit` check.
pub const BANDIT_DEFINITION: &str = include_str!("../definitions/bandit.toml");

check_options! {
    /// Options of `[tool.greenlight.mypy]` and `[tool.greenlight.bandit]`.
    pub struct BuiltinOptions {
        /// The arguments after the definition's options: what to check (mypy's default `["."]`,
        /// bandit's `["--recursive", "."]`).
        pub args: Option<Vec<String>>,
    }
}

/// The `mypy` factory.
pub const MYPY: CheckerFactory =
    CheckerFactory { id: "mypy", build: |source| builtin(source, "mypy", MYPY_DEFINITION) };

/// The `bandit` factory.
pub const BANDIT: CheckerFactory =
    CheckerFactory { id: "bandit", build: |source| builtin(source, "bandit", BANDIT_DEFINITION) };

/// The checks `source` defines in `[tool.greenlight.checks]`, one per id of `ids` (which the
/// configuration loader has checked: none is a built-in check's).
pub fn define_checks(source: &ConfigSource, ids: &[String]) -> Result<Vec<Arc<dyn Checker>>, ConfigError> {
    ids.iter()
        .map(|id| {
            let definition = definition::parse(source, &[CHECKS, id], id)?;
            Ok(Arc::new(DefinedCheck { definition }) as Arc<dyn Checker>)
        })
        .collect()
}

/// A shipped definition with the section `[tool.greenlight.<id>]` of `source` over it.
fn builtin(source: &ConfigSource, id: &str, text: &str) -> Result<Arc<dyn Checker>, ConfigError> {
    let options: BuiltinOptions = source.section(id)?;
    let shipped = ConfigSource::new(format!("<the {id} definition>"), text, &[]);
    let mut definition = definition::parse(&shipped, &[], id)?;
    if let Some(args) = options.args {
        definition.args = args;
    }
    Ok(Arc::new(DefinedCheck { definition }))
}

#[cfg(test)]
mod tests;
