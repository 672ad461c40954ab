//! Matching a request principal against a `Principal` / `NotPrincipal` element, and reading the
//! account a principal or resource belongs to.
//!
//! Rules: `*` (or an `AWS: "*"` entry) matches anyone; Federated, Service and CanonicalUser
//! entries match by exact, case-sensitive equality; an AWS entry matches an equal principal, any
//! principal of its account when it is an account id or `arn:PARTITION:iam::ACCOUNT:root`, and an
//! assumed-role session `arn:P:sts::A:assumed-role/NAME/SESSION` when it is the role
//! `arn:P:iam::A:role/[path/]NAME`. The entry kind must equal the request principal's kind.
//! Principal entries have no other wildcards. `NotPrincipal` is the plain inversion of that
//! match (AWS additionally checks a session's role and account against a `Deny` with
//! `NotPrincipal`; that refinement is not modelled). This module does not evaluate statements.

use crate::policy::{PrincipalKind, PrincipalSet, PrincipalSpec};
use crate::request::RequestPrincipal;
use crate::wildcard::split_arn;

/// How an entry matched; ordered from weakest to strongest claim on the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum PrincipalMatch {
    None,
    /// `*`.
    Any,
    /// The caller's account (account id or root ARN).
    Account,
    /// The role behind the caller's assumed-role session.
    RoleOfSession,
    /// The caller's own ARN / id.
    Exact,
}

fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The account of an ARN (its fifth part), when present and non-empty.
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    split_arn(arn).map(|p| p[4]).filter(|a| !a.is_empty())
}

/// The account of an AWS principal: a bare account id, or the account part of its ARN.
pub(crate) fn principal_account(id: &str) -> Option<&str> {
    if is_account_id(id) {
        Some(id)
    } else {
        arn_account(id)
    }
}

fn match_aws_entry(entry: &str, caller: &str) -> PrincipalMatch {
    if entry == "*" {
        return PrincipalMatch::Any;
    }
    if entry == caller {
        return PrincipalMatch::Exact;
    }
    if is_account_id(entry) {
        return if principal_account(caller) == Some(entry) {
            PrincipalMatch::Account
        } else {
            PrincipalMatch::None
        };
    }
    let Some(e) = split_arn(entry) else {
        return PrincipalMatch::None;
    };
    if e[0] != "arn" || e[2] != "iam" || e[4].is_empty() {
        return PrincipalMatch::None;
    }
    let caller_parts = split_arn(caller);
    if e[5] == "root" {
        let same_partition = caller_parts.is_none_or(|c| c[1] == e[1]);
        if same_partition && principal_account(caller) == Some(e[4]) {
            return PrincipalMatch::Account;
        }
        return PrincipalMatch::None;
    }
    if let (Some(role_path), Some(c)) = (e[5].strip_prefix("role/"), caller_parts) {
        let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
        let session = c[5]
            .strip_prefix("assumed-role/")
            .and_then(|s| s.split_once('/'));
        if let Some((name, _session)) = session {
            if c[0] == "arn" && c[1] == e[1] && c[2] == "sts" && c[4] == e[4] && name == role_name {
                return PrincipalMatch::RoleOfSession;
            }
        }
    }
    PrincipalMatch::None
}

/// The strongest match of any entry of `set` for `caller`.
pub(crate) fn match_set(set: &PrincipalSet, caller: Option<&RequestPrincipal>) -> PrincipalMatch {
    let mut best = if set.any {
        PrincipalMatch::Any
    } else {
        PrincipalMatch::None
    };
    let Some(caller) = caller else {
        return best;
    };
    for (kind, entry) in &set.entries {
        if *kind != caller.kind {
            continue;
        }
        let m = match kind {
            PrincipalKind::Aws => match_aws_entry(entry, &caller.id),
            _ if *entry == caller.id => PrincipalMatch::Exact,
            _ => PrincipalMatch::None,
        };
        best = best.max(m);
        if best == PrincipalMatch::Exact {
            break;
        }
    }
    best
}

/// Whether `set` names `caller` by more than its account: `*`, the caller itself, or (for a
/// session) its role. Naming only the account (its id or root ARN) in a resource policy
/// delegates the decision to the account's IAM policies.
pub(crate) fn names_beyond_account(set: &PrincipalSet, caller: Option<&RequestPrincipal>) -> bool {
    if set.any {
        return true;
    }
    let Some(caller) = caller else {
        return false;
    };
    set.entries.iter().any(|(kind, entry)| {
        *kind == caller.kind
            && match kind {
                PrincipalKind::Aws => match_aws_entry(entry, &caller.id) > PrincipalMatch::Account,
                _ => *entry == caller.id,
            }
    })
}

/// Whether the element is satisfied by `caller` (`NotPrincipal` inverts).
pub(crate) fn element_matches(spec: &PrincipalSpec, caller: Option<&RequestPrincipal>) -> bool {
    match spec {
        PrincipalSpec::Principal(set) => match_set(set, caller) != PrincipalMatch::None,
        PrincipalSpec::NotPrincipal(set) => match_set(set, caller) == PrincipalMatch::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/deploy/GitHubActions";

    #[test]
    fn aws_entry_forms() {
        use PrincipalMatch as M;
        assert_eq!(match_aws_entry("111122223333", SESSION), M::Account);
        assert_eq!(
            match_aws_entry("arn:aws:iam::111122223333:root", SESSION),
            M::Account
        );
        assert_eq!(
            match_aws_entry("arn:aws-cn:iam::111122223333:root", SESSION),
            M::None
        );
        assert_eq!(
            match_aws_entry("arn:aws:iam::111122223333:role/ci/deploy", SESSION),
            M::RoleOfSession
        );
        assert_eq!(
            match_aws_entry("arn:aws:iam::111122223333:role/deployer", SESSION),
            M::None
        );
        assert_eq!(
            match_aws_entry("arn:aws:iam::444455556666:role/deploy", SESSION),
            M::None
        );
        assert_eq!(match_aws_entry(SESSION, SESSION), M::Exact);
        assert_eq!(match_aws_entry("444455556666", SESSION), M::None);
        assert_eq!(match_aws_entry("111122223333", "111122223333"), M::Exact);
    }
}
