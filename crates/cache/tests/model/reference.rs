//! The reference model of the cache: its rows in FIFO order with their expiry, the limits,
//! the clock, and what each step must return; and how steps are drawn and applied to it.

use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

/// Key names, each used in both namespaces.
pub const NAMES: [&str; 4] = ["k0", "k1", "k2", "k3"];
/// The second handle's namespace (the first has none).
pub const NAMESPACE: &str = "ns";

/// A key: a name in one of the two namespaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct K {
    pub name: usize,
    pub namespaced: bool,
}

impl K {
    /// The key as stored (namespace prefixed).
    pub fn stored(self) -> String {
        if self.namespaced {
            format!("{NAMESPACE}:{}", NAMES[self.name])
        } else {
            NAMES[self.name].to_owned()
        }
    }
}

/// One step of a test case.
#[derive(Clone, Debug)]
pub enum Step {
    Write {
        key: K,
        value: String,
        expires_in: Option<u64>,
        unless_exist: bool,
    },
    Read {
        key: K,
    },
    Delete {
        key: K,
    },
    Increment {
        key: K,
        amount: i64,
        expires_in: Option<u64>,
    },
    Advance {
        secs: u64,
    },
    Expire,
}

/// A row of the model.
#[derive(Clone, Debug)]
pub struct Row {
    pub key: K,
    /// The stored JSON.
    pub json: String,
    /// FIFO place: kept by overwrites.
    pub order: u64,
    pub created: u64,
    pub expires: Option<u64>,
}

impl Row {
    pub fn size(&self) -> u64 {
        (self.key.stored().len() + self.json.len() + 140) as u64
    }
}

/// The limits of one case.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: Option<u64>,
    pub max_size: Option<u64>,
    pub max_age: Option<u64>,
}

/// The model: rows in FIFO order, the clock, and what the last step should have returned.
#[derive(Clone, Debug)]
pub struct Model {
    pub limits: Limits,
    pub now: u64,
    pub next_order: u64,
    pub rows: Vec<Row>,
    /// What the last step returned, as the model says.
    pub answer: Answer,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    None,
    Written(bool),
    Read(Option<serde_json::Value>),
    Deleted(bool),
    Incremented(i64),
}

impl Model {
    pub fn row(&self, key: K) -> Option<usize> {
        self.rows.iter().position(|r| r.key == key)
    }

    pub fn live(&self, key: K) -> Option<&Row> {
        self.row(key)
            .map(|i| &self.rows[i])
            .filter(|r| r.expires.is_none_or(|e| e > self.now))
    }

    /// Writes `json` under `key`: an existing row (even expired) keeps its place.
    fn upsert(&mut self, key: K, json: String, expires: Option<u64>) {
        match self.row(key) {
            Some(i) => {
                self.rows[i].json = json;
                self.rows[i].expires = expires;
            }
            None => {
                self.rows.push(Row {
                    key,
                    json,
                    order: self.next_order,
                    created: self.now,
                    expires,
                });
                self.next_order += 1;
            }
        }
    }

    pub fn totals(&self) -> (u64, u64) {
        (
            self.rows.len() as u64,
            self.rows.iter().map(Row::size).sum(),
        )
    }

    /// The expiry pass: every stale row goes, and the oldest rows while over a limit.
    pub fn expire(&mut self) {
        let (entries, bytes) = self.totals();
        let over = |limit: Option<u64>, have: u64| {
            limit.map_or(0, |m| i128::from(have) - i128::from(m)).max(0)
        };
        let mut excess_entries = over(self.limits.max_entries, entries);
        let mut excess_bytes = over(self.limits.max_size, bytes);
        let now = self.now;
        let max_age = self.limits.max_age;
        self.rows.sort_by_key(|r| r.order);
        self.rows.retain(|r| {
            let stale = max_age.is_some_and(|age| r.created + age < now)
                || r.expires.is_some_and(|e| e <= now);
            let evict = stale || excess_entries > 0 || excess_bytes > 0;
            if evict {
                excess_entries -= 1;
                excess_bytes -= i128::from(r.size());
            }
            !evict
        });
    }
}

/// The integer a stored value counts as for `increment` (a JSON number or numeric string).
pub fn as_integer(json: &str) -> Option<i64> {
    match serde_json::from_str::<serde_json::Value>(json).ok()? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The model as a proptest state machine: it generates the steps and applies them.
pub struct CacheModel;

/// Any of the eight keys.
pub fn key() -> impl Strategy<Value = K> {
    (0..NAMES.len(), any::<bool>()).prop_map(|(name, namespaced)| K { name, namespaced })
}

impl ReferenceStateMachine for CacheModel {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        (
            proptest::option::of(1u64..6),
            proptest::option::of(400u64..1200),
            proptest::option::of(20u64..200),
        )
            .prop_map(|(max_entries, max_size, max_age)| Model {
                limits: Limits {
                    max_entries,
                    max_size,
                    max_age,
                },
                now: 0,
                next_order: 0,
                rows: Vec::new(),
                answer: Answer::None,
            })
            .boxed()
    }

    fn transitions(_: &Model) -> BoxedStrategy<Step> {
        let expires_in = proptest::option::of(1u64..30);
        prop_oneof![
            5 => (key(), "[a-z0-9 ]{0,40}", expires_in.clone(), any::<bool>()).prop_map(
                |(key, value, expires_in, unless_exist)| Step::Write {
                    key,
                    value,
                    expires_in,
                    unless_exist,
                }
            ),
            5 => key().prop_map(|key| Step::Read { key }),
            2 => key().prop_map(|key| Step::Delete { key }),
            2 => (key(), -5i64..5, expires_in).prop_map(|(key, amount, expires_in)| {
                Step::Increment {
                    key,
                    amount,
                    expires_in,
                }
            }),
            2 => (1u64..40).prop_map(|secs| Step::Advance { secs }),
            2 => Just(Step::Expire),
        ]
        .boxed()
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        let now = state.now;
        state.answer = match step {
            Step::Write {
                key,
                value,
                expires_in,
                unless_exist,
            } => {
                let write = !unless_exist || state.live(*key).is_none();
                if write {
                    let json = serde_json::Value::from(value.as_str()).to_string();
                    state.upsert(*key, json, expires_in.map(|d| now + d));
                }
                Answer::Written(write)
            }
            Step::Read { key } => Answer::Read(
                state
                    .live(*key)
                    .map(|r| serde_json::from_str(&r.json).expect("model JSON")),
            ),
            Step::Delete { key } => match state.row(*key) {
                Some(i) => {
                    state.rows.remove(i);
                    Answer::Deleted(true)
                }
                None => Answer::Deleted(false),
            },
            Step::Increment {
                key,
                amount,
                expires_in,
            } => {
                let kept = state
                    .live(*key)
                    .and_then(|r| as_integer(&r.json).map(|n| (n, r.expires)));
                let (base, expires) = kept.unwrap_or((0, expires_in.map(|d| now + d)));
                let next = base.saturating_add(*amount);
                state.upsert(*key, next.to_string(), expires);
                Answer::Incremented(next)
            }
            Step::Advance { secs } => {
                state.now += secs;
                Answer::None
            }
            Step::Expire => {
                state.expire();
                Answer::None
            }
        };
        state
    }
}
