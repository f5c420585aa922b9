//! Renderers of a [`RunReport`]: every output format reads only the report model.
//!
//! File formats are pure functions from a report to text. The live terminal view
//! ([`terminal::LiveView`]) is the only stateful renderer; it owns the progress bars.

pub mod json;
pub mod terminal;
mod text;

pub use greenlight_report::RunReport;
