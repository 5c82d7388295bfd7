//! `const fn` helpers over byte slices for the validators that also run at compile time.

/// `s[start..end]`; the caller keeps `start <= end <= s.len()`.
pub(crate) const fn slice(s: &[u8], start: usize, end: usize) -> &[u8] {
    let (head, _) = s.split_at(end);
    let (_, middle) = head.split_at(start);
    middle
}

/// Whether two byte strings are equal.
pub(crate) const fn eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The index of the first `byte` in `s[start..end]`.
pub(crate) const fn find(s: &[u8], start: usize, end: usize, byte: u8) -> Option<usize> {
    let mut i = start;
    while i < end {
        if s[i] == byte {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Whether `word` is one of `list`.
pub(crate) const fn one_of(word: &[u8], list: &[&str]) -> bool {
    let mut i = 0;
    while i < list.len() {
        if eq(word, list[i].as_bytes()) {
            return true;
        }
        i += 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_compare_and_search() {
        let s = b"cluster/get@shop";
        assert_eq!(slice(s, 8, 11), b"get");
        assert_eq!(slice(s, 0, 0), b"");
        assert!(eq(b"get", b"get"));
        assert!(!eq(b"get", b"gets"));
        assert!(!eq(b"get", b"got"));
        assert_eq!(find(s, 0, s.len(), b'@'), Some(11));
        assert_eq!(find(s, 0, 11, b'@'), None);
        assert!(one_of(b"get", &["list", "get"]));
        assert!(!one_of(b"", &["list", "get"]));
    }
}
