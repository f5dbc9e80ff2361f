//! Replays the committed corpus of every fuzz target (`fuzz/corpus/<target>/`) and the
//! inputs of past findings (`fuzz/regressions/<target>/`) through the targets' checks, on
//! stable and in seconds: `make test-fuzz`.

use std::path::Path;

#[test]
fn every_corpus_input_passes_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (name, check) in trifecta_fuzz::TARGETS {
        let mut replayed = 0;
        for dir in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.expect("a directory entry").path();
                let input = std::fs::read(&path).expect("a corpus file");
                let outcome = std::panic::catch_unwind(|| check(&input));
                assert!(outcome.is_ok(), "{name}: {} fails", path.display());
                replayed += 1;
            }
        }
        assert!(replayed > 0, "{name} has no committed corpus");
        eprintln!("{name}: {replayed} inputs");
    }
}
