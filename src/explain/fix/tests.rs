use super::*;

#[test]
fn shell_words_are_quoted_when_not_plain() {
    assert_eq!(shell_word("gha-deploy"), "gha-deploy");
    assert_eq!(shell_word("a b"), "'a b'");
    assert_eq!(shell_word("x'; rm -rf /"), r"'x'\''; rm -rf /'");
    assert_eq!(shell_word(""), "''");
}

#[test]
fn kind_codes_match_serde_names() {
    for k in [
        FixKind::Workflow,
        FixKind::RoleToAssume,
        FixKind::TrustPolicy,
        FixKind::IdentityPolicy,
        FixKind::RepositoryPolicy,
        FixKind::Boundary,
        FixKind::Provider,
        FixKind::Role,
    ] {
        assert_eq!(serde_json::to_value(k).unwrap(), k.code());
    }
}
