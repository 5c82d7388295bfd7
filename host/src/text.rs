//! Text from a policy made safe for a terminal: control and format characters escaped, lengths capped.
//!
//! Every string a module hands over (log lines, progress messages, the summary, error reasons,
//! panic messages, captured output, manifest fields) is hostile input. Before it reaches a
//! terminal it goes through [`line`] (or [`cap`] for machine output): characters that steer a
//! terminal or reorder text (C0 and C1 controls, DEL, bidi and zero-width format characters) are
//! shown as `\u{1b}`, and the text is cut at a bound with a note saying how much was cut.

/// The longest piece of guest text printed as one line: 4 KiB.
pub const MAX_LINE: usize = 4 << 10;
/// The most guest log text (log and progress lines together) printed for one run: 1 MiB.
pub const MAX_LOG: usize = 1 << 20;
/// The longest guest text quoted inside a host message (an error reason, a name): 1 KiB.
pub const MAX_QUOTE: usize = 1 << 10;

/// Whether `c` can steer a terminal or hide text: control characters (C0, DEL, C1) and the
/// Unicode format characters used for bidi and zero-width tricks.
pub fn is_unsafe(c: char) -> bool {
    cutover_grammar::text::is_unsafe(c)
}

/// `text` with every unsafe character visibly escaped (`\u{1b}`), cut at `max` bytes of output
/// with a note (`… [cut: 1234 more bytes]`) when it is longer.
pub fn escape(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max) + 32);
    for (at, c) in text.char_indices() {
        let before = out.len();
        if is_unsafe(c) {
            use std::fmt::Write as _;
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
        if out.len() > max {
            out.truncate(before);
            out.push_str(&cut_note(text.len() - at));
            return out;
        }
    }
    out
}

/// How long `text` is printed as one line ([`line`]): escaped, cut at [`MAX_LINE`] with a
/// note. What a line costs the log bound.
pub fn printed_len(text: &str) -> usize {
    let escaped = escaped_len(text);
    if escaped <= MAX_LINE {
        escaped
    } else {
        line(text).len()
    }
}

/// How long `text` is once escaped (before any cut).
fn escaped_len(text: &str) -> usize {
    text.chars()
        .map(|c| {
            if is_unsafe(c) {
                // `\u{` + its hex digits + `}`
                let bits = 32 - (c as u32).leading_zeros() as usize;
                4 + bits.div_ceil(4).max(1)
            } else {
                c.len_utf8()
            }
        })
        .sum()
}

/// One line of guest text for a terminal: [`escape`] at [`MAX_LINE`].
pub fn line(text: &str) -> String {
    escape(text, MAX_LINE)
}

/// Guest text quoted inside a host message: [`escape`] at [`MAX_QUOTE`].
pub fn quote(text: &str) -> String {
    escape(text, MAX_QUOTE)
}

/// `text` cut at `max` bytes (on a character boundary) with a note, unescaped: for machine
/// output (`-o json`), whose serializer escapes what is unsafe (see [`json_safe`]).
pub fn cap(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{}", &text[..end], cut_note(text.len() - end))
}

fn cut_note(bytes: usize) -> String {
    format!("… [cut: {bytes} more bytes]")
}

/// Serialized JSON with every unsafe character that JSON allows raw (DEL, C1 controls, format
/// characters) written as a `\uXXXX` escape, so that `-o json` on a terminal is as safe as the
/// table output. serde_json already escapes C0 controls. The result is the same JSON value.
pub fn json_safe(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    for c in json.chars() {
        if is_unsafe(c) && c as u32 >= 0x20 {
            use std::fmt::Write as _;
            // Outside the Basic Multilingual Plane (tag characters, say) JSON spells a
            // character as its UTF-16 surrogate pair.
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The bound on a run's printed log: lines are let through until [`MAX_LOG`] bytes have been
/// printed, then one note, then nothing (the dropped lines are counted for the report).
#[derive(Debug, Default)]
pub struct LogBudget {
    used: usize,
    dropped: u64,
}

/// What to print for one line offered to a [`LogBudget`].
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Print the line.
    Line,
    /// The budget ran out with this line: print the note instead (once).
    Cut(String),
    /// The budget ran out earlier: print nothing.
    Dropped,
}

impl LogBudget {
    /// Offers one guest line of `bytes` bytes.
    pub fn admit(&mut self, bytes: usize) -> Admit {
        if self.dropped > 0 {
            self.dropped += 1;
            return Admit::Dropped;
        }
        if self.used.saturating_add(bytes) > MAX_LOG {
            self.dropped = 1;
            return Admit::Cut(format!(
                "[log cut: the policy wrote more than {} KiB of log; the rest of its log is dropped]",
                MAX_LOG >> 10
            ));
        }
        self.used += bytes;
        Admit::Line
    }

    /// Lines dropped after the budget ran out.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_steers_a_terminal() {
        assert_eq!(line("plain text, ünïcode ok"), "plain text, ünïcode ok");
        assert_eq!(line("\x1b[2J clear"), "\\u{1b}[2J clear");
        assert_eq!(line("a\nb\rc\td"), "a\\u{a}b\\u{d}c\\u{9}d");
        assert_eq!(line("\u{9b}31m"), "\\u{9b}31m", "C1 CSI");
        assert_eq!(line("abc\u{202e}fed"), "abc\\u{202e}fed", "bidi override");
        assert_eq!(line("zero\u{200b}width"), "zero\\u{200b}width");
        assert_eq!(line("\u{7f}"), "\\u{7f}");
    }

    /// Breaks if a format character or line separator outside the first few bidi controls
    /// reaches a terminal raw (a soft hyphen hides, tag characters smuggle invisible text,
    /// U+2028 breaks a line in some terminals and viewers).
    #[test]
    fn every_format_character_and_line_separator_is_escaped() {
        for c in [
            '\u{ad}',
            '\u{600}',
            '\u{61c}',
            '\u{6dd}',
            '\u{70f}',
            '\u{890}',
            '\u{8e2}',
            '\u{180e}',
            '\u{2028}',
            '\u{2029}',
            '\u{2064}',
            '\u{206f}',
            '\u{fff9}',
            '\u{110bd}',
            '\u{13430}',
            '\u{1bca0}',
            '\u{1d173}',
            '\u{e0001}',
            '\u{e0041}',
            '\u{e007f}',
        ] {
            assert!(is_unsafe(c), "U+{:04X} is shown raw", c as u32);
            assert_eq!(line(&c.to_string()), format!("\\u{{{:x}}}", c as u32));
        }
        for c in ['a', 'é', '\u{2010}', '\u{3000}', '\u{1f600}', '\u{e0080}'] {
            assert!(!is_unsafe(c), "U+{:04X} is escaped", c as u32);
        }
    }

    #[test]
    fn cuts_at_the_bound_with_a_note() {
        let long = "x".repeat(10_000);
        let out = escape(&long, 100);
        assert!(out.starts_with(&"x".repeat(100)), "{out}");
        assert!(out.ends_with("… [cut: 9900 more bytes]"), "{out}");
        // Escapes count towards the bound: no escape is cut in half.
        let out = escape(&"\x1b".repeat(50), 20);
        assert_eq!(out, "\\u{1b}\\u{1b}\\u{1b}… [cut: 47 more bytes]");
        assert_eq!(escape("short", 100), "short");
    }

    #[test]
    fn the_printed_length_is_what_line_prints() {
        let long_escapes = "\x1b".repeat(3000);
        let long = "x".repeat(10_000);
        for text in [
            "plain",
            "\x1b[2J",
            "é\u{202e}\u{e0041}\n",
            "",
            &long_escapes,
            &long,
        ] {
            assert_eq!(escaped_len(text), escape(text, usize::MAX).len());
            assert_eq!(printed_len(text), line(text).len());
        }
    }

    #[test]
    fn caps_on_char_boundaries() {
        assert_eq!(cap("héllo", 2), "h… [cut: 5 more bytes]");
        assert_eq!(cap("abc", 3), "abc");
    }

    #[test]
    fn json_stays_json_and_gets_safe() {
        let value = serde_json::json!({"s": "a\u{1b}b\u{9b}c\u{202e}d\u{7f}e\u{e0041}"});
        let text = json_safe(&serde_json::to_string(&value).unwrap());
        assert!(text.is_ascii(), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn the_log_budget_cuts_once_then_counts() {
        let mut budget = LogBudget::default();
        let mut printed = 0;
        let mut notes = 0;
        for _ in 0..2000 {
            match budget.admit(1000) {
                Admit::Line => printed += 1,
                Admit::Cut(note) => {
                    notes += 1;
                    assert!(note.contains("log cut"));
                }
                Admit::Dropped => {}
            }
        }
        assert_eq!(printed, MAX_LOG / 1000);
        assert_eq!(notes, 1);
        assert_eq!(budget.dropped(), 2000 - printed as u64);
    }
}
