//! `.dockerignore` with Docker's own semantics: a port of moby's `patternmatcher` and
//! `patternmatcher/ignorefile` (Apache-2.0).
//!
//! The daemon does not filter a build context with `.dockerignore`; the client does, so
//! greenlight must match exactly what `docker build` sends. The rules differ from
//! `.gitignore`: patterns are anchored at the context root (`foo` does not match `a/foo`), `*`
//! and `?` never cross `/`, `**` matches any number of directories (including none), a pattern
//! that matches a directory excludes everything below it, the last matching pattern wins, and
//! `!` re-includes. The quirks are kept on purpose (`**file` also matches `afile`).

use std::fmt;

use regex::Regex;

/// A pattern that is not valid Go `filepath.Match` syntax, or a lone `!`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    /// The pattern as written (after cleaning).
    pub pattern: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid .dockerignore pattern `{}`: {}", self.pattern, self.message)
    }
}

impl std::error::Error for PatternError {}

/// Reads a `.dockerignore` file into patterns, as docker/cli does (`ignorefile.ReadAll`): a
/// UTF-8 BOM on the first line is dropped, lines starting with `#` are comments, whitespace is
/// trimmed, empty lines are skipped, paths are cleaned and one leading `/` is removed (`/foo`
/// means `foo`), also after `!`.
pub fn read_ignore_file(text: &str) -> Vec<String> {
    let mut patterns = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let mut line = line.strip_suffix('\r').unwrap_or(line);
        if index == 0 {
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.starts_with('#') {
            continue;
        }
        let mut pattern = line.trim();
        if pattern.is_empty() {
            continue;
        }
        let invert = pattern.starts_with('!');
        if invert {
            pattern = pattern[1..].trim();
        }
        let mut cleaned = String::new();
        if !pattern.is_empty() {
            cleaned = clean(pattern);
            if cleaned.len() > 1 && cleaned.starts_with('/') {
                cleaned.remove(0);
            }
        }
        patterns.push(if invert { format!("!{cleaned}") } else { cleaned });
    }
    patterns
}

/// Go's `filepath.Clean` for `/`-separated paths: the shortest equivalent path, `.` when empty.
pub fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            part => parts.push(part),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MatchType {
    Exact,
    Prefix,
    Suffix,
    Regexp,
}

/// One pattern of a `.dockerignore`.
#[derive(Debug, Clone)]
pub struct Pattern {
    cleaned: String,
    exclusion: bool,
    match_type: MatchType,
    regex: Option<Regex>,
}

impl Pattern {
    /// The pattern as cleaned, without its `!`.
    pub fn as_str(&self) -> &str {
        &self.cleaned
    }

    /// True for a `!` pattern (an exception: it re-includes what it matches).
    pub fn is_exclusion(&self) -> bool {
        self.exclusion
    }

    fn compile(cleaned: String, exclusion: bool) -> Result<Self, PatternError> {
        let (match_type, regex) = compile(&cleaned).map_err(|error| PatternError {
            pattern: cleaned.clone(),
            message: format!("cannot compile it ({error})"),
        })?;
        Ok(Self { cleaned, exclusion, match_type, regex })
    }

    /// True when `path` (relative, `/`-separated) matches this pattern by itself.
    pub fn matches(&self, path: &str) -> bool {
        match self.match_type {
            MatchType::Exact => path == self.cleaned,
            MatchType::Prefix => path.starts_with(&self.cleaned[..self.cleaned.len() - 2]),
            MatchType::Suffix => {
                let suffix = &self.cleaned[2..];
                path.ends_with(suffix) || (suffix.starts_with('/') && path == &suffix[1..])
            }
            MatchType::Regexp => self.regex.as_ref().is_some_and(|regex| regex.is_match(path)),
        }
    }
}

/// Per-pattern results for a directory, handed to its children while walking
/// ([`PatternMatcher::matches_using_parent_results`]).
#[derive(Debug, Clone, Default)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// A list of patterns in order; the last one that matches decides.
#[derive(Debug, Clone, Default)]
pub struct PatternMatcher {
    patterns: Vec<Pattern>,
    exclusions: bool,
}

impl PatternMatcher {
    /// Compiles `patterns` (as [`read_ignore_file`] returns them). Each is trimmed and cleaned;
    /// empty ones are skipped; a lone `!` and patterns that are not valid `filepath.Match`
    /// syntax are errors.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, PatternError> {
        let mut matcher = Self::default();
        for pattern in patterns {
            let pattern = pattern.as_ref().trim();
            if pattern.is_empty() {
                continue;
            }
            let mut pattern = clean(pattern);
            let mut exclusion = false;
            if let Some(rest) = pattern.strip_prefix('!') {
                if rest.is_empty() {
                    return Err(PatternError {
                        pattern: "!".to_string(),
                        message: "illegal exclusion pattern: \"!\"".to_string(),
                    });
                }
                exclusion = true;
                matcher.exclusions = true;
                pattern = rest.to_string();
            }
            validate_go_pattern(&pattern)
                .map_err(|error| PatternError { pattern: pattern.clone(), message: error.to_string() })?;
            matcher.patterns.push(Pattern::compile(pattern, exclusion)?);
        }
        Ok(matcher)
    }

    /// The patterns, in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// True when some pattern is an exception (`!`).
    pub fn has_exclusions(&self) -> bool {
        self.exclusions
    }

    /// True when `file` is excluded: the last pattern that matches it (or one of its parent
    /// directories) is not an exception.
    pub fn matches_or_parent_matches(&self, file: &str) -> bool {
        let mut matched = false;
        let parent = parent_dir(file);
        let parent_dirs: Vec<&str> = parent.split('/').collect();
        for pattern in &self.patterns {
            // An inclusion cannot change a match, an exclusion cannot change a non-match.
            if pattern.exclusion != matched {
                continue;
            }
            let mut hit = pattern.matches(file);
            if !hit && parent != "." {
                for end in 1..=parent_dirs.len() {
                    if pattern.matches(&parent_dirs[..end].join("/")) {
                        hit = true;
                        break;
                    }
                }
            }
            if hit {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// True when `file` itself (not a parent) makes the last matching pattern an exclusion.
    pub fn matches_exact(&self, file: &str) -> bool {
        let mut matched = false;
        for pattern in &self.patterns {
            if pattern.exclusion != matched {
                continue;
            }
            if pattern.matches(file) {
                matched = !pattern.exclusion;
            }
        }
        matched
    }

    /// [`PatternMatcher::matches_or_parent_matches`] for a walk: `parent` holds the results of
    /// the directory containing `file` (empty for the top level, when the parents are checked
    /// directly). Returns the verdict and the results to pass to `file`'s children.
    pub fn matches_using_parent_results(&self, file: &str, parent: &MatchInfo) -> (bool, MatchInfo) {
        let mut matched = false;
        let mut info = MatchInfo { parent_matched: vec![false; self.patterns.len()] };
        for (index, pattern) in self.patterns.iter().enumerate() {
            let mut hit = parent.parent_matched.get(index).copied().unwrap_or(false);
            if !hit {
                if pattern.exclusion != matched {
                    continue;
                }
                hit = pattern.matches(file);
                if !hit && parent.parent_matched.is_empty() {
                    let parent_path = parent_dir(file);
                    if parent_path != "." {
                        let dirs: Vec<&str> = parent_path.split('/').collect();
                        hit = (1..=dirs.len()).any(|end| pattern.matches(&dirs[..end].join("/")));
                    }
                }
            }
            info.parent_matched[index] = hit;
            if hit {
                matched = !pattern.exclusion;
            }
        }
        (matched, info)
    }
}

/// Go's `filepath.Dir` for a relative `/` path: `.` when there is no parent.
fn parent_dir(path: &str) -> String {
    match path.rfind('/') {
        Some(index) => clean(&path[..index]),
        None => ".".to_string(),
    }
}

/// Characters escaped in the regex because they are special there but literal in
/// `filepath.Match` (moby's `shouldEscape`).
fn should_escape(c: char) -> bool {
    ".+()|{}$".contains(c)
}

/// Go's `filepath.ErrBadPattern`, in its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SyntaxError;

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("syntax error in pattern")
    }
}

/// moby's `Pattern.compile`: the cheapest way to match, and the regex when one is needed.
fn compile(pattern: &str) -> Result<(MatchType, Option<Regex>), regex::Error> {
    let mut regex = String::from("^");
    let mut detected = MatchType::Exact;
    let chars: Vec<char> = pattern.chars().collect();
    let mut position = 0;
    let mut iteration = 0;
    let mut in_class = false;
    while position < chars.len() {
        let c = chars[position];
        position += 1;
        if c == '*' {
            if chars.get(position) == Some(&'*') {
                position += 1;
                // `**/` is `**`.
                if chars.get(position) == Some(&'/') {
                    position += 1;
                }
                if position == chars.len() {
                    // `**` at the end accepts everything below, as in .gitignore.
                    if detected == MatchType::Exact {
                        detected = MatchType::Prefix;
                    } else {
                        regex.push_str(".*");
                        detected = MatchType::Regexp;
                    }
                } else {
                    // Any number of directories, including none.
                    regex.push_str("(.*/)?");
                    detected = MatchType::Regexp;
                }
                if iteration == 0 {
                    detected = MatchType::Suffix;
                }
            } else {
                regex.push_str("[^/]*");
                detected = MatchType::Regexp;
            }
        } else if c == '?' {
            regex.push_str("[^/]");
            detected = MatchType::Regexp;
        } else if should_escape(c) {
            regex.push('\\');
            regex.push(c);
        } else if c == '\\' {
            match chars.get(position) {
                Some(next) => {
                    position += 1;
                    regex.push('\\');
                    regex.push(*next);
                    detected = MatchType::Regexp;
                }
                None => regex.push_str("\\\\"),
            }
        } else if c == '[' || c == ']' {
            if c == '[' && in_class && chars.get(position) != Some(&':') {
                regex.push_str("\\["); // Go's regexp reads `[` in a class literally; Rust nests.
            } else {
                regex.push(c);
                in_class = c == '[';
            }
            detected = MatchType::Regexp;
        } else if in_class && (c == '&' || c == '~') {
            regex.push('\\'); // Rust's class set operators (`&&`, `~~`) are literals in Go.
            regex.push(c);
        } else {
            regex.push(c);
        }
        iteration += 1;
    }
    if detected != MatchType::Regexp {
        return Ok((detected, None));
    }
    regex.push('$');
    let compiled = Regex::new(&regex)?;
    Ok((detected, Some(compiled)))
}

/// The syntax check of Go's `filepath.Match`, which moby runs on every pattern: character
/// classes must close and hold valid ranges, and `\` must escape something.
fn validate_go_pattern(pattern: &str) -> Result<(), SyntaxError> {
    const BAD: SyntaxError = SyntaxError;
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    // A class item (`getEsc`): not `-` or `]` unescaped, and something must follow it.
    let escaped_char = |i: &mut usize| -> Result<(), SyntaxError> {
        match chars.get(*i) {
            None | Some('-') | Some(']') => return Err(BAD),
            Some('\\') => {
                *i += 1;
                if *i >= chars.len() {
                    return Err(BAD);
                }
            }
            Some(_) => {}
        }
        *i += 1;
        if *i >= chars.len() {
            return Err(BAD);
        }
        Ok(())
    };
    while i < chars.len() {
        match chars[i] {
            '[' => {
                i += 1;
                if chars.get(i) == Some(&'^') {
                    i += 1;
                }
                let mut ranges = 0;
                loop {
                    if chars.get(i) == Some(&']') && ranges > 0 {
                        i += 1;
                        break;
                    }
                    escaped_char(&mut i)?;
                    if chars.get(i) == Some(&'-') {
                        i += 1;
                        escaped_char(&mut i)?;
                    }
                    ranges += 1;
                }
            }
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err(BAD);
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    enum Pass {
        Fail,
        Exact,
        Inexact,
    }
    use Pass::*;

    /// moby/patternmatcher `TestMatches` (unix cases).
    const MATCHES: &[(&str, &str, Pass)] = &[
        ("**", "file", Exact),
        ("**", "file/", Exact),
        ("**/", "file", Exact),
        ("**/", "file/", Exact),
        ("**", "/", Exact),
        ("**/", "/", Exact),
        ("**", "dir/file", Exact),
        ("**/", "dir/file", Exact),
        ("**", "dir/file/", Exact),
        ("**/", "dir/file/", Exact),
        ("**/**", "dir/file", Exact),
        ("**/**", "dir/file/", Exact),
        ("dir/**", "dir/file", Exact),
        ("dir/**", "dir/file/", Exact),
        ("dir/**", "dir/dir2/file", Exact),
        ("dir/**", "dir/dir2/file/", Exact),
        ("**/dir", "dir", Exact),
        ("**/dir", "dir/file", Inexact),
        ("**/dir2/*", "dir/dir2/file", Exact),
        ("**/dir2/*", "dir/dir2/file/", Inexact),
        ("**/dir2/**", "dir/dir2/dir3/file", Exact),
        ("**/dir2/**", "dir/dir2/dir3/file/", Exact),
        ("**file", "file", Exact),
        ("**file", "dir/file", Exact),
        ("**/file", "dir/file", Exact),
        ("**file", "dir/dir/file", Exact),
        ("**/file", "dir/dir/file", Exact),
        ("**/file*", "dir/dir/file", Exact),
        ("**/file*", "dir/dir/file.txt", Exact),
        ("**/file*txt", "dir/dir/file.txt", Exact),
        ("**/file*.txt", "dir/dir/file.txt", Exact),
        ("**/file*.txt*", "dir/dir/file.txt", Exact),
        ("**/**/*.txt", "dir/dir/file.txt", Exact),
        ("**/**/*.txt2", "dir/dir/file.txt", Fail),
        ("**/*.txt", "file.txt", Exact),
        ("**/**/*.txt", "file.txt", Exact),
        ("a**/*.txt", "a/file.txt", Exact),
        ("a**/*.txt", "a/dir/file.txt", Exact),
        ("a**/*.txt", "a/dir/dir/file.txt", Exact),
        ("a/*.txt", "a/dir/file.txt", Fail),
        ("a/*.txt", "a/file.txt", Exact),
        ("a/*.txt**", "a/file.txt", Exact),
        ("a[b-d]e", "ae", Fail),
        ("a[b-d]e", "ace", Exact),
        ("a[b-d]e", "aae", Fail),
        ("a[^b-d]e", "aze", Exact),
        (".*", ".foo", Exact),
        (".*", "foo", Fail),
        ("abc.def", "abcdef", Fail),
        ("abc.def", "abc.def", Exact),
        ("abc.def", "abcZdef", Fail),
        ("abc?def", "abcZdef", Exact),
        ("abc?def", "abcdef", Fail),
        ("**/foo/bar", "foo/bar", Exact),
        ("**/foo/bar", "dir/foo/bar", Exact),
        ("**/foo/bar", "dir/dir2/foo/bar", Exact),
        ("abc/**", "abc", Fail),
        ("abc/**", "abc/def", Exact),
        ("abc/**", "abc/def/ghi", Exact),
        ("**/.foo", ".foo", Exact),
        ("**/.foo", "bar.foo", Fail),
        ("a(b)c/def", "a(b)c/def", Exact),
        ("a(b)c/def", "a(b)c/xyz", Fail),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", Exact),
        (
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Exact,
        ),
        ("dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", Exact),
        ("a\\\\", "a\\", Exact),
        ("a\\*b", "a*b", Exact),
    ];

    /// moby/patternmatcher `multiPatternTests`.
    const MULTI: &[(&[&str], &str, Pass)] = &[
        (&["**", "!util/docker/web"], "util/docker/web/foo", Fail),
        (&["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", Exact),
        (
            &["**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"],
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            Fail,
        ),
        (&["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", Fail),
    ];

    fn walk_verdict(matcher: &PatternMatcher, text: &str) -> bool {
        let parent = parent_dir(text);
        let mut info = MatchInfo::default();
        if parent != "." {
            let dirs: Vec<&str> = parent.split('/').collect();
            for end in 1..=dirs.len() {
                info = matcher.matches_using_parent_results(&dirs[..end].join("/"), &info).1;
            }
        }
        matcher.matches_using_parent_results(text, &info).0
    }

    #[test]
    fn moby_match_table() {
        for (pattern, text, pass) in MATCHES {
            let matcher = PatternMatcher::new(&[pattern]).unwrap();
            let context = format!("pattern={pattern:?} text={text:?}");
            assert_eq!(matcher.matches_exact(text), *pass == Exact, "MatchesExact {context}");
            assert_eq!(matcher.matches_or_parent_matches(text), *pass != Fail, "MatchesOrParentMatches {context}");
            assert_eq!(walk_verdict(&matcher, text), *pass != Fail, "MatchesUsingParentResults {context}");
            let no_context = matcher.matches_using_parent_results(text, &MatchInfo::default()).0;
            assert_eq!(no_context, *pass != Fail, "MatchesUsingParentResults without context {context}");
        }
        for (patterns, text, pass) in MULTI {
            let matcher = PatternMatcher::new(patterns).unwrap();
            let context = format!("patterns={patterns:?} text={text:?}");
            assert_eq!(matcher.matches_or_parent_matches(text), *pass != Fail, "{context}");
            assert_eq!(walk_verdict(&matcher, text), *pass != Fail, "{context}");
        }
    }

    /// moby/patternmatcher `matchTests` (from Go's `filepath.Match` tests): `Some(bool)` is the
    /// verdict, `None` a bad pattern.
    const GO_MATCH: &[(&str, &str, Option<bool>)] = &[
        ("abc", "abc", Some(true)),
        ("*", "abc", Some(true)),
        ("*c", "abc", Some(true)),
        ("a*", "a", Some(true)),
        ("a*", "abc", Some(true)),
        ("a*", "ab/c", Some(true)),
        ("a*/b", "abc/b", Some(true)),
        ("a*/b", "a/c/b", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Some(true)),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Some(false)),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Some(false)),
        ("a*b?c*x", "abxbbxdbxebxczzx", Some(true)),
        ("a*b?c*x", "abxbbxdbxebxczzy", Some(false)),
        ("ab[c]", "abc", Some(true)),
        ("ab[b-d]", "abc", Some(true)),
        ("ab[e-g]", "abc", Some(false)),
        ("ab[^c]", "abc", Some(false)),
        ("ab[^b-d]", "abc", Some(false)),
        ("ab[^e-g]", "abc", Some(true)),
        ("a\\*b", "a*b", Some(true)),
        ("a\\*b", "ab", Some(false)),
        ("a?b", "a☺b", Some(true)),
        ("a[^a]b", "a☺b", Some(true)),
        ("a???b", "a☺b", Some(false)),
        ("a[^a][^a][^a]b", "a☺b", Some(false)),
        ("[a-ζ]*", "α", Some(true)),
        ("*[a-ζ]", "A", Some(false)),
        ("a?b", "a/b", Some(false)),
        ("a*b", "a/b", Some(false)),
        ("[\\]a]", "]", Some(true)),
        ("[\\-]", "-", Some(true)),
        ("[x\\-]", "x", Some(true)),
        ("[x\\-]", "-", Some(true)),
        ("[x\\-]", "z", Some(false)),
        ("[\\-x]", "x", Some(true)),
        ("[\\-x]", "-", Some(true)),
        ("[\\-x]", "a", Some(false)),
        ("[]a]", "]", None),
        ("[-]", "-", None),
        ("[x-]", "x", None),
        ("[x-]", "-", None),
        ("[x-]", "z", None),
        ("[-x]", "x", None),
        ("[-x]", "-", None),
        ("[-x]", "a", None),
        ("\\", "a", None),
        ("[a-b-c]", "a", None),
        ("[", "a", None),
        ("[^", "a", None),
        ("[^bc", "a", None),
        ("a[", "a", None),
        ("a[", "ab", None),
        ("*x", "xxx", Some(true)),
    ];

    #[test]
    fn go_match_table() {
        for (pattern, text, expected) in GO_MATCH {
            let verdict = PatternMatcher::new(&[pattern]).map(|matcher| matcher.matches_or_parent_matches(text)).ok();
            assert_eq!(verdict, *expected, "pattern={pattern:?} text={text:?}");
        }
    }

    #[test]
    fn moby_single_pattern_cases() {
        let matches =
            |file: &str, patterns: &[&str]| PatternMatcher::new(patterns).unwrap().matches_or_parent_matches(file);
        assert!(matches("fileutils.go", &["*"]));
        assert!(matches("fileutils.go", &["*.go"]));
        assert!(matches("fileutils.go", &["!fileutils.go", "*.go"]));
        assert!(!matches("docs/README.md", &["docs", "!docs/README.md"]));
        assert!(!matches("docs/README.md", &["docs/", "!docs/README.md"]));
        assert!(!matches("docs/README.md", &["docs/*", "!docs/README.md"]));
        assert!(!matches("fileutils.go", &["*.go", "!fileutils.go"]));
        assert!(!matches("/any/path/there", &[]));
        assert!(PatternMatcher::new(&["!"]).is_err());
        assert!(PatternMatcher::new(&["["]).is_err());
        let matcher = PatternMatcher::new(&["docs", "config", ""]).unwrap();
        assert_eq!(matcher.patterns().len(), 2);
        for patterns in [["docs", "!docs/README.md"], ["docs", "  !docs/README.md"], ["docs", "!docs/README.md  "]] {
            assert!(PatternMatcher::new(&patterns).unwrap().has_exclusions());
        }
    }

    /// moby/patternmatcher `TestCompile` (unix regexes).
    #[test]
    fn compiled_forms() {
        for (pattern, kind, regex) in [
            ("*", MatchType::Regexp, "^[^/]*$"),
            ("file*", MatchType::Regexp, "^file[^/]*$"),
            ("*file", MatchType::Regexp, "^[^/]*file$"),
            ("a*/b", MatchType::Regexp, "^a[^/]*/b$"),
            ("**", MatchType::Suffix, ""),
            ("**/**", MatchType::Regexp, "^(.*/)?.*$"),
            ("dir/**", MatchType::Prefix, ""),
            ("**/dir", MatchType::Suffix, ""),
            ("**/dir2/*", MatchType::Regexp, "^(.*/)?dir2/[^/]*$"),
            ("**/dir2/**", MatchType::Regexp, "^(.*/)?dir2/.*$"),
            ("**file", MatchType::Suffix, ""),
            ("**/file*txt", MatchType::Regexp, "^(.*/)?file[^/]*txt$"),
            ("**/**/*.txt", MatchType::Regexp, "^(.*/)?(.*/)?[^/]*\\.txt$"),
            ("a[b-d]e", MatchType::Regexp, "^a[b-d]e$"),
            (".*", MatchType::Regexp, "^\\.[^/]*$"),
            ("abc.def", MatchType::Exact, ""),
            ("abc?def", MatchType::Regexp, "^abc[^/]def$"),
            ("**/foo/bar", MatchType::Suffix, ""),
            ("a(b)c/def", MatchType::Exact, ""),
            ("a.|)$(}+{bc", MatchType::Exact, ""),
            ("dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", MatchType::Exact, ""),
        ] {
            let (detected, compiled) = compile(pattern).unwrap();
            assert_eq!(detected, kind, "{pattern}");
            assert_eq!(compiled.map(|regex| regex.as_str().to_string()).unwrap_or_default(), regex, "{pattern}");
        }
    }

    /// moby/patternmatcher/ignorefile `TestReadAll`.
    #[test]
    fn reads_ignore_files_like_docker() {
        let content = "test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ";
        assert_eq!(
            read_ignore_file(content),
            ["test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"]
        );
        assert_eq!(
            read_ignore_file("\u{feff}# comment\r\n./a//b/../c\r\n  # not a comment\n"),
            ["a/c", "# not a comment"]
        );
        assert!(read_ignore_file("").is_empty());
    }

    #[test]
    fn cleaning() {
        for (path, cleaned) in [
            ("", "."),
            ("a/b/../c", "a/c"),
            ("./a/", "a"),
            ("/", "/"),
            ("/../a", "/a"),
            ("../a", "../a"),
            ("a/../..", ".."),
            ("//a//b//", "/a/b"),
        ] {
            assert_eq!(clean(path), cleaned, "{path}");
        }
    }

    /// The examples of Docker's documentation for `.dockerignore`.
    #[test]
    fn docker_documentation_examples() {
        let matcher = PatternMatcher::new(&read_ignore_file("# comment\n*/temp*\n*/*/temp*\ntemp?\n")).unwrap();
        assert!(matcher.matches_or_parent_matches("somedir/temporary.txt"));
        assert!(matcher.matches_or_parent_matches("somedir/temp"));
        assert!(matcher.matches_or_parent_matches("somedir/subdir/temporary.txt"));
        assert!(matcher.matches_or_parent_matches("tempa"));
        assert!(matcher.matches_or_parent_matches("tempb/inside"));
        assert!(!matcher.matches_or_parent_matches("temporary.txt"), "patterns are anchored at the root");
        assert!(!matcher.matches_or_parent_matches("a/b/c/temp"));

        let matcher = PatternMatcher::new(&read_ignore_file("**/*.go\n")).unwrap();
        assert!(matcher.matches_or_parent_matches("main.go"));
        assert!(matcher.matches_or_parent_matches("a/b/c/main.go"));

        let matcher = PatternMatcher::new(&read_ignore_file("*.md\n!README*.md\nREADME-secret.md\n")).unwrap();
        assert!(matcher.matches_or_parent_matches("CHANGELOG.md"));
        assert!(!matcher.matches_or_parent_matches("README.md"));
        assert!(matcher.matches_or_parent_matches("README-secret.md"));

        let matcher = PatternMatcher::new(&read_ignore_file("*.md\nREADME-secret.md\n!README*.md\n")).unwrap();
        assert!(!matcher.matches_or_parent_matches("README-secret.md"), "the last matching pattern wins");

        // `.gitignore` would match `foo` anywhere; Docker only at the root.
        let matcher = PatternMatcher::new(&["foo"]).unwrap();
        assert!(matcher.matches_or_parent_matches("foo/bar.txt"));
        assert!(!matcher.matches_or_parent_matches("a/foo"));
    }
}
