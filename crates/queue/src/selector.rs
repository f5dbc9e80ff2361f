//! A worker's queue list: names, `prefix*` wildcards or `*`, polled in strict order.

/// One entry of a queue list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pattern {
    /// `*`: every queue.
    All,
    /// `prefix*`: every queue starting with the prefix.
    Prefix(String),
    /// One queue.
    Exact(String),
}

/// An ordered queue list. A bare `*` anywhere means every queue, as in Solid Queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSelector {
    patterns: Vec<Pattern>,
}

impl QueueSelector {
    /// Parses entries such as `["critical", "mail*", "default"]`. Blank entries are skipped;
    /// a `*` that is not trailing is taken literally (Solid Queue ignores such entries).
    pub fn new<S: AsRef<str>>(entries: &[S]) -> Self {
        let patterns = entries
            .iter()
            .map(|e| e.as_ref().trim())
            .filter(|e| !e.is_empty())
            .map(|e| {
                if e == "*" {
                    Pattern::All
                } else if let Some(prefix) = e.strip_suffix('*') {
                    Pattern::Prefix(prefix.to_owned())
                } else {
                    Pattern::Exact(e.to_owned())
                }
            })
            .collect::<Vec<_>>();
        if patterns.is_empty() {
            return Self::all();
        }
        Self { patterns }
    }

    /// Every queue.
    pub fn all() -> Self {
        Self {
            patterns: vec![Pattern::All],
        }
    }

    /// True when queue `name` is in the list.
    pub fn matches(&self, name: &str) -> bool {
        self.patterns.iter().any(|p| match p {
            Pattern::All => true,
            Pattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
            Pattern::Exact(exact) => exact == name,
        })
    }

    /// True when any entry is `*`.
    pub fn is_all(&self) -> bool {
        self.patterns.contains(&Pattern::All)
    }

    /// The entries in order.
    pub fn patterns(&self) -> &[Pattern] {
        &self.patterns
    }

    /// The list as written, comma-separated.
    pub fn describe(&self) -> String {
        self.patterns
            .iter()
            .map(|p| match p {
                Pattern::All => "*".to_owned(),
                Pattern::Prefix(p) => format!("{p}*"),
                Pattern::Exact(n) => n.clone(),
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}
