//! `seed_table!` turns a bad defaults table into a compile error on the offending token.

#[test]
fn seed_table_compile_errors() {
    let cases = trybuild::TestCases::new();
    cases.pass("../tests/ui/pass/*.rs");
    cases.compile_fail("../tests/ui/fail/*.rs");
}
