//! The contract for guest text reaching a terminal: which characters may never appear in the host's output, and how long a line may be.

/// Bytes of one line: guest text is cut at 4 KiB; the host's prefix (`  info: `) and the cut
/// note (`[cut: ...]`) come on top, and this leaves them 512 bytes.
pub const LINE_BOUND: usize = 4096 + 512;

/// Whether `c` may not reach a terminal raw: C0 controls but `\n`, DEL, C1 controls, and the
/// bidi and format characters U+200B–U+200F, U+202A–U+202E, U+2060–U+2069, U+FEFF.
pub fn is_forbidden(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{9}' | '\u{b}'..='\u{1f}' | '\u{7f}' | '\u{80}'..='\u{9f}'
        | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

/// Every forbidden character of `text`, as `line N: U+XXXX` (empty when the text is clean).
pub fn forbidden(text: &str) -> Vec<String> {
    text.split('\n')
        .enumerate()
        .flat_map(|(i, line)| {
            line.chars()
                .filter(|c| is_forbidden(*c))
                .map(move |c| format!("line {}: U+{:04X}", i + 1, c as u32))
        })
        .collect()
}

/// The length in bytes of the longest line of `text`.
pub fn longest_line(text: &str) -> usize {
    text.split('\n').map(str::len).max().unwrap_or(0)
}

/// `text` without thousands separators (`100,000` and `100_000` read `100000`), to look for a
/// number however the host formats it.
pub fn without_digit_separators(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .iter()
        .enumerate()
        .filter(|&(i, c)| {
            let between_digits = i > 0
                && chars[i - 1].is_ascii_digit()
                && chars.get(i + 1).is_some_and(char::is_ascii_digit);
            !(between_digits && matches!(c, ',' | '_' | ' ' | '\u{202f}' | '\''))
        })
        .map(|(_, c)| *c)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_kind_of_forbidden_character() {
        for c in [
            '\u{1b}', '\r', '\0', '\u{7f}', '\u{9b}', '\u{202e}', '\u{200b}', '\u{2066}',
            '\u{feff}',
        ] {
            assert!(is_forbidden(c), "U+{:04X}", c as u32);
        }
        for c in ['\n', 'a', ' ', 'é', '\u{a0}', '\u{2014}'] {
            assert!(!is_forbidden(c), "U+{:04X}", c as u32);
        }
        assert_eq!(forbidden("ok\nbad \u{1b}[2J"), ["line 2: U+001B"]);
    }

    #[test]
    fn lines_and_numbers() {
        assert_eq!(longest_line("ab\nabcd\n"), 4);
        assert_eq!(
            without_digit_separators("over 100,000 or 100_000, a, b"),
            "over 100000 or 100000, a, b"
        );
    }
}
