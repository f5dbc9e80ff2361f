//! Request bodies of the account forms. The Inertia client sends nested JSON
//! (`{"account":{"name":…}}`); plain HTML forms send `account[name]=…`. Both are accepted.

use serde::Deserialize;

/// `account[name]`.
#[derive(Debug, Default, Deserialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    account: Option<AccountFields>,
    #[serde(default, rename = "account[name]")]
    flat_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct AccountFields {
    #[serde(default)]
    name: Option<String>,
}

impl AccountForm {
    pub(super) fn name(&self) -> &str {
        self.account
            .as_ref()
            .and_then(|a| a.name.as_deref())
            .or(self.flat_name.as_deref())
            .unwrap_or_default()
    }
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
