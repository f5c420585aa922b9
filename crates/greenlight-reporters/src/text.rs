//! Text helpers shared by renderers.

use std::time::Duration;

/// `0.04s`, `1.2s`, `2m 05s`.
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

/// `text` cut to at most `max` characters, with an ellipsis when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `text` with every line indented by `indent`.
pub fn indent(text: &str, indent: &str) -> String {
    text.lines()
        .map(|line| if line.is_empty() { String::new() } else { format!("{indent}{line}") })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `text` with every line prefixed by `prefix` (a gutter), empty lines included.
pub fn gutter(text: &str, prefix: &str) -> String {
    text.lines().map(|line| format!("{prefix}{line}").trim_end().to_string()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration(40), "0.04s");
        assert_eq!(duration(12_345), "12.3s");
        assert_eq!(duration(125_000), "2m 05s");
    }

    #[test]
    fn truncation() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
