//! Request bodies of the account forms, read by [`Input`](crate::web::input::Input) from
//! nested JSON (`{"account":{"name":…,"lock_version":3}}`, what the Inertia client sends)
//! or from a form (`account[name]=…&account[lock_version]=3`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::app;

/// `account[name]`, `account[lock_version]`.
#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
pub(in crate::web) struct AccountForm {
    #[serde(default)]
    account: AccountFields,
}

#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
struct AccountFields {
    #[serde(default)]
    name: Option<String>,
    /// A JSON number, or text (forms; also accepted in JSON).
    #[serde(default)]
    lock_version: Option<Value>,
}

impl AccountForm {
    pub(super) fn name(&self) -> &str {
        self.account.name.as_deref().unwrap_or_default()
    }

    /// The version of the account the form was filled from; `None` when not sent (or
    /// JSON `null`, or an empty form field).
    ///
    /// # Errors
    /// [`app::Error::Invalid`] on `lock_version` when it is not a whole number.
    pub(super) fn lock_version(&self) -> app::Result<Option<i64>> {
        let parsed = match &self.account.lock_version {
            None | Some(Value::Null) => Some(None),
            Some(Value::Number(n)) => n.as_i64().map(Some),
            Some(Value::String(s)) if s.trim().is_empty() => Some(None),
            Some(Value::String(s)) => s.trim().parse().ok().map(Some),
            Some(_) => None,
        };
        parsed.ok_or_else(|| app::Error::invalid("lock_version", "must be a whole number"))
    }
}

/// `member[email_address]`, `member[role]`.
#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
pub(in crate::web) struct MemberForm {
    #[serde(default)]
    member: MemberFields,
}

#[derive(Debug, Default, PartialEq, Deserialize, Serialize)]
struct MemberFields {
    #[serde(default)]
    email_address: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

impl MemberForm {
    pub(super) fn email_address(&self) -> &str {
        self.member.email_address.as_deref().unwrap_or_default()
    }

    /// The role, `member` when none is given.
    pub(super) fn role(&self) -> &str {
        self.member.role.as_deref().unwrap_or("member")
    }
}
