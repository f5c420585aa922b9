//! Text helpers every crate that writes for people shares: checkers (summaries, reasons, log
//! lines) and renderers (tables, annotations). Pure functions on strings.

use std::time::Duration;

/// `1 finding`, `3 findings`, `2 dependencies` (a final `y` after a consonant becomes `ies`).
pub fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else if let Some(stem) = noun.strip_suffix('y').filter(|stem| !stem.ends_with(['a', 'e', 'o', 'u'])) {
        format!("{count} {stem}ies")
    } else {
        format!("{count} {noun}s")
    }
}

/// `text` cut to at most `max` characters, the last of them an ellipsis when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` cut to at most `max` characters at a word boundary, followed by an ellipsis when cut
/// (punctuation before the cut is dropped).
pub fn clip_words(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.']))
}

/// The first line of `text` that is not blank, trimmed; empty when there is none.
pub fn first_line(text: &str) -> &str {
    text.trim().lines().next().unwrap_or_default().trim()
}

/// The last `count` lines of `text` (trailing blank lines do not count).
pub fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

/// `text` with every non-empty line indented by `indent`.
pub fn indent(text: &str, indent: &str) -> String {
    text.lines()
        .map(|line| if line.is_empty() { String::new() } else { format!("{indent}{line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` without ANSI escape sequences: CSI (`ESC [ ... final`, colours and cursor moves),
/// OSC (`ESC ] ... BEL` or `ESC ] ... ESC \`, window titles and links) and two-character
/// escapes. Everything else, control characters included, is kept.
pub fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates up to a final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' || (c == '\u{1b}' && chars.next_if_eq(&'\\').is_some()) {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// `text` safe to show on a terminal or in a document: [`strip_ansi`], then no control
/// characters other than line breaks and tabs (`\r\n` becomes `\n`), and no non-characters
/// U+FFFE and U+FFFF.
pub fn printable(text: &str) -> String {
    let stripped = strip_ansi(text);
    let mut out = String::with_capacity(stripped.len());
    let mut chars = stripped.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' | '\t' => out.push(c),
            '\u{fffe}' | '\u{ffff}' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// True when [`printable`] would change `text` (a quick test before copying).
pub fn needs_cleaning(text: &str) -> bool {
    text.chars().any(|c| (c.is_control() && !matches!(c, '\n' | '\t')) || matches!(c, '\u{fffe}' | '\u{ffff}'))
}

/// A word quoted for a POSIX shell when it needs it (`a b` → `'a b'`).
pub fn shell_quote(word: &str) -> String {
    let plain =
        !word.is_empty() && word.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"-_./=:@,+%".contains(&byte));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', "'\\''")) }
}

/// A command line for messages, each word [`shell_quote`]d.
pub fn shell_join<S: AsRef<str>>(argv: &[S]) -> String {
    argv.iter().map(|word| shell_quote(word.as_ref())).collect::<Vec<_>>().join(" ")
}

/// A measured duration for tables: `0.04s`, `12.3s`, `2m 05s`.
pub fn duration(ms: u64) -> String {
    let duration = Duration::from_millis(ms);
    if duration.as_secs() >= 60 {
        format!("{}m {:02}s", duration.as_secs() / 60, duration.as_secs() % 60)
    } else if ms >= 10_000 {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format!("{:.2}s", duration.as_secs_f64())
    }
}

/// A limit as configuration writes it: whole minutes as `20m`, else seconds (`90s`).
pub fn limit(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds >= 60 && seconds.is_multiple_of(60) { format!("{}m", seconds / 60) } else { format!("{seconds}s") }
}

/// The candidate closest to a mistyped `word` (`ruf-check` → `ruff-check`), when one is
/// within a few edits of it (at most a third of its length, at least one): for "did you mean".
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance in characters (a swap of two neighbours counts as one edit).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![(0..=b.len()).collect::<Vec<usize>>(); a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1).min(rows[i][j - 1] + 1).min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_candidates() {
        let ids = ["ruff-check", "ruff-format", "pytest", "pip-audit"];
        assert_eq!(closest("ruf-check", ids), Some("ruff-check"));
        assert_eq!(closest("pyetst", ids), Some("pytest"));
        assert_eq!(closest("pip_audit", ids), Some("pip-audit"));
        assert_eq!(closest("mypy", ids), None);
    }

    #[test]
    fn plurals() {
        assert_eq!(plural(1, "finding"), "1 finding");
        assert_eq!(plural(0, "leak"), "0 leaks");
        assert_eq!(plural(2, "dependency"), "2 dependencies");
        assert_eq!(plural(3, "malformed advisory file"), "3 malformed advisory files");
        assert_eq!(plural(2, "key"), "2 keys");
    }

    #[test]
    fn clipping() {
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abc", 4), "abc");
        assert_eq!(clip_words("remote code execution, in the parser", 24), "remote code execution…");
        assert_eq!(clip_words("short", 24), "short");
    }

    #[test]
    fn lines() {
        assert_eq!(first_line("\n  first \nsecond"), "first");
        assert_eq!(first_line(""), "");
        assert_eq!(last_lines("a\nb\nc\n\n", 2), "b\nc");
        assert_eq!(last_lines("a", 5), "a");
        assert_eq!(indent("a\n\nb", "  "), "  a\n\n  b");
    }

    #[test]
    fn escapes_and_controls() {
        assert_eq!(strip_ansi("\u{1b}[90m1:02PM\u{1b}[0m \u{1b}[1m\u{1b}[31mERR\u{1b}[0m x"), "1:02PM ERR x");
        assert_eq!(strip_ansi("\u{1b}]0;title\u{7}\u{1b}[2Jrest\r"), "rest\r");
        assert_eq!(strip_ansi("plain"), "plain");
        assert_eq!(printable("\u{1b}[31mred\u{1b}[0m ok\r\nnext\u{0}\u{7}\u{fffe}"), "red ok\nnext");
        assert_eq!(printable("\u{1b}]8;;https://x\u{7}link\u{1b}]8;;\u{1b}\\ end"), "link end");
        assert_eq!(printable("tab\tkept"), "tab\tkept");
        assert!(needs_cleaning("\u{1b}[2J") && !needs_cleaning("fine\n"));
    }

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("ruff"), "ruff");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_join(&["python", "-c", "import apps.api.main"]), "python -c 'import apps.api.main'");
    }

    #[test]
    fn durations() {
        assert_eq!(duration(40), "0.04s");
        assert_eq!(duration(12_345), "12.3s");
        assert_eq!(duration(125_000), "2m 05s");
        assert_eq!(limit(Duration::from_secs(1200)), "20m");
        assert_eq!(limit(Duration::from_secs(90)), "90s");
    }
}
