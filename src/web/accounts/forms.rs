//! Request bodies of the account forms. The Inertia client sends nested JSON
//! (`{"account":{"name":…,"lock_version":3}}`); plain HTML forms send `account[name]=…`
//! and `account[lock_version]=3`. Both are accepted.

use serde::Deserialize;
use serde_json::Value;

/// `account[name]`, `account[lock_version]`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    account: Option<AccountFields>,
    #[serde(default, rename = "account[name]")]
    flat_name: Option<String>,
    #[serde(default, rename = "account[lock_version]")]
    flat_lock_version: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AccountFields {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    lock_version: Option<Value>,
}

/// A `lock_version` that is neither absent nor a whole number.
#[derive(Debug)]
pub(super) struct BadVersion;

impl AccountForm {
    pub(super) fn name(&self) -> &str {
        self.account
            .as_ref()
            .and_then(|a| a.name.as_deref())
            .or(self.flat_name.as_deref())
            .unwrap_or_default()
    }

    /// The version of the account the form was filled from; `None` when not sent (or
    /// JSON `null`, or an empty form field).
    pub(super) fn lock_version(&self) -> Result<Option<i64>, BadVersion> {
        let nested = self.account.as_ref().and_then(|a| a.lock_version.as_ref());
        match (nested, self.flat_lock_version.as_deref()) {
            (Some(Value::Number(n)), _) => n.as_i64().map(Some).ok_or(BadVersion),
            (Some(Value::String(s)), _) => parse_version(s),
            (None, Some(s)) => parse_version(s),
            (Some(Value::Null) | None, None) => Ok(None),
            (Some(_), _) => Err(BadVersion),
        }
    }
}

fn parse_version(s: &str) -> Result<Option<i64>, BadVersion> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse().map(Some).map_err(|_| BadVersion)
}

/// `member[email_address]`, `member[role]`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct MemberForm {
    #[serde(default)]
    member: Option<MemberFields>,
    #[serde(default, rename = "member[email_address]")]
    flat_email: Option<String>,
    #[serde(default, rename = "member[role]")]
    flat_role: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct MemberFields {
    #[serde(default)]
    email_address: Option<String>,
    #[serde(default)]
    role: Option<String>,
}

impl MemberForm {
    pub(super) fn email_address(&self) -> &str {
        self.member
            .as_ref()
            .and_then(|m| m.email_address.as_deref())
            .or(self.flat_email.as_deref())
            .unwrap_or_default()
    }

    /// The role, `member` when none is given.
    pub(super) fn role(&self) -> &str {
        self.member
            .as_ref()
            .and_then(|m| m.role.as_deref())
            .or(self.flat_role.as_deref())
            .unwrap_or("member")
    }
}
