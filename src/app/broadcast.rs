//! Broadcastable: each model declares, once, where its changes are announced, and the app
//! turns every committed change into "sync markers" — `{"action":"refresh"|"remove",
//! "prop":...}` — on streams named `Model:<sqid>` / `Model:all`. Markers carry no data; a
//! subscriber reloads the named prop through the normal, authorized page request.

use serde_json::{Value, json};

/// Where a model's changes go.
#[derive(Clone, Copy, Debug)]
pub enum Target {
    /// To the record's own stream (`Model:<id>`, prop `single`) and to the collection
    /// stream `Model:all` (prop `collection`), as `broadcasts_to all`.
    All {
        /// Prop a page showing one record reloads.
        single: &'static str,
        /// Prop a page showing the collection reloads.
        collection: &'static str,
    },
    /// To the parent record's stream (`Parent:<parent id>`), as `broadcasts_to parent:`.
    Parent {
        /// The parent model's name.
        model: &'static str,
        /// Prop the parent's page reloads.
        prop: &'static str,
    },
}

/// A model's broadcasting declaration.
#[derive(Clone, Copy, Debug)]
pub struct Declaration {
    /// Model name, as in stream names and SyncChannel identifiers.
    pub model: &'static str,
    /// Where changes go.
    pub targets: &'static [Target],
}

/// Account: `broadcasts_to all`, refresh props `account` and `accounts`.
pub const ACCOUNT: Declaration = Declaration {
    model: "Account",
    targets: &[Target::All {
        single: "account",
        collection: "accounts",
    }],
};

/// AccountUser: `broadcasts_to parent: account`, refresh prop `account`.
pub const ACCOUNT_USER: Declaration = Declaration {
    model: "AccountUser",
    targets: &[Target::Parent {
        model: "Account",
        prop: "account",
    }],
};

/// The model name of a user's own stream, `User:<sqid>`: changes that concern one user
/// (a membership made or ended for them) refresh their prop `accounts` there.
pub const USER_MODEL: &str = "User";

/// The model name of the operations dashboard's streams (`Admin:jobs`, `Admin:cache`,
/// `Admin:cable`): markers that its figures changed, readable by site admins only.
pub const ADMIN_MODEL: &str = "Admin";

/// The dashboard's topics, the ids of its `Admin:<topic>` streams.
pub const ADMIN_TOPICS: [&str; 3] = ["jobs", "cache", "cable"];

/// What happened to a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Created.
    Created,
    /// Updated.
    Updated,
    /// Destroyed.
    Destroyed,
}

/// The stream name of one record of `model`.
pub fn stream(model: &str, public_id: &str) -> String {
    format!("{model}:{public_id}")
}

/// The markers one committed change produces: `(stream, marker)` pairs. `public_id` is the
/// record's sqid; `parent_ids` gives the sqid of each `Parent` target's record, by model.
pub fn markers(
    decl: &Declaration,
    change: Change,
    public_id: &str,
    parent_id: impl Fn(&str) -> Option<String>,
) -> Vec<(String, Value)> {
    let action = if change == Change::Destroyed {
        "remove"
    } else {
        "refresh"
    };
    let mut out = Vec::new();
    for target in decl.targets {
        match *target {
            Target::All { single, collection } => {
                out.push((
                    stream(decl.model, public_id),
                    json!({"action": action, "prop": single}),
                ));
                out.push((
                    stream(decl.model, "all"),
                    json!({"action": action, "prop": collection}),
                ));
            }
            Target::Parent { model, prop } => {
                if let Some(parent) = parent_id(model) {
                    // The parent still exists and changed: refresh it, whatever happened here.
                    out.push((
                        stream(model, &parent),
                        json!({"action": "refresh", "prop": prop}),
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_updates_go_to_self_and_all() {
        let m = markers(&ACCOUNT, Change::Updated, "abc", |_| None);
        assert_eq!(
            m,
            vec![
                (
                    "Account:abc".to_owned(),
                    json!({"action": "refresh", "prop": "account"})
                ),
                (
                    "Account:all".to_owned(),
                    json!({"action": "refresh", "prop": "accounts"})
                ),
            ]
        );
    }

    #[test]
    fn account_destroy_removes_from_self_and_all() {
        let m = markers(&ACCOUNT, Change::Destroyed, "abc", |_| None);
        assert!(m.iter().all(|(_, v)| v["action"] == "remove"));
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn member_changes_refresh_the_parent_account() {
        for change in [Change::Created, Change::Updated, Change::Destroyed] {
            let m = markers(&ACCOUNT_USER, change, "mem", |model| {
                (model == "Account").then(|| "acc".to_owned())
            });
            assert_eq!(
                m,
                vec![(
                    "Account:acc".to_owned(),
                    json!({"action": "refresh", "prop": "account"})
                )]
            );
        }
    }
}
