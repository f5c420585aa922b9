//! What each pip-audit release accepts, so that `--tool pip-audit=2.6.3` (or the release of
//! an `--as-of` day) audits as the latest one does.
//!
//! Read from the releases (each installed from PyPI):
//!
//! | feature | first release | before it |
//! |---|---|---|
//! | `--aliases on` | 2.7.0 | rejected; the JSON has no aliases (the advisory database fills them in) |
//! | `--osv-url` | 2.10.0 | the OSV service is always `https://api.osv.dev/v1/query` |
//!
//! Without `--osv-url`, pip-audit is pointed at the check's local advisory endpoint by a
//! `sitecustomize` module on its `PYTHONPATH` ([`OSV_SHIM`]) that sends requests for that one
//! URL to the endpoint instead; nothing else of pip-audit changes.

use greenlight_checker::release::release;

/// What the resolved pip-audit accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Features {
    /// `--aliases on|off|auto`.
    pub aliases_flag: bool,
    /// `--osv-url URL`.
    pub osv_url: bool,
}

impl Features {
    /// The features of pip-audit `version`; one that cannot be read is taken as the latest.
    pub fn of(version: &str) -> Self {
        match release(version) {
            Some(version) => Self { aliases_flag: version >= [2, 7, 0], osv_url: version >= [2, 10, 0] },
            None => Self { aliases_flag: true, osv_url: true },
        }
    }
}

/// The variable the shim reads the endpoint's query URL from.
pub const OSV_URL_VAR: &str = "GREENLIGHT_PIP_AUDIT_OSV_URL";

/// The URL pip-audit before 2.10 queries.
pub const OSV_QUERY_URL: &str = "https://api.osv.dev/v1/query";

/// `sitecustomize.py` for pip-audit releases without `--osv-url`: their OSV queries go to the
/// URL in [`OSV_URL_VAR`].
pub const OSV_SHIM: &str = r#"# Written by greenlight for this pip-audit run only: this pip-audit release has no --osv-url,
# so its OSV queries are sent to the check's local advisory endpoint instead of api.osv.dev.
import os

_URL = os.environ.get("GREENLIGHT_PIP_AUDIT_OSV_URL")
if _URL:
    try:
        import requests.sessions
    except ImportError:
        pass
    else:
        _request = requests.sessions.Session.request

        def _to_local_endpoint(self, method, url, *args, **kwargs):
            if isinstance(url, str) and url.startswith("https://api.osv.dev/v1/query"):
                url = _URL
            return _request(self, method, url, *args, **kwargs)

        requests.sessions.Session.request = _to_local_endpoint
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_matches_the_releases() {
        assert_eq!(Features::of("2.6.3"), Features { aliases_flag: false, osv_url: false });
        assert_eq!(Features::of("2.7.0"), Features { aliases_flag: true, osv_url: false });
        assert_eq!(Features::of("2.9.0"), Features { aliases_flag: true, osv_url: false });
        assert_eq!(Features::of("2.10.1"), Features { aliases_flag: true, osv_url: true });
        assert_eq!(Features::of("unknown"), Features { aliases_flag: true, osv_url: true });
        assert!(OSV_SHIM.contains(OSV_URL_VAR) && OSV_SHIM.contains(OSV_QUERY_URL));
    }
}
