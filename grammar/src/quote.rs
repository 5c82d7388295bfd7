//! Outside input cut to a bounded length before an error message quotes it.

/// The most characters of an input that an error keeps and quotes: a hostile module may pass
/// megabytes, and an error message should stay one readable line.
pub const QUOTED_CHARS: usize = 64;

/// `text` cut to [`QUOTED_CHARS`] characters, with `…` when something was cut off.
pub(crate) fn capped(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_inputs_are_cut_at_a_character_boundary() {
        assert_eq!(capped("short"), "short");
        let exact = "a".repeat(QUOTED_CHARS);
        assert_eq!(capped(&exact), exact);
        let long = "é".repeat(1 << 20);
        let cut = capped(&long);
        assert_eq!(cut.chars().count(), QUOTED_CHARS + 1);
        assert!(cut.ends_with('…'));
    }
}
