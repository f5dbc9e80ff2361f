//! The store seam of the domain: its tables in an SQLite file (`sqlite`) or on a PostgreSQL
//! server (`postgres`). [`Store`] is what the domain modules call; each of its methods is one
//! of the domain's transactions (a todo changed with its board version, a user inserted with
//! their account, a password set and the sessions ended, ...) run on one backend, and the
//! domain above it is the same code on both.
//!
//! The domain keeps validation, authorization and who is told; the few decisions that must
//! sit inside a transaction (a missing row, the first user's admin flag, a taken email)
//! live here, once, and both backends call them. Snapshots: SQLite reads a page or a batch
//! in one transaction, PostgreSQL in one `REPEATABLE READ` read-only transaction. Writers of
//! the board take the next version by updating its one row, which stays locked until they
//! commit, so versions commit in the order they are handed out on both.

mod accounts;
mod board;
mod people;
mod postgres;
mod sqlite;

#[cfg(test)]
mod tests;

use trifecta_store::Backend;

pub(super) use people::NewRow;

use super::error::{Error, Result};
use super::todo_versions::TodoCounts;
use super::todos::Todo;

/// The domain's store: its transactions on whichever [`Backend`] it is. Cheap to clone.
#[derive(Clone, Debug)]
pub(super) struct Store(Backend);

impl Store {
    /// The store on `backend`, migrated already.
    pub(super) fn new(backend: Backend) -> Self {
        Self(backend)
    }

    /// Where the store lives.
    pub(super) fn backend(&self) -> &Backend {
        &self.0
    }
}

/// The board's row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Board {
    /// The version of the latest change.
    pub version: i64,
    /// The version the last broadcast reached.
    pub broadcast_version: i64,
    /// Counts at `version`.
    pub counts: TodoCounts,
}

impl Board {
    /// The version the next broadcast starts from, or `None` when everything was sent.
    fn unsent_since(&self) -> Option<i64> {
        (self.version > self.broadcast_version).then_some(self.broadcast_version)
    }
}

/// What changed since the last broadcast, read in one snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Pending {
    /// The board at that snapshot.
    pub board: Board,
    /// The version the changes start from.
    pub since: i64,
    /// The latest state of each changed todo in version order (`None`: deleted), or `None`
    /// when there were more than the caller's limit.
    pub changes: Option<Vec<(i64, Option<Todo>)>>,
}

/// How an attempt to add a member ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Addition {
    /// Added: the membership's id and the member's user id.
    Added {
        /// The membership.
        id: i64,
        /// The member.
        member: i64,
    },
    /// The account is a personal one.
    Personal,
    /// No user has that email.
    NoSuchUser,
    /// The user is a member already.
    AlreadyMember,
}

/// How a rename ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Rename {
    /// Renamed; the version was bumped.
    Done,
    /// The account is gone.
    Gone,
    /// Refused: the account is at another version; its current name.
    Lost(String),
}

/// `Error::NotFound` for a row that is not there.
fn found<T>(row: Option<T>) -> Result<T> {
    row.ok_or(Error::NotFound)
}

/// The refusal of a second user with one email: the SQLite arm finds the row first (its
/// writers take turns), the PostgreSQL arm gets it from the unique index.
fn email_taken() -> Error {
    Error::invalid("email_address", "has already been taken")
}

/// Whether a new user is site admin: the first user ever is, and so is one created with
/// `--admin`. `others` is whether any other user exists.
fn site_admin(others: bool, forced: bool) -> bool {
    !others || forced
}

/// The name of the personal account of a new user.
fn personal_account_name(name: &str, email: &str) -> String {
    let display = if name.is_empty() { email } else { name };
    format!("{display}'s account")
}
