//! [`WakeMode`]: how the pollers of the engines built on a store learn of new rows.

use std::fmt;
use std::str::FromStr;

/// How pollers learn about new rows written by this process.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WakeMode {
    /// A local write wakes the local poller at once; the poll still catches other processes.
    #[default]
    Instant,
    /// Pure polling, as Solid Queue and Solid Cable do (for measuring it).
    Poll,
}

impl WakeMode {
    /// Every mode, by its name.
    pub const NAMES: [&'static str; 2] = ["instant", "poll"];

    /// The mode's name, as [`FromStr`] reads it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Instant => "instant",
            Self::Poll => "poll",
        }
    }
}

impl fmt::Display for WakeMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`WakeMode`].
#[derive(Debug, thiserror::Error)]
#[error("unknown wake mode {0:?}: use instant or poll")]
pub struct UnknownWakeMode(String);

impl FromStr for WakeMode {
    type Err = UnknownWakeMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "instant" => Ok(Self::Instant),
            "poll" => Ok(Self::Poll),
            other => Err(UnknownWakeMode(other.to_owned())),
        }
    }
}
