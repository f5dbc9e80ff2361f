//! The parsers of request bodies, for the fuzz targets (`fuzz/`); not an API. The body types
//! of the form and JSON endpoints stay private to their handlers: [`each_form`] hands each
//! one to a [`FormCheck`].

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use super::input::parse_form;

/// A check run once per body type.
pub trait FormCheck {
    /// Checks the body type `T` of the endpoints named `name`.
    fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(&mut self, name: &'static str);
}

/// Runs `check` on the body type of every form and JSON endpoint.
pub fn each_form(check: &mut impl FormCheck) {
    check.check::<super::sessions::Credentials>("credentials");
    check.check::<super::sessions::Registration>("registration");
    check.check::<super::todos::TodoForm>("todo");
    check.check::<super::accounts::AccountForm>("account");
    check.check::<super::accounts::MemberForm>("member");
}
