//! The Dockerfile greenlight sends to the engine: the user's file, never edited on disk, with
//! each stage's `FROM` pointed through `image-map` and followed by a `LABEL` that carries the
//! run id.
//!
//! The label makes every layer and step container the build makes findable by the documented
//! filter (`docker ps -a --filter label=io.greenlight.run=<run id>`, `docker images -a
//! --filter ...`): the engine's classic builder labels only the final image when labels are
//! given through the API. It also keeps concurrent builds apart: the builder reuses a layer as
//! cache only when its configuration matches, so no build starts from a layer of another run,
//! which that run's cleanup would remove under it ("failed to set parent ...: unknown parent
//! image ID"). Layers were never reused across runs anyway: each run removes what it built.

use std::collections::BTreeMap;

use crate::RUN_LABEL;
use crate::dockerfile::Dockerfile;

/// The Dockerfile as sent, and how to read the builder's messages about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The text sent.
    pub text: String,
    /// For each line of `text`, the user's line (1-based), `None` for a line greenlight added.
    lines: Vec<Option<u32>>,
    /// `(reference, replacement)` for every `FROM` that `image-map` pointed elsewhere, the
    /// reference as the Dockerfile resolves it.
    pub mapped: Vec<(String, String)>,
    /// How many `LABEL` steps were added (one per stage).
    pub added_steps: u32,
}

impl Sent {
    /// The user's line for a line number of the sent file (a daemon's parse error).
    pub fn original_line(&self, sent: u32) -> Option<u32> {
        self.lines.get(usize::try_from(sent).ok()?.checked_sub(1)?).copied().flatten()
    }

    /// What `reference` (resolved) is built from: its `image-map` replacement, or itself.
    pub fn replacement(&self, reference: &str) -> Option<&str> {
        self.mapped.iter().find(|(from, _)| from == reference).map(|(_, to)| to.as_str())
    }
}

/// True for a build step greenlight added (`LABEL io.greenlight.run=...`), which the user's
/// Dockerfile does not have.
pub fn is_added_step(instruction: &str) -> bool {
    instruction.strip_prefix("LABEL ").is_some_and(|rest| rest.trim_start().starts_with(&format!("{RUN_LABEL}=")))
}

/// The `LABEL` line added after each `FROM`.
fn label_line(run_id: &str) -> String {
    format!("LABEL {RUN_LABEL}={}", serde_json::Value::String(run_id.to_string()))
}

/// `docker.io/library/python:latest` for `python`, to compare references as the engine does.
pub fn normalize(reference: &str) -> String {
    let (name, digest) = match reference.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (reference, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    let (name, tag) = match last.rsplit_once(':') {
        Some((_, tag)) => (&name[..name.len() - tag.len() - 1], Some(tag)),
        None => (name, None),
    };
    let first = name.split('/').next().unwrap_or(name);
    let has_registry = name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let name = match (has_registry, name.contains('/')) {
        (true, _) => name.to_string(),
        (false, true) => format!("docker.io/{name}"),
        (false, false) => format!("docker.io/library/{name}"),
    };
    let name = name.to_ascii_lowercase();
    match (digest, tag) {
        (Some(digest), _) => format!("{name}@{digest}"),
        (None, tag) => format!("{name}:{}", tag.unwrap_or("latest")),
    }
}

/// The replacement `image_map` gives for `reference`, comparing normalized references.
pub fn lookup<'a>(image_map: &'a BTreeMap<String, String>, reference: &str) -> Option<&'a str> {
    if reference.is_empty() {
        return None;
    }
    let wanted = normalize(reference);
    image_map.iter().find(|(from, _)| normalize(from) == wanted).map(|(_, to)| to.as_str())
}

/// The file to send for `text` (parsed as `dockerfile`).
pub fn rewrite(
    text: &str,
    dockerfile: &Dockerfile,
    image_map: &BTreeMap<String, String>,
    build_args: &BTreeMap<String, String>,
    run_id: &str,
) -> Sent {
    let lines: Vec<&str> = text.lines().collect();
    let escape = escape_char(&lines);
    let mut sent = Sent::default();
    let mut out: Vec<String> = Vec::new();
    let mut stage_names: Vec<String> = Vec::new();
    let froms: Vec<_> = dockerfile.instructions.iter().filter(|instruction| instruction.keyword == "FROM").collect();
    let mut next_from = froms.iter().peekable();
    let mut index = 0;
    while index < lines.len() {
        let Some(from) = next_from.next_if(|from| from.line as usize == index + 1) else {
            out.push(lines[index].to_string());
            sent.lines.push(Some(index as u32 + 1));
            index += 1;
            continue;
        };
        // The instruction's physical lines (continuations end with the escape character).
        let start = index;
        while index + 1 < lines.len() && lines[index].trim_end().ends_with(escape) {
            index += 1;
        }
        index += 1;
        let words: Vec<&str> = from.args.split_whitespace().collect();
        let flags: Vec<&str> = words.iter().copied().take_while(|word| word.starts_with("--")).collect();
        let reference = words.get(flags.len()).copied().unwrap_or_default();
        let rest = &words[(flags.len() + 1).min(words.len())..];
        let is_stage = reference.eq_ignore_ascii_case("scratch")
            || stage_names.iter().any(|name| name.eq_ignore_ascii_case(reference));
        let resolved = dockerfile.resolve_args(reference, build_args);
        match lookup(image_map, &resolved).filter(|_| !is_stage) {
            Some(replacement) => {
                let mut words: Vec<&str> = flags.clone();
                words.push(replacement);
                words.extend(rest);
                out.push(format!("FROM {}", words.join(" ")));
                sent.lines.push(Some(start as u32 + 1));
                // Keep the user's numbering: the joined continuation lines become blank.
                for line in start + 1..index {
                    out.push(String::new());
                    sent.lines.push(Some(line as u32 + 1));
                }
                sent.mapped.push((resolved, replacement.to_string()));
            }
            None => {
                for (offset, line) in lines[start..index].iter().enumerate() {
                    out.push(line.to_string());
                    sent.lines.push(Some((start + offset) as u32 + 1));
                }
            }
        }
        if let [as_word, name, ..] = rest
            && as_word.eq_ignore_ascii_case("as")
        {
            stage_names.push(name.to_string());
        }
        out.push(label_line(run_id));
        sent.lines.push(None);
        sent.added_steps += 1;
    }
    sent.text = out.join("\n");
    sent.text.push('\n');
    sent
}

/// The parser directive `# escape=` (default `\`).
fn escape_char(lines: &[&str]) -> char {
    for line in lines {
        let Some(directive) = line.trim().strip_prefix('#') else { break };
        let Some((key, value)) = directive.split_once('=') else { break };
        if key.trim().eq_ignore_ascii_case("escape") {
            return value.trim().chars().next().unwrap_or('\\');
        }
    }
    '\\'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(from, to)| (from.to_string(), to.to_string())).collect()
    }

    const MULTI: &str = "# syntax=docker/dockerfile:1\nARG BASE=python:3.11-slim\nFROM --platform=linux/amd64 ${BASE} AS build\nRUN pip wheel .\nFROM \\\n  python:3.11-slim\nCOPY --from=build /w /w\nFROM build AS test\n";

    #[test]
    fn from_lines_are_mapped_and_labelled_keeping_the_users_lines() {
        let dockerfile = Dockerfile::parse(MULTI);
        let image_map = map(&[("docker.io/library/python:3.11-slim", "mirror.local/python:3.11-slim")]);
        let sent = rewrite(MULTI, &dockerfile, &image_map, &BTreeMap::new(), "20261201-1200-ab");
        let label = "LABEL io.greenlight.run=\"20261201-1200-ab\"";
        assert_eq!(
            sent.text,
            format!(
                "# syntax=docker/dockerfile:1\nARG BASE=python:3.11-slim\nFROM --platform=linux/amd64 mirror.local/python:3.11-slim AS build\n{label}\nRUN pip wheel .\nFROM mirror.local/python:3.11-slim\n\n{label}\nCOPY --from=build /w /w\nFROM build AS test\n{label}\n"
            )
        );
        assert_eq!(sent.added_steps, 3);
        assert_eq!(sent.original_line(3), Some(3));
        assert_eq!(sent.original_line(4), None);
        assert_eq!(sent.original_line(5), Some(4));
        assert_eq!(sent.original_line(9), Some(7));
        assert_eq!(sent.replacement("python:3.11-slim"), Some("mirror.local/python:3.11-slim"));
        assert!(is_added_step(label));
        assert!(!is_added_step("LABEL maintainer=me"));
    }

    #[test]
    fn a_build_arg_decides_what_is_mapped() {
        let dockerfile = Dockerfile::parse(MULTI);
        let image_map = map(&[("python:3.12", "mirror.local/python:3.12")]);
        let args = BTreeMap::from([("BASE".to_string(), "python:3.12".to_string())]);
        let sent = rewrite(MULTI, &dockerfile, &image_map, &args, "r");
        assert_eq!(sent.mapped, [("python:3.12".to_string(), "mirror.local/python:3.12".to_string())]);
        assert!(sent.text.contains("\nFROM \\\n  python:3.11-slim\n"), "{}", sent.text);
    }

    #[test]
    fn references_compare_as_the_engine_reads_them() {
        assert_eq!(normalize("python"), "docker.io/library/python:latest");
        assert_eq!(normalize("library/python:3.11"), "docker.io/library/python:3.11");
        assert_eq!(normalize("localhost:5000/py:1"), "localhost:5000/py:1");
        assert_eq!(normalize("ghcr.io/astral-sh/uv@sha256:ab"), "ghcr.io/astral-sh/uv@sha256:ab");
        assert_eq!(lookup(&map(&[("python:latest", "x")]), "python"), Some("x"));
        assert_eq!(lookup(&map(&[("python", "x")]), "python:3.11"), None);
    }
}
