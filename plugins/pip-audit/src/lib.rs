//! The `pip-audit` checker.

pub mod advisory;
