//! Cross-implementation check: akashi-ld's canonical N-Quads equal PyPI
//! pyld's (URDNA2015) byte for byte, for every fixture in `fixtures/`
//! (regenerate the `.nq` files with `tests/tools/pyld_nquads.py`).

use std::path::Path;

#[tokio::test]
async fn canonical_nquads_equal_pylds() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let document: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let expected = std::fs::read_to_string(path.with_extension("nq")).unwrap();
        let ours = akashi_ld::canonicalize(&document)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(ours, expected, "{} differs from pyld", path.display());
        checked += 1;
    }
    assert!(checked >= 4, "the fixtures are there");
}
