//! Release numbers of tools, for checkers that pass each release of their tool only what it
//! accepts (ruff's formatter JSON since 0.16, pip-audit's `--osv-url` since 2.10).

/// `0.15.22` → `[0, 15, 22]`; a missing part is 0, and a suffix after a part's digits
/// (`0.17.6+dev`, `2.10.0rc1`) ends the number. `None` when it does not start with a digit
/// (`unknown`).
pub fn release(version: &str) -> Option<[u64; 3]> {
    let version = version.trim().trim_start_matches('v');
    let mut parts = [0u64; 3];
    let mut any = false;
    for (index, part) in version.split('.').take(3).enumerate() {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() {
            break;
        }
        parts[index] = digits.parse().ok()?;
        any = true;
        if digits.len() != part.len() {
            break;
        }
    }
    any.then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_suffixes() {
        assert_eq!(release("0.15.22"), Some([0, 15, 22]));
        assert_eq!(release("v8.16.0"), Some([8, 16, 0]));
        assert_eq!(release("2.10"), Some([2, 10, 0]));
        assert_eq!(release("0.17.6+dev"), Some([0, 17, 6]));
        assert_eq!(release("2.10.0rc1"), Some([2, 10, 0]));
        assert_eq!(release("unknown"), None);
        assert!(release("0.2.2") >= Some([0, 2, 2]) && release("0.2.1") < Some([0, 2, 2]));
    }
}
