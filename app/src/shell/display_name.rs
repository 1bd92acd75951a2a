//! The name a user shows to other people, and the rules a typed name must pass.

use std::fmt;

/// Longest accepted display name, in Unicode scalar values.
///
/// Why 64: long enough for any real name or nickname in any script, short enough to fit one
/// sidebar line and to keep a profile page far below the page size cap.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

// Any name the welcome screen accepts fits the pages that carry it (4 bytes per character at
// most), so a long name in any script never makes a page every peer discards.
const _: () = assert!(
    MAX_DISPLAY_NAME_CHARS * char::MAX.len_utf8() <= quire_core::page::body::MAX_NAME_BYTES
);

/// Why a typed display name was refused. The messages are shown to the user as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DisplayNameError {
    /// Nothing but whitespace was typed.
    #[error("Please enter a name.")]
    Empty,
    /// More than [`MAX_DISPLAY_NAME_CHARS`] characters after trimming.
    #[error("Please use at most {MAX_DISPLAY_NAME_CHARS} characters.")]
    TooLong,
    /// Control characters (newlines, escapes, bidi overrides) would let a name break the layout
    /// of other people's screens or impersonate someone by reordering text.
    #[error("A name can't contain control characters.")]
    ControlCharacter,
}

/// A validated display name: trimmed, whitespace runs collapsed to one space, no control
/// characters, 1..=[`MAX_DISPLAY_NAME_CHARS`] characters.
///
/// Display names are not unique and not an identity: peers are identified by their key, and the
/// UI shows the name next to the key-derived avatar colour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Normalises and checks what the user typed.
    pub fn parse(raw: &str) -> Result<Self, DisplayNameError> {
        if raw.chars().any(is_forbidden) {
            return Err(DisplayNameError::ControlCharacter);
        }
        let normalised = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if normalised.is_empty() {
            return Err(DisplayNameError::Empty);
        }
        if normalised.chars().count() > MAX_DISPLAY_NAME_CHARS {
            return Err(DisplayNameError::TooLong);
        }
        Ok(Self(normalised))
    }

    /// The name as it is shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Up to two letters for an avatar: the first letter of the first two words, upper-cased.
    pub fn initials(&self) -> String {
        self.0
            .split(' ')
            .filter_map(|word| word.chars().next())
            .take(2)
            .flat_map(char::to_uppercase)
            .collect()
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Control characters, plus the invisible bidirectional-formatting characters (U+202A..U+202E,
/// U+2066..U+2069) that can make a name render as something else.
fn is_forbidden(c: char) -> bool {
    // Tabs and newlines count as whitespace to collapse, not as an error: pasted names often
    // carry a trailing newline.
    let collapsible = matches!(c, '\t' | '\n' | '\r');
    (c.is_control() && !collapsible)
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn trims_and_collapses_whitespace() {
        let name = DisplayName::parse("  Ada \t  Lovelace\n").map(|n| n.to_string());
        assert_eq!(name, Ok("Ada Lovelace".to_owned()));
    }

    #[wasm_bindgen_test]
    fn refuses_blank_names() {
        assert_eq!(DisplayName::parse(" \n "), Err(DisplayNameError::Empty));
    }

    #[wasm_bindgen_test]
    fn counts_characters_not_bytes() {
        let longest = "é".repeat(MAX_DISPLAY_NAME_CHARS);
        assert!(DisplayName::parse(&longest).is_ok());
        let too_long = "é".repeat(MAX_DISPLAY_NAME_CHARS + 1);
        assert_eq!(
            DisplayName::parse(&too_long),
            Err(DisplayNameError::TooLong)
        );
    }

    #[wasm_bindgen_test]
    fn the_longest_name_in_any_script_fits_a_page() {
        for one in ["山", "😀", "é", "a"] {
            let name = DisplayName::parse(&one.repeat(MAX_DISPLAY_NAME_CHARS));
            assert!(name.is_ok_and(|n| n.as_str().len() <= quire_core::page::body::MAX_NAME_BYTES));
        }
    }

    #[wasm_bindgen_test]
    fn refuses_bidi_overrides_and_escapes() {
        assert_eq!(
            DisplayName::parse("evil\u{202E}gnp.exe"),
            Err(DisplayNameError::ControlCharacter)
        );
        assert_eq!(
            DisplayName::parse("bell\u{7}"),
            Err(DisplayNameError::ControlCharacter)
        );
    }

    #[wasm_bindgen_test]
    fn initials_take_first_letters_of_two_words() {
        let initials = |s: &str| DisplayName::parse(s).map(|n| n.initials());
        assert_eq!(initials("ada lovelace byron"), Ok("AL".to_owned()));
        assert_eq!(initials("Ωmega"), Ok("Ω".to_owned()));
    }
}
