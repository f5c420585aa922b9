//! Values no output may show: every secret gitleaks flagged and the values of the variables the
//! user marked secret (`secret-env`, `pass-env`), masked in every text of a report and every log.
//!
//! One [`Secrets`] set per run, shared by every check (a check adds what it finds, as gitleaks
//! does) and read by whatever writes: the orchestrator masks each check's report as it
//! finishes, and the whole report, the logs and the cache entries once the run is over (a
//! secret gitleaks finds last is masked in the output of the check that finished first).
//! Masking is by value, wherever it appears: a test that asserts on a token, a build step that
//! echoes it, a log line, a command line.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Values shorter than this are not masked: masking `on` or `1` everywhere would make every
/// output unreadable, and such a value is no credential.
pub const MIN_SECRET_LEN: usize = 4;

/// The secrets of one run. Cloning shares the set.
#[derive(Debug, Clone, Default)]
pub struct Secrets(Arc<Mutex<BTreeSet<String>>>);

impl Secrets {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value to mask; also each of its lines, since tools show a multi-line secret (a
    /// private key) line by line. Values shorter than [`MIN_SECRET_LEN`] are ignored.
    pub fn add(&self, value: &str) {
        let mut set = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut insert = |value: &str| {
            let value = value.trim_matches(|c: char| c == '\r' || c == '\n');
            if value.trim().chars().count() >= MIN_SECRET_LEN {
                set.insert(value.to_string());
            }
        };
        insert(value);
        if value.contains('\n') {
            value.lines().map(str::trim).for_each(&mut insert);
        }
    }

    /// Adds every value of `other`.
    pub fn extend(&self, other: &Secrets) {
        if Arc::ptr_eq(&self.0, &other.0) {
            return;
        }
        let values = other.values();
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).extend(values);
    }

    /// True when there is nothing to mask.
    pub fn is_empty(&self) -> bool {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).is_empty()
    }

    /// How many values are masked.
    pub fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).len()
    }

    /// The values, longest first (a secret that contains another is masked whole).
    fn values(&self) -> Vec<String> {
        let mut values: Vec<String> =
            self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).iter().cloned().collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values
    }

    /// `text` with every secret replaced by [`MASK`]; borrowed when there was none.
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        mask_with(&self.values(), text)
    }

    /// `bytes` with every secret replaced by [`MASK`]; `None` when there was none.
    pub fn mask_bytes(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        mask_all(&self.values(), bytes)
    }

    /// Masks every string inside `value` (a report, a check's report, anything serde can
    /// round-trip): every field, present and future, without a list to keep up to date.
    /// Returns true when something was masked.
    pub fn mask_value<T: Serialize + DeserializeOwned>(&self, value: &mut T) -> bool {
        let values = self.values();
        if values.is_empty() {
            return false;
        }
        let Ok(mut tree) = serde_json::to_value(&*value) else {
            return false;
        };
        if !mask_tree(&values, &mut tree) {
            return false;
        }
        match serde_json::from_value(tree) {
            Ok(masked) => {
                *value = masked;
                true
            }
            Err(_) => false,
        }
    }
}

fn mask_with<'a>(values: &[String], text: &'a str) -> Cow<'a, str> {
    match mask_all(values, text.as_bytes()) {
        // Whole characters are replaced (see `truncated_spans`), so the text stays UTF-8.
        Some(masked) => Cow::Owned(
            String::from_utf8(masked).unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
        ),
        None => Cow::Borrowed(text),
    }
}

/// Every whole occurrence of a secret, then every part of one that a tool shows around an
/// ellipsis, masked; `None` when there was nothing to mask.
fn mask_all(values: &[String], bytes: &[u8]) -> Option<Vec<u8>> {
    let mut current: Option<Vec<u8>> = None;
    for value in values {
        let source = current.as_deref().unwrap_or(bytes);
        if let Some(replaced) = replace_bytes(source, value.as_bytes(), MASK.as_bytes()) {
            current = Some(replaced);
        }
    }
    let source = current.as_deref().unwrap_or(bytes);
    let spans = truncated_spans(values, source);
    if spans.is_empty() {
        return current;
    }
    let mut out = Vec::with_capacity(source.len());
    let mut copied = 0;
    for (start, end) in spans {
        if start < copied {
            continue;
        }
        out.extend_from_slice(&source[copied..start]);
        out.extend_from_slice(MASK.as_bytes());
        copied = end;
    }
    out.extend_from_slice(&source[copied..]);
    Some(out)
}

/// The shortest part of a secret masked when it touches an ellipsis.
const MIN_PART_LEN: usize = 4;

/// The parts of secrets shown cut around an ellipsis, as pytest shows a long value
/// (`'token ghp_Od...wy2ejYUQy4V7L'`): before `...` (or `…`) the longest prefix of a secret,
/// after it the longest suffix, each of [`MIN_PART_LEN`] bytes or more. Sorted byte spans.
fn truncated_spans(values: &[String], hay: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for marker in ["...".as_bytes(), "\u{2026}".as_bytes()] {
        let mut from = 0;
        while let Some(offset) = find(&hay[from..], marker) {
            let at = from + offset;
            let (before, after) = (&hay[..at], &hay[at + marker.len()..]);
            for value in values.iter().map(String::as_bytes) {
                if let Some(k) = (MIN_PART_LEN..value.len()).rev().find(|&k| before.ends_with(&value[..k])) {
                    spans.push((at - k, at));
                }
                if let Some(k) =
                    (MIN_PART_LEN..value.len()).rev().find(|&k| after.starts_with(&value[value.len() - k..]))
                {
                    spans.push((at + marker.len(), at + marker.len() + k));
                }
            }
            from = at + marker.len();
        }
    }
    spans.sort_unstable();
    spans
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|window| window == needle)
}

fn mask_tree(values: &[String], tree: &mut serde_json::Value) -> bool {
    use serde_json::Value;
    match tree {
        Value::String(text) => match mask_with(values, text) {
            Cow::Owned(masked) => {
                *text = masked;
                true
            }
            Cow::Borrowed(_) => false,
        },
        Value::Array(items) => items.iter_mut().fold(false, |changed, item| mask_tree(values, item) | changed),
        Value::Object(map) => {
            // Keys too: a map keyed by a value (an environment, a build argument) may hold one.
            let renamed: Vec<(String, String)> = map
                .keys()
                .filter_map(|key| match mask_with(values, key) {
                    Cow::Owned(masked) => Some((key.clone(), masked)),
                    Cow::Borrowed(_) => None,
                })
                .collect();
            let changed = !renamed.is_empty();
            for (key, masked) in renamed {
                if let Some(item) = map.remove(&key) {
                    map.insert(masked, item);
                }
            }
            map.values_mut().fold(changed, |changed, item| mask_tree(values, item) | changed)
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// `haystack` with every `needle` replaced by `with`; `None` when there is none.
fn replace_bytes(haystack: &[u8], needle: &[u8], with: &[u8]) -> Option<Vec<u8>> {
    let first = *needle.first()?;
    let mut out: Option<Vec<u8>> = None;
    let mut copied = 0;
    let mut at = 0;
    while at + needle.len() <= haystack.len() {
        let Some(offset) = haystack[at..=haystack.len() - needle.len()].iter().position(|&byte| byte == first) else {
            break;
        };
        let start = at + offset;
        if &haystack[start..start + needle.len()] == needle {
            let buffer = out.get_or_insert_with(|| Vec::with_capacity(haystack.len()));
            buffer.extend_from_slice(&haystack[copied..start]);
            buffer.extend_from_slice(with);
            copied = start + needle.len();
            at = copied;
        } else {
            at = start + 1;
        }
    }
    let mut out = out?;
    out.extend_from_slice(&haystack[copied..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_is_masked_longest_first() {
        let secrets = Secrets::new();
        secrets.add("ghp_abcdefghij");
        secrets.add("abcdefghij");
        secrets.add("on");
        assert_eq!(secrets.len(), 2, "a value shorter than the minimum is not a secret");
        assert_eq!(secrets.mask("token ghp_abcdefghij and abcdefghij"), "token *** and ***");
        assert!(matches!(secrets.mask("nothing here, on"), Cow::Borrowed(_)));
        assert_eq!(secrets.mask_bytes(b"\xff ghp_abcdefghij\nabcdefghi").as_deref(), Some(&b"\xff ***\nabcdefghi"[..]));
        assert_eq!(secrets.mask_bytes(b"clean"), None);
    }

    #[test]
    fn a_secret_cut_around_an_ellipsis_is_masked() {
        let secrets = Secrets::new();
        secrets.add("ghp_Ody0iSUn8mSXV5RBioHh5pawy2ejYUQy4V7L");
        // pytest's assertion message of a long value.
        assert_eq!(
            secrets.mask("assert 'token ghp_Od...wy2ejYUQy4V7L' == 'Bearer <token>'"),
            "assert 'token ***...***' == 'Bearer <token>'"
        );
        assert_eq!(secrets.mask("'ghp_Ody0iS…' and more..."), "'***…' and more...");
        assert_eq!(secrets.mask_bytes(b"x ghp_Ody0iSUn8m..."), Some(b"x ***...".to_vec()));
        assert!(matches!(secrets.mask("ghp..."), Cow::Borrowed(_)), "too short a part to tell");
    }

    #[test]
    fn a_multi_line_secret_is_masked_line_by_line_too() {
        let secrets = Secrets::new();
        secrets.add("-----BEGIN KEY-----\nMIIEvQIBADANBgkq\n-----END KEY-----\n");
        assert_eq!(secrets.mask("E   + MIIEvQIBADANBgkq"), "E   + ***");
    }

    #[test]
    fn every_string_of_a_report_is_masked() {
        let secrets = Secrets::new();
        secrets.add("s3cr3t-value");
        let mut check = crate::CheckReport::new("pytest", "pytest", crate::Outcome::Failed);
        check.summary = "1 failed".into();
        check.reason = Some("expected s3cr3t-value".into());
        check.command = Some(vec!["--token=s3cr3t-value".into()]);
        assert!(secrets.mask_value(&mut check));
        assert_eq!(check.reason.as_deref(), Some("expected ***"));
        assert_eq!(check.command.as_deref(), Some(&["--token=***".to_string()][..]));
        assert!(!secrets.mask_value(&mut check), "nothing left to mask");
    }
}
