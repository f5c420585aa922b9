//! Reading the pull request from a GitHub Actions event file (`GITHUB_EVENT_PATH`).

use serde_json::Value;

use crate::rules::PullRequest;

/// A GitHub event file that is not JSON.
#[derive(Debug, thiserror::Error)]
#[error("not JSON: {0}")]
pub struct EventError(#[from] serde_json::Error);

/// The pull request in a GitHub event payload: `Ok(None)` when the event is not about a pull
/// request (a push to `main`), `Err` when the payload is not JSON.
pub fn parse_event(json: &[u8]) -> Result<Option<PullRequest>, EventError> {
    let event: Value = serde_json::from_slice(json)?;
    let Some(pull) = event.get("pull_request").filter(|pull| pull.is_object()) else {
        return Ok(None);
    };
    let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
    Ok(Some(PullRequest {
        // A PR without a description has `"body": null`.
        body: text(pull.get("body")).unwrap_or_default(),
        title: text(pull.get("title")),
        author: text(pull.get("user").and_then(|user| user.get("login"))),
        labels: pull
            .get("labels")
            .and_then(Value::as_array)
            .map(|labels| labels.iter().filter_map(|label| text(label.get("name"))).collect())
            .unwrap_or_default(),
        base: text(pull.get("base").and_then(|base| base.get("sha"))),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pull_request_event() {
        let json = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pull_request_event.json")).unwrap();
        let pr = parse_event(&json).unwrap().unwrap();
        assert!(pr.body.contains("PR_TYPE: FIX"), "{pr:?}");
        assert!(pr.body.contains("\r\n"), "GitHub keeps the CRLF line endings of the web editor");
        assert_eq!(pr.title.as_deref(), Some("FIX: retry the health probe"));
        assert_eq!(pr.author.as_deref(), Some("octocat"));
        assert_eq!(pr.labels, ["bug", "ci-change"]);
        assert_eq!(pr.base.as_deref(), Some("6dcb09b5b57875f334f61aebed695e2e4193db5e"));
    }

    #[test]
    fn null_body_and_push_event() {
        let pr =
            parse_event(br#"{"pull_request": {"body": null, "user": {"login": "a"}, "labels": []}}"#).unwrap().unwrap();
        assert_eq!(pr.body, "");
        assert_eq!(parse_event(br#"{"ref": "refs/heads/main", "commits": []}"#).unwrap(), None);
        assert!(parse_event(b"not json").is_err());
    }
}
