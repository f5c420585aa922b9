//! The environment handed to child processes: everything but secret-looking variables.

use std::ffi::OsString;

/// Substrings of variable names that mark a secret (upper-cased comparison).
const SECRET_MARKERS: &[&str] =
    &["TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "APIKEY", "API_KEY", "PRIVATE_KEY", "ACCESS_KEY", "AUTH"];

/// True when a variable name looks like it holds a secret (`GITHUB_TOKEN`,
/// `AWS_SECRET_ACCESS_KEY`, `DB_PASSWORD`, `STRIPE_KEY`, ...). Such variables are not passed to
/// tools unless the configuration allows them by name.
pub fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    // `SSH_AUTH_SOCK` is a socket path, not a secret, and git over ssh needs it.
    if upper == "SSH_AUTH_SOCK" {
        return false;
    }
    upper == "KEY" || upper.ends_with("_KEY") || SECRET_MARKERS.iter().any(|marker| upper.contains(marker))
}

/// The current environment without secret-looking variables, except those named in `allow`.
pub fn scrubbed_env(allow: &[String]) -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(name, _)| {
            let name = name.to_string_lossy();
            !is_secret_name(&name) || allow.iter().any(|allowed| allowed == name.as_ref())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in ["GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "STRIPE_KEY", "NPM_AUTH", "api_key"] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["PATH", "HOME", "SSH_AUTH_SOCK", "KEYBOARD_LAYOUT", "VIRTUAL_ENV", "LANG"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
