//! GitHub's `sub` claim: its forms and how two subjects (or a subject and a policy
//! pattern) differ — kind (branch, tag, environment, pull request), immutable owner/repository
//! ids, customized claim templates, case.

/// What a subject (or a pattern) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    Branch,
    Tag,
    Environment,
    PullRequest,
    /// Some other `ref` (e.g. `refs/pull/1/merge`).
    OtherRef,
    /// A pattern whose wildcard covers the kind, or a subject not in a default form.
    Any,
}

impl SubjectKind {
    pub fn describe(self) -> &'static str {
        match self {
            SubjectKind::Branch => "a branch",
            SubjectKind::Tag => "a tag",
            SubjectKind::Environment => "an environment",
            SubjectKind::PullRequest => "a pull request",
            SubjectKind::OtherRef => "a ref",
            SubjectKind::Any => "any kind of",
        }
    }
}

/// A subject (or pattern) taken apart. Patterns are parsed as text, so `*` stays in the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject<'a> {
    /// `OWNER/REPO` or `OWNER@ID/REPO@ID` as written.
    pub repository: Option<&'a str>,
    pub kind: SubjectKind,
    /// Uses the immutable `OWNER@ID/REPO@ID` form.
    pub immutable: bool,
    /// Not one of GitHub's default forms (a customized claim template).
    pub custom: bool,
}

/// Parses a subject or a pattern.
pub fn parse(s: &str) -> Subject<'_> {
    let Some(rest) = s.strip_prefix("repo:") else {
        return Subject {
            repository: None,
            kind: SubjectKind::Any,
            immutable: false,
            custom: !is_wild_only(s),
        };
    };
    let (repository, context) = match rest.split_once(':') {
        Some((r, c)) => (r, Some(c)),
        None => (rest, None),
    };
    let immutable = is_immutable_repository(repository);
    let (kind, custom) = match context {
        None => (SubjectKind::Any, !repository.ends_with('*')),
        Some(c) if c == "*" || c.starts_with('*') => (SubjectKind::Any, false),
        Some(c) => {
            if c == "pull_request" {
                (SubjectKind::PullRequest, false)
            } else if let Some(r) = c.strip_prefix("ref:") {
                let extra = has_extra_claims(r);
                let kind = if r.starts_with("refs/heads/") {
                    SubjectKind::Branch
                } else if r.starts_with("refs/tags/") {
                    SubjectKind::Tag
                } else if r == "*" || r.starts_with("refs/*") || r.starts_with('*') {
                    SubjectKind::Any
                } else {
                    SubjectKind::OtherRef
                };
                (kind, extra)
            } else if let Some(e) = c.strip_prefix("environment:") {
                (SubjectKind::Environment, has_extra_claims(e))
            } else {
                (SubjectKind::Any, true)
            }
        }
    };
    Subject {
        repository: Some(repository),
        kind,
        immutable,
        custom,
    }
}

fn is_wild_only(s: &str) -> bool {
    s.chars().all(|c| c == '*')
}

/// `job_workflow_ref:...`, `context:...`, etc. appended by a customized template.
fn has_extra_claims(value: &str) -> bool {
    const KEYS: &[&str] = &[
        ":job_workflow_ref:",
        ":workflow:",
        ":actor:",
        ":actor_id:",
        ":repository_owner:",
        ":repository_owner_id:",
        ":repository_id:",
        ":repository_visibility:",
        ":context:",
        ":event_name:",
        ":ref_type:",
        ":workflow_ref:",
        ":job_workflow_sha:",
        ":runner_environment:",
        ":enterprise:",
        ":enterprise_id:",
    ];
    KEYS.iter().any(|k| value.contains(k))
}

/// `owner@123/repo@456`
pub fn is_immutable_repository(repository: &str) -> bool {
    let Some((owner, repo)) = repository.split_once('/') else {
        return false;
    };
    has_numeric_id(owner) && has_numeric_id(repo)
}

fn has_numeric_id(part: &str) -> bool {
    part.rsplit_once('@').is_some_and(|(name, id)| {
        !name.is_empty() && !id.is_empty() && id.chars().all(|c| c.is_ascii_digit())
    })
}

/// Removes `@ID` from owner and repository: `repo:o@1/r@2:x` → `repo:o/r:x`.
pub fn strip_immutable_ids(s: &str) -> String {
    let Some(rest) = s.strip_prefix("repo:") else {
        return s.to_owned();
    };
    let (repository, context) = match rest.split_once(':') {
        Some((r, c)) => (r, Some(c)),
        None => (rest, None),
    };
    let Some((owner, repo)) = repository.split_once('/') else {
        return s.to_owned();
    };
    let strip = |p: &str| -> String {
        match p.rsplit_once('@') {
            Some((name, id)) if id.chars().all(|c| c.is_ascii_digit()) && !id.is_empty() => {
                name.to_owned()
            }
            _ => p.to_owned(),
        }
    };
    match context {
        Some(c) => format!("repo:{}/{}:{c}", strip(owner), strip(repo)),
        None => format!("repo:{}/{}", strip(owner), strip(repo)),
    }
}

/// Rewrites the repository part of `pattern` with the case of `actual`'s repository when the
/// two are equal ignoring case; `None` when they differ otherwise.
pub fn recase_repository(pattern: &str, actual: &str) -> Option<String> {
    let p = pattern.strip_prefix("repo:")?;
    let a = actual.strip_prefix("repo:")?;
    let (p_repo, p_rest) = p.split_once(':').unwrap_or((p, ""));
    let (a_repo, _) = a.split_once(':').unwrap_or((a, ""));
    if p_repo != a_repo && p_repo.eq_ignore_ascii_case(a_repo) {
        let sep = if p.contains(':') { ":" } else { "" };
        Some(format!("repo:{a_repo}{sep}{p_rest}"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_forms() {
        assert_eq!(
            parse("repo:acme/web:ref:refs/heads/main").kind,
            SubjectKind::Branch
        );
        assert_eq!(
            parse("repo:acme/web:ref:refs/tags/v1").kind,
            SubjectKind::Tag
        );
        assert_eq!(
            parse("repo:acme/web:environment:prod").kind,
            SubjectKind::Environment
        );
        assert_eq!(
            parse("repo:acme/web:pull_request").kind,
            SubjectKind::PullRequest
        );
        assert_eq!(parse("repo:acme/web:*").kind, SubjectKind::Any);
        assert!(!parse("repo:acme/web:*").custom);
        assert!(!parse("repo:acme/*").custom);
    }

    #[test]
    fn immutable_and_custom() {
        let s = parse("repo:acme@4412345/newsvc@987654321:ref:refs/heads/main");
        assert!(s.immutable);
        assert_eq!(s.kind, SubjectKind::Branch);
        assert!(!parse("repo:acme/newsvc:ref:refs/heads/main").immutable);
        assert!(parse("repo:acme/web:environment:prod:job_workflow_ref:acme/ci/.github/workflows/d.yml@refs/heads/main").custom);
        assert!(parse("job_workflow_ref:acme/ci/.github/workflows/d.yml@refs/heads/main").custom);
        assert_eq!(
            strip_immutable_ids("repo:acme@4412345/newsvc@987654321:ref:refs/heads/main"),
            "repo:acme/newsvc:ref:refs/heads/main"
        );
    }

    #[test]
    fn recase() {
        assert_eq!(
            recase_repository(
                "repo:Acme/billing:*",
                "repo:acme/billing:ref:refs/heads/main"
            )
            .as_deref(),
            Some("repo:acme/billing:*")
        );
        assert_eq!(
            recase_repository("repo:other/billing:*", "repo:acme/billing:x"),
            None
        );
    }
}
