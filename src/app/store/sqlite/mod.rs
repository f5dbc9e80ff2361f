//! The domain's SQL on SQLite, one file per table or concern. Every function here takes a
//! rusqlite connection or transaction and runs on a blocking thread inside
//! `Db::call`/`Db::write`; each statement is a `const` next to the function that runs it, and
//! the row mapping sits beside it. The seam above ([`super::Store`]) chooses the transaction
//! these functions run in.

pub(super) mod accounts;
pub(super) mod members;
pub(super) mod sessions;
pub(super) mod todos;
pub(super) mod users;
pub(super) mod versions;

#[cfg(test)]
mod tests;
