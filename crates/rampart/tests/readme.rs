//! The README's library example is `examples/quickstart.rs`, verbatim: the example is
//! compiled (and clippy-checked) with the crate, and this test fails when the two drift.
//! `.ci/readme.sh` runs it against a real `serve --dev`.

#[test]
fn the_readme_library_example_is_examples_quickstart_verbatim() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("../../README.md")).unwrap();
    let example = std::fs::read_to_string(root.join("examples/quickstart.rs")).unwrap();
    let block = format!("```rust,no_run\n{example}```\n");
    assert!(
        readme.contains(&block),
        "README.md must show crates/rampart/examples/quickstart.rs unchanged in a ```rust,no_run block"
    );
}
