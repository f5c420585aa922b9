//! The live view's test counter: how many tests passed and failed so far, read from pytest's
//! progress lines in the check's log (`tests/test_api.py ..F.s     [ 40%]`: one character
//! per test of the file, the percentage once the file is done).

/// `412 passed, 1 failed, 3 skipped so far` from the log so far, or `None` before the first
/// test ended.
pub fn progress(log: &str) -> Option<String> {
    let (mut passed, mut failed, mut errors, mut skipped) = (0usize, 0usize, 0usize, 0usize);
    for line in log.lines() {
        let Some((path, rest)) = line.split_once(' ') else { continue };
        if !path.ends_with(".py") && !path.contains(".py::") {
            continue;
        }
        let marks = match rest.rfind('[') {
            Some(at) if rest.trim_end().ends_with("%]") => &rest[..at],
            _ => rest,
        };
        let marks = marks.trim();
        if marks.is_empty() || !marks.chars().all(|c| ".FEsxX".contains(c)) {
            continue;
        }
        for mark in marks.chars() {
            match mark {
                '.' | 'X' => passed += 1,
                'F' => failed += 1,
                'E' => errors += 1,
                _ => skipped += 1,
            }
        }
    }
    let mut parts = Vec::new();
    if passed + failed + errors + skipped > 0 {
        parts.push(format!("{passed} passed"));
    }
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if errors > 0 {
        parts.push(greenlight_checker::text::plural(errors, "error"));
    }
    if skipped > 0 {
        parts.push(format!("{skipped} skipped"));
    }
    (!parts.is_empty()).then(|| format!("{} so far", parts.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_progress_marks_of_finished_and_running_files() {
        let log = "$ pytest -p no:cacheprovider\n============================= test session starts ==============================\nplatform linux -- Python 3.11.2, pytest-9.2.0\ncollected 9 items\n\ntests/test_api.py ..F.s                                                   [ 55%]\ntests/test_pricing.py ..E";
        assert_eq!(progress(log).as_deref(), Some("5 passed, 1 failed, 1 error, 1 skipped so far"));
        assert_eq!(progress("collected 2000 items\n"), None);
        assert_eq!(progress("tests/test_a.py ....  [100%]\n").as_deref(), Some("4 passed so far"));
        assert_eq!(progress("see docs/conf.py for more\n"), None, "prose is not progress");
    }
}
