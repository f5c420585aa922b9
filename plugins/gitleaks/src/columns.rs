//! gitleaks' columns, corrected.
//!
//! gitleaks scans *fragments*: a whole file in directory mode, the added lines of one `-U0`
//! hunk in git mode. On the first line of a fragment its `StartColumn` is right (1-based) and
//! its `EndColumn` is the last byte of the match (inclusive); on every later line both are one
//! too large, because the preceding newline is counted (gitleaks issue #1424, seen on 8.16).
//! So the correction depends on whether a line is the first of its fragment: line 1 in
//! directory mode; in git mode the first added line of a hunk, which only the commit's diff
//! tells (see [`hunk_starts`]).

use std::collections::{BTreeMap, BTreeSet};

/// 1-based start column and exclusive end column of a leak on its lines, or `None` when
/// gitleaks gave no usable column.
///
/// `start_first` / `end_first`: whether `StartLine` / `EndLine` is the first line of the
/// fragment gitleaks scanned.
pub fn fix_columns(
    start_column: u32,
    end_column: u32,
    start_first: bool,
    end_first: bool,
) -> (Option<u32>, Option<u32>) {
    let start = match start_column {
        0 => None,
        column if start_first => Some(column),
        column => Some(column.saturating_sub(1).max(1)),
    };
    let end = match end_column {
        0 => None,
        column if end_first => Some(column + 1),
        column => Some(column.max(1)),
    };
    (start, end)
}

/// For each file a commit changed, the first new-side line of every hunk that adds lines.
///
/// `diff` is the output of `git show --format= -p -U0 --no-color <sha>`. File names are the
/// new names, unquoted, relative to the repository root, as gitleaks reports them. Hunk bodies
/// are skipped by their line counts, so added lines that look like headers do not confuse it.
pub fn hunk_starts(diff: &str) -> BTreeMap<String, BTreeSet<u32>> {
    let mut files: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        if line.starts_with("diff ") {
            current = None;
        } else if let Some(name) = line.strip_prefix("+++ ") {
            current = new_name(name);
        } else if let Some(header) = line.strip_prefix("@@ ") {
            let Some((old_count, new_start, new_count)) = parse_hunk_header(header) else {
                continue;
            };
            if let Some(file) = &current
                && new_count > 0
            {
                files.entry(file.clone()).or_default().insert(new_start);
            }
            // Skip the body: `old_count` removed and `new_count` added lines (no context with
            // -U0), plus `\ No newline at end of file` markers.
            let (mut removed, mut added) = (0, 0);
            while removed < old_count || added < new_count {
                match lines.peek().and_then(|body| body.as_bytes().first()) {
                    Some(b'-') => removed += 1,
                    Some(b'+') => added += 1,
                    Some(b'\\') => {}
                    _ => break,
                }
                lines.next();
            }
        }
    }
    files
}

/// `-a[,b] +c[,d] @@ ...` → `(b, c, d)`; counts default to 1.
fn parse_hunk_header(header: &str) -> Option<(u32, u32, u32)> {
    let mut words = header.split_whitespace();
    let old = words.next()?.strip_prefix('-')?;
    let new = words.next()?.strip_prefix('+')?;
    let count = |range: &str| -> Option<(u32, u32)> {
        match range.split_once(',') {
            Some((start, count)) => Some((start.parse().ok()?, count.parse().ok()?)),
            None => Some((range.parse().ok()?, 1)),
        }
    };
    let (_, old_count) = count(old)?;
    let (new_start, new_count) = count(new)?;
    Some((old_count, new_start, new_count))
}

/// The path of a `+++ ` header without its `b/` prefix; `None` for `/dev/null`.
fn new_name(name: &str) -> Option<String> {
    let name = name.trim_end_matches(['\t', '\r']);
    let name = if name.starts_with('"') { unquote(name)? } else { name.to_string() };
    if name == "/dev/null" {
        return None;
    }
    Some(name.strip_prefix("b/").map_or_else(|| name.clone(), str::to_string))
}

/// Undoes git's C-style quoting of a path (`"a\tb\303\251"`).
fn unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut bytes = Vec::with_capacity(inner.len());
    let mut chars = inner.bytes().peekable();
    while let Some(byte) = chars.next() {
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        let escaped = chars.next()?;
        bytes.push(match escaped {
            b'n' => b'\n',
            b't' => b'\t',
            b'r' => b'\r',
            b'a' => 0x07,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'v' => 0x0b,
            b'0'..=b'7' => {
                let mut value = u32::from(escaped - b'0');
                for _ in 0..2 {
                    match chars.peek() {
                        Some(digit @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(digit - b'0');
                            chars.next();
                        }
                        _ => break,
                    }
                }
                u8::try_from(value).ok()?
            }
            other => other,
        });
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_report;

    #[test]
    fn directory_mode_columns() {
        // settings.py line 3: `AWS_ACCESS_KEY_ID = "` is 21 bytes, the 20-byte key spans
        // columns 22..=41. gitleaks says 23 and 42.
        let leaks = parse_report(include_bytes!("../tests/data/tree-findings.json")).unwrap();
        let aws = &leaks[0];
        assert_eq!(
            fix_columns(aws.start_column, aws.end_column, aws.start_line == 1, aws.end_line == 1),
            (Some(22), Some(42))
        );
        // The private key starts at column 1 of line 1 and ends with the 32nd byte of line 4
        // (its regex stops before the last dash of `-----END OPENSSH PRIVATE KEY-----`).
        let key = &leaks[1];
        assert_eq!(
            fix_columns(key.start_column, key.end_column, key.start_line == 1, key.end_line == 1),
            (Some(1), Some(33))
        );
    }

    #[test]
    fn git_mode_columns_depend_on_the_hunk() {
        let leaks = parse_report(include_bytes!("../tests/data/history-findings.json")).unwrap();
        // app.py line 2 is the first added line of its hunk: `BACKUP_KEY = "` is 14 bytes,
        // the key spans 15..=34 and gitleaks is right.
        assert_eq!((leaks[0].start_line, leaks[0].start_column, leaks[0].end_column), (2, 15, 34));
        assert_eq!(fix_columns(15, 34, true, true), (Some(15), Some(35)));
        // settings.py line 3 is the third line of a new file's hunk: gitleaks is one off.
        assert_eq!((leaks[1].start_line, leaks[1].start_column, leaks[1].end_column), (3, 23, 42));
        assert_eq!(fix_columns(23, 42, false, false), (Some(22), Some(42)));
        assert_eq!(fix_columns(0, 0, true, true), (None, None));
    }

    #[test]
    fn hunk_starts_of_recorded_diffs() {
        // `git show --format= -p -U0` of the commits behind history-findings.json, with the
        // keys replaced.
        let third = "diff --git a/app.py b/app.py\nindex 1337a53..213068e 100644\n--- a/app.py\n+++ b/app.py\n@@ -1,0 +2 @@ a = 1\n+BACKUP_KEY = \"<fake>\"\n";
        assert_eq!(hunk_starts(third), BTreeMap::from([("app.py".to_string(), BTreeSet::from([2]))]));
        let first = "diff --git a/app.py b/app.py\nnew file mode 100644\nindex 0000000..1337a53\n--- /dev/null\n+++ b/app.py\n@@ -0,0 +1 @@\n+a = 1\ndiff --git a/settings.py b/settings.py\nnew file mode 100644\nindex 0000000..0710de1\n--- /dev/null\n+++ b/settings.py\n@@ -0,0 +1,4 @@\n+import os\n+\n+AWS_ACCESS_KEY_ID = \"<fake>\"\n+REGION = \"eu-west-1\"\n";
        let starts = hunk_starts(first);
        assert_eq!(starts["settings.py"], BTreeSet::from([1]));
        assert_eq!(starts["app.py"], BTreeSet::from([1]));
    }

    #[test]
    fn hunk_bodies_that_look_like_headers() {
        let diff = "diff --git a/x.txt b/x.txt\n--- a/x.txt\n+++ b/x.txt\n@@ -3,2 +3,0 @@\n-old\n-+++ b/fake\n@@ -10 +8,3 @@ fn\n-y\n+++ b/evil\n+@@ -1 +1 @@\n+z\n\\ No newline at end of file\ndiff --git a/gone b/gone\ndeleted file mode 100644\n--- a/gone\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n";
        assert_eq!(hunk_starts(diff), BTreeMap::from([("x.txt".to_string(), BTreeSet::from([8]))]));
    }

    #[test]
    fn quoted_names() {
        let diff = "diff --git \"a/caf\\303\\251 x.py\" \"b/caf\\303\\251 x.py\"\n--- /dev/null\n+++ \"b/caf\\303\\251 x.py\"\n@@ -0,0 +1,2 @@\n+a\n+b\n";
        assert_eq!(hunk_starts(diff).keys().collect::<Vec<_>>(), ["café x.py"]);
        assert_eq!(unquote("\"a\\tb\\\\c\\\"\""), Some("a\tb\\c\"".to_string()));
    }
}
