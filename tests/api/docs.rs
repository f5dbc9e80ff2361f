//! The docs stay true to the repository: every path README.md and `docs/*.md` name exists
//! and every `#anchor` they link is a heading; they cite nothing a reader of the repository
//! cannot open; and every citation of the protocols page (in the docs and in code comments)
//! carries its path and names a section that page has.

use std::path::{Component, Path, PathBuf};

/// Folders whose paths the docs name as code (`src/app/board.rs`).
const TOP_FOLDERS: [&str; 10] = [
    "src/", "crates/", "sql/", "tests/", "bench/", "assets/", "docs/", "deploy/", "storage/",
    "fuzz/",
];

/// Files at the top of the repository that the docs name by themselves.
const TOP_FILES: [&str; 6] = [
    "Makefile",
    "Cargo.toml",
    "Cargo.lock",
    "README.md",
    "build.rs",
    "clippy.toml",
];

/// Characters that make a path a pattern (`sql/<db>/`, `tests/browser/*.test.mjs`).
const PATTERN_CHARS: [char; 7] = ['<', '>', '{', '}', '*', '[', ']'];

/// The page the code cites by section.
const PROTOCOLS: &str = "protocols.md";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `path` relative to the repository, for messages.
fn shown(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// README.md and every Markdown file under `docs/`, with their text.
fn doc_files() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md")];
    let docs = std::fs::read_dir(root().join("docs")).expect("a docs/ folder");
    let mut pages: Vec<PathBuf> = docs
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    pages.sort();
    paths.extend(pages);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("readable Markdown");
            (p, text)
        })
        .collect()
}

/// `text` without its fenced code blocks (shell sessions, config files, trees), which name
/// commands and files on a server rather than repository paths.
fn without_fences(text: &str) -> String {
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The inline code spans of `text` (may cross a line break, as Markdown allows).
fn code_spans(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The targets of the Markdown links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    text.match_indices("](")
        .filter_map(|(at, _)| {
            let rest = &text[at + 2..];
            rest.find(')').map(|end| rest[..end].trim().to_owned())
        })
        .collect()
}

/// The part of `path` before its first pattern component (`sql/<db>/V1.sql` → `sql`).
fn literal_prefix(path: &str) -> String {
    path.split('/')
        .take_while(|c| !c.contains(PATTERN_CHARS))
        .collect::<Vec<_>>()
        .join("/")
}

/// `base` joined with `relative`, `..` resolved; `None` when it leaves the repository.
fn resolve(base: &Path, relative: &str) -> Option<PathBuf> {
    let mut out = base.to_path_buf();
    for c in Path::new(relative).components() {
        match c {
            // Past the filesystem root: nothing in the repository.
            Component::ParentDir => out.pop().then_some(())?,
            Component::Normal(part) => out.push(part),
            _ => {}
        }
    }
    out.starts_with(root()).then_some(out)
}

/// The repository paths a doc names: code spans that look like a path (relative to the
/// root) and relative link targets (relative to the doc, as a Markdown viewer reads them).
fn named_paths(doc: &Path, text: &str) -> Vec<(String, Option<PathBuf>)> {
    let text = without_fences(text);
    let mut named = Vec::new();
    for span in code_spans(&text) {
        if span.contains(' ') {
            continue;
        }
        let path = span.trim_end_matches(':');
        let is_path = TOP_FOLDERS.iter().any(|f| path.starts_with(f)) || TOP_FILES.contains(&path);
        if !is_path {
            continue;
        }
        let literal = if path.contains(PATTERN_CHARS) {
            literal_prefix(path)
        } else {
            path.to_owned()
        };
        named.push((span.clone(), resolve(root(), &literal)));
    }
    let dir = doc.parent().unwrap_or(root());
    for target in link_targets(&text) {
        let target = target.split('#').next().unwrap_or_default();
        if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        named.push((target.to_owned(), resolve(dir, target)));
    }
    named
}

/// The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of the headings of Markdown `text` (outside code blocks).
fn anchors(text: &str) -> Vec<String> {
    without_fences(text)
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| slug(l.trim_start_matches('#')))
        .collect()
}

/// The `#anchor` links of a doc that point at no heading (in the doc itself, or in the
/// Markdown file the link names).
fn broken_anchors(doc: &Path, text: &str) -> Vec<String> {
    let dir = doc.parent().unwrap_or(root());
    link_targets(&without_fences(text))
        .into_iter()
        .filter(|t| !t.contains("://"))
        .filter_map(|target| {
            let (file, anchor) = target.split_once('#')?;
            let page = if file.is_empty() {
                text.to_owned()
            } else {
                std::fs::read_to_string(resolve(dir, file)?).ok()?
            };
            (!anchors(&page).contains(&anchor.to_owned())).then_some(target)
        })
        .collect()
}

#[test]
fn every_path_the_docs_name_exists() {
    let mut checked = 0;
    let mut missing = Vec::new();
    for (doc, text) in doc_files() {
        let name = shown(&doc);
        for (written, path) in named_paths(&doc, &text) {
            checked += 1;
            if !path.as_deref().is_some_and(Path::exists) {
                missing.push(format!("{name}: {written}"));
            }
        }
        for target in broken_anchors(&doc, &text) {
            missing.push(format!("{name}: {target} (no such heading)"));
        }
    }
    // A scanner that finds nothing would pass anything.
    assert!(checked > 100, "only {checked} paths found in the docs");
    assert!(
        missing.is_empty(),
        "paths named in the docs that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_docs_cite_nothing_a_reader_cannot_open() {
    let mut found = Vec::new();
    for (doc, text) in doc_files() {
        let name = shown(&doc);
        let lower = text.to_lowercase();
        for (n, line) in lower.lines().enumerate() {
            let at = format!("{name}:{}", n + 1);
            // Notes kept outside the repository, and the design documents this project
            // started from, which a reader does not have.
            for phrase in ["shared/docs", "the seed", "seed's", "the gem", "gem's"] {
                if line.contains(phrase) {
                    found.push(format!("{at}: {phrase:?}"));
                }
            }
            if mentions_an_issue_number(line) {
                found.push(format!("{at}: an issue number"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "unopenable references:\n{}",
        found.join("\n")
    );
}

/// `issue 16`, `issues #3, #4`: a tracker the repository does not carry.
fn mentions_an_issue_number(line: &str) -> bool {
    line.match_indices("issue").any(|(at, _)| {
        let rest = line[at + "issue".len()..].trim_start_matches('s');
        let rest = rest.trim_start().trim_start_matches('#');
        rest.starts_with(|c: char| c.is_ascii_digit())
    })
}

/// Section numbers of the protocols page's headings (`## 1. ActionCable` → `1`,
/// `### 1.7 Edge cases` → `1.7`).
fn protocol_sections() -> Vec<String> {
    let page = std::fs::read_to_string(root().join("docs").join(PROTOCOLS))
        .expect("docs/protocols.md exists");
    page.lines()
        .filter_map(|l| l.strip_prefix("## ").or_else(|| l.strip_prefix("### ")))
        .filter_map(|h| {
            let number = h.split_whitespace().next()?.trim_end_matches('.');
            number
                .starts_with(|c: char| c.is_ascii_digit())
                .then(|| number.to_owned())
        })
        .collect()
}

/// Every `§N.M` that follows a citation of the protocols page at `at` in `text`
/// (`` `docs/protocols.md` §3.4, §3.5 `` gives `3.4` and `3.5`).
fn cited_sections(text: &str, at: usize) -> Vec<String> {
    let mut rest = text[at + PROTOCOLS.len()..]
        .trim_start_matches(['`', ')'])
        .trim_start();
    let mut sections = Vec::new();
    while let Some(after) = rest.strip_prefix('§') {
        let number: String = after
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        // `§N` in prose about citations is a placeholder, not a citation.
        if !number.is_empty() {
            sections.push(number.trim_end_matches('.').to_owned());
        }
        rest = after[number.len()..].trim_start_matches([',', ' ']);
    }
    sections
}

/// Files whose comments may cite the protocols page: sources, tests, benches and docs.
fn citing_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut dirs: Vec<PathBuf> = ["src", "crates", "tests", "bench", "docs"]
        .iter()
        .map(|d| root().join(d))
        .filter(|d| d.is_dir())
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a readable folder") {
            let path = entry.expect("a folder entry").path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if name != "node_modules" && name != "target" {
                    dirs.push(path);
                }
            } else if [".rs", ".js", ".mjs", ".jsx", ".md"]
                .iter()
                .any(|x| name.ends_with(x))
            {
                files.push(path);
            }
        }
    }
    files
}

#[test]
fn protocol_citations_give_the_path_and_a_section_that_exists() {
    let sections = protocol_sections();
    assert!(sections.len() > 20, "sections found: {sections:?}");
    let this_file = root().join(file!().trim_start_matches("./"));
    let mut bad = Vec::new();
    let mut cited = 0;
    for file in citing_files() {
        if file == this_file || file.ends_with(Path::new("docs").join(PROTOCOLS)) {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable file");
        let name = shown(&file);
        // A page under docs/ may link it by its relative name (`[..](protocols.md)`).
        let in_docs = file.parent() == Some(&root().join("docs"));
        for (at, _) in text.match_indices(PROTOCOLS) {
            let line = text[..at].matches('\n').count() + 1;
            let linked = in_docs && (text[..at].ends_with('(') || text[..at].ends_with('['));
            if !text[..at].ends_with("docs/") && !linked {
                bad.push(format!(
                    "{name}:{line}: cites {PROTOCOLS} without its path docs/"
                ));
            }
            for section in cited_sections(&text, at) {
                cited += 1;
                if !sections.contains(&section) {
                    bad.push(format!("{name}:{line}: §{section} is not a section of it"));
                }
            }
        }
    }
    assert!(cited > 10, "only {cited} section citations found");
    assert!(bad.is_empty(), "bad citations:\n{}", bad.join("\n"));
}
