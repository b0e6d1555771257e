//! Deterministic token counting, shared by chat usage, `/tokens/count` and embeddings.
//!
//! Rule: every run of alphanumeric characters costs `ceil(len / 6)` tokens, every other
//! non-whitespace character costs one, whitespace is free, and any text costs at least
//! one token. This reproduces the recorded counts (`"Hello, world!"` → 4,
//! `"First text"` → 2) without shipping a real tokenizer.

/// Characters per token inside a word.
const WORD_CHARS_PER_TOKEN: u64 = 6;

/// How a character counts: inside a word, free, or one token on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Word,
    Space,
    Other,
}

impl Class {
    fn of(c: char) -> Self {
        if c.is_alphanumeric() {
            Self::Word
        } else if c.is_whitespace() {
            Self::Space
        } else {
            Self::Other
        }
    }
}

/// [`Class::of`] for every ASCII byte.
static ASCII: [Class; 128] = {
    let mut table = [Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = if c.is_ascii_alphanumeric() {
            Class::Word
        } else if matches!(c, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
            Class::Space
        } else {
            Class::Other
        };
        b += 1;
    }
    table
};

/// Tokens of a text (at least 1).
///
/// Every prompt is counted in full (megabytes for a long conversation), so the loop is
/// written to stay cheap even unoptimised: ASCII is classified by a table indexed by
/// byte, other characters are decoded one by one, and nothing is called per byte.
pub fn count_tokens(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mut tokens = 0u64;
    // Characters the current word may still add before it costs another token.
    let mut left = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let class = if b < 0x80 {
            i += 1;
            ASCII[b as usize]
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            i += c.len_utf8();
            Class::of(c)
        };
        match class {
            // A word costs a token for every started group of characters.
            Class::Word => {
                if left == 0 {
                    tokens += 1;
                    left = WORD_CHARS_PER_TOKEN;
                }
                left -= 1;
            }
            Class::Space => left = 0,
            Class::Other => {
                left = 0;
                tokens += 1;
            }
        }
    }
    tokens.max(1)
}

/// Characters (Unicode scalar values) of a text, as `/tokens/count` reports them.
pub fn count_chars(text: &str) -> u64 {
    u64::try_from(text.chars().count()).unwrap_or(u64::MAX)
}

/// The longest prefix of `text` (on a char boundary) costing at most `max_tokens`.
/// Returns `None` when the whole text fits.
pub(crate) fn truncate_to_tokens(text: &str, max_tokens: u64) -> Option<&str> {
    if count_tokens(text) <= max_tokens {
        return None;
    }
    // Candidate cut points: every char boundary. `count_tokens(prefix)` never decreases
    // as the prefix grows, so binary search finds the longest fitting prefix.
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let (mut lo, mut hi) = (0usize, bounds.len() - 1);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if count_tokens(&text[..bounds[mid]]) <= max_tokens {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(&text[..bounds[lo]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_recorded_counts() {
        assert_eq!(count_tokens("Hello, world!"), 4);
        assert_eq!(count_tokens("First text"), 2);
        assert_eq!(count_tokens("Second text"), 2);
        assert_eq!(count_chars("Second text"), 11);
        assert_eq!(count_chars("Привет"), 6);
    }

    #[test]
    fn minimum_one_and_long_words() {
        assert_eq!(count_tokens(""), 1);
        assert_eq!(count_tokens("   "), 1);
        assert_eq!(count_tokens("abcdefghijklm"), 3);
        assert_eq!(count_tokens("Привет мир"), 2);
    }

    /// The rule, written plainly over `char`s.
    fn reference(text: &str) -> u64 {
        let mut tokens = 0u64;
        let mut run = 0u64;
        for c in text.chars() {
            if c.is_alphanumeric() {
                run += 1;
                continue;
            }
            tokens += run.div_ceil(WORD_CHARS_PER_TOKEN);
            run = 0;
            if !c.is_whitespace() {
                tokens += 1;
            }
        }
        (tokens + run.div_ceil(WORD_CHARS_PER_TOKEN)).max(1)
    }

    #[test]
    fn ascii_table_agrees_with_char_rules() {
        for b in 0u8..128 {
            assert_eq!(ASCII[b as usize], Class::of(char::from(b)), "byte {b:#x}");
        }
        let samples = [
            "plain words and 12345 numbers, punctuation!?",
            "tabs\tvertical\x0btab\x0cfeed\r\nnewline",
            "Привет, мир! Mixed кириллица and latin123абв",
            "emoji 🙂🙂 nbsp\u{a0}here em\u{2003}space ٣٤ digits e\u{301}",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa abcdef abcdefg abcdefghijkl-x",
            "",
            "\u{0}\u{1f}\u{7f}",
        ];
        for text in samples {
            assert_eq!(count_tokens(text), reference(text), "{text:?}");
        }
    }

    #[test]
    fn truncation_is_char_safe_and_fits() {
        let text = "Один два три четыре пять шесть";
        let cut = truncate_to_tokens(text, 3).unwrap();
        assert_eq!(cut, "Один два три ");
        assert!(count_tokens(cut) <= 3);
        assert_eq!(truncate_to_tokens(text, 100), None);
    }
}
