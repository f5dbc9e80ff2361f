//! A checker's verdict: one row per class with its count, whether the promise allows it,
//! and a few examples of each forbidden class, printed as a table.

use std::fmt;

/// One class of outcomes.
#[derive(Debug)]
pub struct Row {
    /// What the class means.
    pub class: &'static str,
    /// How many outcomes fell into it.
    pub count: usize,
    /// Whether the promise allows it.
    pub allowed: bool,
    /// Up to [`EXAMPLES`] of its outcomes, described.
    pub examples: Vec<String>,
}

/// Examples kept per class.
const EXAMPLES: usize = 5;

/// The rows of one checker.
#[derive(Debug)]
pub struct Verdict {
    title: &'static str,
    rows: Vec<Row>,
}

impl Verdict {
    /// A verdict whose rows are `classes` (name, allowed), all at zero.
    pub fn new(title: &'static str, classes: &[(&'static str, bool)]) -> Verdict {
        let rows = classes
            .iter()
            .map(|&(class, allowed)| Row {
                class,
                count: 0,
                allowed,
                examples: Vec::new(),
            })
            .collect();
        Verdict { title, rows }
    }

    /// Counts one outcome of `class`, described by `example`.
    pub fn add(&mut self, class: &str, example: impl FnOnce() -> String) {
        let Some(row) = self.rows.iter_mut().find(|r| r.class == class) else {
            panic!("{}: no class {class:?}", self.title);
        };
        row.count += 1;
        if !row.allowed && row.examples.len() < EXAMPLES {
            row.examples.push(example());
        }
    }

    /// The count of `class`.
    pub fn count(&self, class: &str) -> usize {
        self.rows
            .iter()
            .find(|r| r.class == class)
            .map_or(0, |r| r.count)
    }

    /// The forbidden classes that occurred.
    pub fn failures(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| !r.allowed && r.count > 0)
            .collect()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.rows.iter().map(|r| r.class.len()).max().unwrap_or(0);
        writeln!(f, "{}", self.title)?;
        writeln!(f, "  {:<width$}  {:>7}  verdict", "class", "count")?;
        for r in &self.rows {
            let verdict = match (r.allowed, r.count) {
                (true, _) => "allowed",
                (false, 0) => "forbidden, none",
                (false, _) => "FORBIDDEN",
            };
            writeln!(f, "  {:<width$}  {:>7}  {verdict}", r.class, r.count)?;
            for e in &r.examples {
                writeln!(f, "  {:<width$}           e.g. {e}", "")?;
            }
        }
        Ok(())
    }
}
