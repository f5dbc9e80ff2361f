//! [`Props`]: the props of one page, eager or lazy, and how a request selects them
//! (`docs/protocols.md` §3.6).

use std::collections::BTreeMap;
use std::future::Future;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde_json::{Map, Value};

use super::filter::{prune, top_level_excluded, top_level_wanted};
use super::{Error, InertiaRequest, Result};

type Lazy = Box<dyn FnOnce() -> BoxFuture<'static, Result<Value, String>> + Send>;

enum Prop {
    /// Evaluated already; sent unless a partial reload filters it out.
    Eager(Result<Value, String>),
    /// Sent on every response, partial reloads included.
    Always(Result<Value, String>),
    /// Evaluated only when a partial reload asks for it by name.
    Optional(Lazy),
    /// Left out of the first response, listed under its group, loaded by the client after.
    Deferred { group: String, lazy: Lazy },
    /// Like `Eager`, and listed in `mergeProps` so the client appends on partial reloads.
    Merge(Result<Value, String>),
}

/// The props of a page, in insertion order. Later keys replace earlier ones.
#[derive(Default)]
pub struct Props {
    entries: Vec<(String, Prop)>,
}

impl std::fmt::Debug for Props {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|(k, _)| k))
            .finish()
    }
}

/// What [`Props::resolve`] produced for one response.
#[derive(Debug, Default)]
pub(super) struct Resolved {
    pub props: Map<String, Value>,
    pub deferred: BTreeMap<String, Vec<String>>,
    pub merge: Vec<String>,
}

fn to_value(value: impl Serialize) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|e| e.to_string())
}

fn lazy<F, Fut, T, E>(f: F) -> Lazy
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, E>> + Send + 'static,
    T: Serialize,
    E: std::fmt::Display,
{
    Box::new(move || {
        f().map(|r| r.map_err(|e| e.to_string()).and_then(to_value))
            .boxed()
    })
}

impl Props {
    /// No props.
    pub fn new() -> Self {
        Self::default()
    }

    fn push(mut self, key: impl Into<String>, prop: Prop) -> Self {
        let key = key.into();
        self.entries.retain(|(k, _)| *k != key);
        self.entries.push((key, prop));
        self
    }

    /// An eager prop.
    #[must_use]
    pub fn prop(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.push(key, Prop::Eager(to_value(value)))
    }

    /// A prop sent even on partial reloads that did not ask for it.
    #[must_use]
    pub fn always(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.push(key, Prop::Always(to_value(value)))
    }

    /// A prop the client appends to its current value on partial reloads (`mergeProps`).
    #[must_use]
    pub fn merge(self, key: impl Into<String>, value: impl Serialize) -> Self {
        self.push(key, Prop::Merge(to_value(value)))
    }

    /// A prop evaluated only when a partial reload names it.
    #[must_use]
    pub fn optional<F, Fut, T, E>(self, key: impl Into<String>, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: std::fmt::Display,
    {
        self.push(key, Prop::Optional(lazy(f)))
    }

    /// A prop left out of the first response and fetched by the client right after, together
    /// with the other deferred props of `group`.
    #[must_use]
    pub fn deferred<F, Fut, T, E>(self, key: impl Into<String>, group: &str, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        T: Serialize,
        E: std::fmt::Display,
    {
        self.push(
            key,
            Prop::Deferred {
                group: group.to_owned(),
                lazy: lazy(f),
            },
        )
    }

    /// Top-level keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// Props of `other` replace same-named props of `self`.
    #[must_use]
    pub fn extend(mut self, other: Props) -> Self {
        for (k, p) in other.entries {
            self = self.push(k, p);
        }
        self
    }

    /// Evaluates what `request` selects for `component`.
    pub(super) async fn resolve(
        self,
        request: &InertiaRequest,
        component: &str,
    ) -> Result<Resolved> {
        let partial = request.is_partial_for(component);
        let only = if partial {
            &request.partial_data[..]
        } else {
            &[]
        };
        let except = if partial {
            &request.partial_except[..]
        } else {
            &[]
        };
        let mut out = Resolved::default();
        for (key, prop) in self.entries {
            let named = top_level_wanted(&key, only);
            let selected = !top_level_excluded(&key, except) && (only.is_empty() || named);
            let value = match prop {
                Prop::Always(v) => Some(v),
                Prop::Eager(v) if !partial || selected => Some(v),
                Prop::Merge(v) if !partial || selected => {
                    if !request.reset.contains(&key) {
                        out.merge.push(key.clone());
                    }
                    Some(v)
                }
                Prop::Optional(f) if partial && selected && named => Some(f().await),
                Prop::Deferred { lazy, .. } if partial && selected && named => Some(lazy().await),
                Prop::Deferred { group, .. } if !partial => {
                    out.deferred.entry(group).or_default().push(key.clone());
                    None
                }
                _ => None,
            };
            let Some(value) = value else { continue };
            let mut value = value.map_err(|message| Error::Prop {
                key: key.clone(),
                message,
            })?;
            if partial {
                prune(&key, &mut value, only, except);
            }
            out.props.insert(key, value);
        }
        Ok(out)
    }
}
