use super::*;

#[test]
fn shell_words_are_quoted_when_not_plain() {
    assert_eq!(shell_word("gha-deploy"), "gha-deploy");
    assert_eq!(shell_word("a b"), "'a b'");
    assert_eq!(shell_word("x'; rm -rf /"), r"'x'\''; rm -rf /'");
    assert_eq!(shell_word(""), "''");
}
