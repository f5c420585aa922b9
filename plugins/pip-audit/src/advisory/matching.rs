//! Whether a version is affected, per the OSV schema: the `versions` list, and `ECOSYSTEM`
//! ranges of `introduced` / `fixed` / `last_affected` / `limit` events compared as PEP 440
//! versions.

use std::cmp::Ordering;
use std::str::FromStr as _;
use std::sync::OnceLock;

use pep440_rs::Version;

/// A PEP 440 version, parsed once.
pub(crate) fn parse_version(text: &str) -> Option<Version> {
    Version::from_str(text.trim()).ok()
}

/// The lower end of an `introduced` event: `"0"` means "every version".
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    /// `"0"`: below every version.
    Zero,
    /// A version.
    At(Version),
}

impl Bound {
    fn sort_key(&self) -> Option<&Version> {
        match self {
            Bound::Zero => None,
            Bound::At(version) => Some(version),
        }
    }
}

/// One event of an `ECOSYSTEM` range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// Versions from here on are affected.
    Introduced(Bound),
    /// Versions from here on are not affected.
    Fixed(Version),
    /// Versions after this one are not affected.
    LastAffected(Version),
    /// Versions from here on are outside the range, whatever the other events say.
    Limit(Version),
}

/// A range event greenlight cannot match on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EventError {
    /// Its version is not a PEP 440 version.
    #[error("`{kind}: {value}` is not a PEP 440 version")]
    Version { kind: String, value: String },
    /// An event kind OSV does not define.
    #[error("unknown range event `{0}`")]
    Kind(String),
}

impl Event {
    /// Parses `kind: value`. `Ok(None)` for an event that changes nothing (`limit: "*"`);
    /// `Err` for a version that is not PEP 440 or an unknown kind.
    pub(crate) fn parse(kind: &str, value: &str) -> Result<Option<Event>, EventError> {
        let version = || {
            parse_version(value).ok_or_else(|| EventError::Version { kind: kind.to_string(), value: value.to_string() })
        };
        Ok(Some(match kind {
            "introduced" if value.trim() == "0" => Event::Introduced(Bound::Zero),
            "introduced" => Event::Introduced(Bound::At(version()?)),
            "fixed" => Event::Fixed(version()?),
            "last_affected" => Event::LastAffected(version()?),
            "limit" if value.trim() == "*" => return Ok(None),
            "limit" => Event::Limit(version()?),
            other => return Err(EventError::Kind(other.to_string())),
        }))
    }

    fn sort_key(&self) -> Option<&Version> {
        match self {
            Event::Introduced(bound) => bound.sort_key(),
            Event::Fixed(version) | Event::LastAffected(version) | Event::Limit(version) => Some(version),
        }
    }
}

/// An `ECOSYSTEM` range: its events sorted by version (`introduced: "0"` first), as the OSV
/// evaluation requires.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Range {
    events: Vec<Event>,
}

impl Range {
    /// A range of these events, in any order.
    pub(crate) fn new(mut events: Vec<Event>) -> Self {
        // A stable sort keeps the file's order for events at the same version.
        events.sort_by(|a, b| match (a.sort_key(), b.sort_key()) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(a), Some(b)) => a.cmp(b),
        });
        Self { events }
    }

    /// True when `version` is in the range (OSV's `IsAffected`): walking the sorted events, an
    /// `introduced` at or below the version turns "affected" on; a `fixed` at or below it, or a
    /// `last_affected` strictly below it, turns it off; a `limit` at or below it excludes it.
    pub(crate) fn contains(&self, version: &Version) -> bool {
        let mut affected = false;
        for event in &self.events {
            match event {
                Event::Introduced(Bound::Zero) => affected = true,
                Event::Introduced(Bound::At(introduced)) if version >= introduced => affected = true,
                Event::Fixed(fixed) if version >= fixed => affected = false,
                Event::LastAffected(last) if version > last => affected = false,
                Event::Limit(limit) if version >= limit => return false,
                _ => {}
            }
        }
        affected
    }

    /// The `fixed` versions of the range.
    #[cfg(test)]
    pub(crate) fn fixed(&self) -> impl Iterator<Item = &Version> {
        self.events.iter().filter_map(|event| match event {
            Event::Fixed(version) => Some(version),
            _ => None,
        })
    }
}

/// The affected versions of one package in one advisory.
#[derive(Debug, Default)]
pub(crate) struct AffectedVersions {
    /// The `versions` list, as written.
    versions: Vec<String>,
    /// The same, parsed (`None` where not PEP 440), on first use: most packages of a
    /// database are never queried, and parsing ~150,000 versions up front would double the
    /// time to load a cached database.
    parsed: OnceLock<Vec<Option<Version>>>,
    /// The `ECOSYSTEM` ranges whose versions all parse.
    ranges: Vec<Range>,
}

impl AffectedVersions {
    /// Affected versions from a `versions` list and `ECOSYSTEM` ranges.
    pub(crate) fn new(versions: Vec<String>, ranges: Vec<Range>) -> Self {
        Self { versions, parsed: OnceLock::new(), ranges }
    }

    /// True when `text` (parsed as `version` when it is PEP 440) is listed in `versions` or in
    /// one of the ranges.
    pub(crate) fn contains(&self, text: &str, version: Option<&Version>) -> bool {
        let parsed = self.parsed.get_or_init(|| self.versions.iter().map(|listed| parse_version(listed)).collect());
        let listed = self.versions.iter().zip(parsed).any(|(listed_text, listed)| match (listed, version) {
            (Some(listed), Some(version)) => listed == version,
            _ => listed_text.trim() == text.trim(),
        });
        listed || version.is_some_and(|version| self.ranges.iter().any(|range| range.contains(version)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        parse_version(text).unwrap_or_else(|| panic!("{text} is PEP 440"))
    }

    fn range(events: &[(&str, &str)]) -> Range {
        Range::new(events.iter().map(|(kind, value)| Event::parse(kind, value).unwrap().unwrap()).collect())
    }

    fn affected(range: &Range, version: &str) -> bool {
        range.contains(&v(version))
    }

    #[test]
    fn introduced_zero_and_fixed() {
        let range = range(&[("introduced", "0"), ("fixed", "2.20.0")]);
        for version in ["0.0.1", "1.0", "2.19.0", "2.19.1", "2.20.0rc1", "2.20.0.dev0", "2.20.0a1"] {
            assert!(affected(&range, version), "{version} is before the fix");
        }
        for version in ["2.20.0", "2.20", "2.20.0.post1", "2.21.0", "3.0"] {
            assert!(!affected(&range, version), "{version} is fixed");
        }
        assert_eq!(range.fixed().map(ToString::to_string).collect::<Vec<_>>(), ["2.20.0"]);
    }

    #[test]
    fn pre_releases_are_ordered_per_pep_440() {
        let range = range(&[("introduced", "2.0.0b1"), ("fixed", "2.0.0rc2")]);
        assert!(!affected(&range, "2.0.0a9"));
        assert!(!affected(&range, "2.0.0.dev5"));
        assert!(affected(&range, "2.0.0b1"));
        assert!(affected(&range, "2.0.0rc1"));
        assert!(!affected(&range, "2.0.0rc2"));
        assert!(!affected(&range, "2.0.0"));
        assert!(!affected(&range, "1.9"));
    }

    #[test]
    fn last_affected_is_inclusive() {
        let range = range(&[("introduced", "0"), ("last_affected", "1.11.0")]);
        assert!(affected(&range, "1.11.0"));
        assert!(affected(&range, "1.11"));
        assert!(affected(&range, "1.4.7.dev3"));
        assert!(!affected(&range, "1.11.0.post1"));
        assert!(!affected(&range, "1.11.1"));
    }

    #[test]
    fn several_introduced_fixed_pairs_in_any_order() {
        // Written out of order, as some records are.
        let range = range(&[("fixed", "2.5"), ("introduced", "2.0"), ("fixed", "1.0.3"), ("introduced", "0")]);
        for (version, expected) in [
            ("0.9", true),
            ("1.0.2", true),
            ("1.0.3", false),
            ("1.5", false),
            ("2.0", true),
            ("2.4.9", true),
            ("2.5", false),
            ("3.0", false),
        ] {
            assert_eq!(affected(&range, version), expected, "{version}");
        }
    }

    #[test]
    fn introduced_without_fix_affects_everything_after() {
        let range = range(&[("introduced", "1.2")]);
        assert!(!affected(&range, "1.1.9"));
        assert!(affected(&range, "1.2"));
        assert!(affected(&range, "99"));
    }

    #[test]
    fn limit_caps_the_range() {
        let range = range(&[("introduced", "0"), ("limit", "3.0")]);
        assert!(affected(&range, "2.9"));
        assert!(!affected(&range, "3.0"));
        assert_eq!(Event::parse("limit", "*").unwrap(), None);
    }

    #[test]
    fn epochs_and_local_versions() {
        let range = range(&[("introduced", "0"), ("fixed", "1!0.5")]);
        assert!(affected(&range, "2024.1"), "no epoch sorts below any epoch 1 version");
        assert!(affected(&range, "1!0.4"));
        assert!(!affected(&range, "1!0.5"));
        let range = self::range(&[("introduced", "0"), ("fixed", "1.0")]);
        assert!(affected(&range, "0.9+ubuntu1"));
        assert!(!affected(&range, "1.0+local"), "a local version sorts after its public version");
    }

    #[test]
    fn invalid_and_unknown_events() {
        assert!(Event::parse("fixed", "2019-09-12").unwrap_err().to_string().contains("not a PEP 440 version"));
        assert!(Event::parse("fixed", "0.2.0-n653").is_err());
        assert!(Event::parse("removed", "1.0").unwrap_err().to_string().contains("unknown range event"));
    }

    #[test]
    fn versions_list_matches_by_pep_440_equality_or_text() {
        let affected =
            AffectedVersions::new(["1.0", "2.0.0-alpha2", "not a version"].map(str::to_string).to_vec(), Vec::new());
        assert!(affected.contains("1.0.0", Some(&v("1.0.0"))), "1.0 == 1.0.0 in PEP 440");
        assert!(affected.contains("2.0.0a2", Some(&v("2.0.0a2"))), "normalized pre-release");
        assert!(affected.contains("not a version", None));
        assert!(!affected.contains("1.0.1", Some(&v("1.0.1"))));
    }

    #[test]
    fn versions_list_and_ranges_are_a_union() {
        let affected =
            AffectedVersions::new(vec!["0.5".to_string()], vec![range(&[("introduced", "1.0"), ("fixed", "1.2")])]);
        assert!(affected.contains("0.5", Some(&v("0.5"))));
        assert!(affected.contains("1.1", Some(&v("1.1"))));
        assert!(!affected.contains("0.6", Some(&v("0.6"))));
        assert!(!affected.contains("1.2", Some(&v("1.2"))));
    }
}
