//! Whether a file matching a glob exists in the project, for `applies-when`: a walk of the
//! project root that skips hidden directories (`.git`, `.greenlight`, `.venv`), `__pycache__`
//! and `node_modules`, and stops at the first match.

use std::path::Path;

use globset::GlobMatcher;

/// Most directory entries looked at before giving up (a detection must stay cheap).
const MOST_ENTRIES: usize = 50_000;

/// True when a file under `root` matches `glob` (paths relative to the root, `/`-separated).
pub fn any_file(root: &Path, glob: &GlobMatcher) -> bool {
    let mut pending = vec![root.to_path_buf()];
    let mut seen = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MOST_ENTRIES {
                return false;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                if !name.starts_with('.') && name != "__pycache__" && name != "node_modules" {
                    pending.push(path);
                }
            } else if let Ok(relative) = path.strip_prefix(root)
                && glob.is_match(relative.to_string_lossy().replace('\\', "/"))
            {
                return true;
            }
        }
    }
    false
}
