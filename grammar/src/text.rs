//! Which characters may not reach a terminal raw: controls, Unicode's format characters and the line and paragraph separators.

/// Whether `c` can steer a terminal or hide text: control characters (C0, DEL, C1), Unicode's
/// format characters (general category Cf: bidi controls, zero-width characters, the BOM, soft
/// hyphen, tag characters, ...) and U+2028/U+2029.
pub const fn is_unsafe(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}' | '\u{2028}' | '\u{2029}') || is_format(c)
}

/// Unicode's format characters (general category Cf), which change how the text around them
/// is shown without showing themselves. U+2065 is unassigned and counted in.
const fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// The character starting at byte `i` of `s` (a valid UTF-8 string) and its length in bytes.
pub(crate) const fn char_at(s: &[u8], i: usize) -> (char, usize) {
    let b = s[i];
    let (len, mut code) = if b < 0x80 {
        (1, b as u32)
    } else if b >= 0xF0 {
        (4, (b & 0x07) as u32)
    } else if b >= 0xE0 {
        (3, (b & 0x0F) as u32)
    } else {
        (2, (b & 0x1F) as u32)
    };
    let mut k = 1;
    while k < len {
        code = (code << 6) | (s[i + k] & 0x3F) as u32;
        k += 1;
    }
    match char::from_u32(code) {
        Some(c) => (c, len),
        None => (char::REPLACEMENT_CHARACTER, len),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_format_characters_and_separators_are_unsafe() {
        for c in [
            '\0',
            '\x1b',
            '\n',
            '\x7f',
            '\u{9b}',
            '\u{ad}',
            '\u{61c}',
            '\u{200b}',
            '\u{202e}',
            '\u{2028}',
            '\u{2066}',
            '\u{feff}',
            '\u{e0041}',
        ] {
            assert!(is_unsafe(c), "U+{:04X}", c as u32);
        }
        for c in [
            ' ',
            'a',
            'é',
            '\u{a0}',
            '\u{2010}',
            '\u{1f600}',
            '\u{e0080}',
        ] {
            assert!(!is_unsafe(c), "U+{:04X}", c as u32);
        }
    }

    #[test]
    fn characters_decode_at_every_width() {
        let s = "aé€😀";
        let mut i = 0;
        let mut out = String::new();
        while i < s.len() {
            let (c, n) = char_at(s.as_bytes(), i);
            out.push(c);
            i += n;
        }
        assert_eq!(out, s);
    }
}
