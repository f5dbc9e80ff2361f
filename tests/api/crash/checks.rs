//! Unit tests of the checkers on hand-written ledgers.
