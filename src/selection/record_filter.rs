//! The typed filters of `query` as data (`--event-name`, `--error-code`, `--principal`,
//! `--sub`, `--role`, the window): what the flags asked for, read by `query::filter` (which
//! checks records against them) and by the `athena://` and `lake://` sources (which push
//! them down into SQL). Globs are IAM wildcards (`*`, `?`, case-sensitive), matched by
//! `iam_policy::wildcard_match`.

use super::Window;

/// One repeatable glob flag: a value passes when any pattern matches it.
#[derive(Debug, Clone, Default)]
pub struct Globs {
    patterns: Vec<String>,
}

impl Globs {
    pub fn new(patterns: &[String]) -> Globs {
        Globs {
            patterns: patterns.to_vec(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns as given.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub(crate) fn matches(&self, value: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| iam_policy::wildcard_match(p, value))
    }

    pub(crate) fn matches_any<'v>(
        &self,
        values: impl IntoIterator<Item = Option<&'v str>>,
    ) -> bool {
        values.into_iter().flatten().any(|v| self.matches(v))
    }

    /// The byte needles of this flag: the longest literal run of each pattern. `None` when a
    /// pattern has no usable literal (`*`, or text JSON would escape), so the flag cannot be
    /// checked on bytes.
    pub(crate) fn needles(&self) -> Option<Vec<Vec<u8>>> {
        if self.patterns.is_empty() {
            return None;
        }
        self.patterns
            .iter()
            .map(|p| {
                let run = p.split(['*', '?']).max_by_key(|s| s.len()).unwrap_or("");
                let plain =
                    !run.is_empty() && run.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\');
                plain.then(|| run.as_bytes().to_vec())
            })
            .collect()
    }
}

/// The compiled typed filters.
#[derive(Debug, Default)]
pub struct RecordFilter {
    pub event_name: Globs,
    pub event_source: Globs,
    pub error_code: Globs,
    pub errors_only: bool,
    pub principal: Globs,
    pub sub: Globs,
    pub role: Globs,
    pub window: Window,
}
