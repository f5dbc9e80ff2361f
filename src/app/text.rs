//! Checks shared by the one-line text fields people type (todo titles, user and account
//! names, email addresses): control characters are refused with a validation message,
//! because they cannot be shown, and SQLite's `length()` stops at a NUL, so a stored value
//! would disagree with the length checked here.

use super::error::{Error, Result};

/// Refuses `value` for `field` when it holds a control character (NUL, tab, newline, DEL, the
/// C1 range, ...).
///
/// # Errors
/// [`Error::Invalid`] on `field`, naming the first control character found.
pub fn reject_control(field: &'static str, value: &str) -> Result<()> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(Error::invalid(
            field,
            format!(
                "must not contain control characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_refused_and_text_passes() {
        for bad in ["\u{0}abc", "a\tb", "line\nbreak", "del\u{7f}", "c1\u{85}"] {
            assert!(reject_control("title", bad).is_err(), "{bad:?}");
        }
        for good in ["abc", "Grüße, 世界 🎉", ""] {
            assert!(reject_control("title", good).is_ok(), "{good:?}");
        }
    }
}
