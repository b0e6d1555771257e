//! Deterministic token counting, shared by chat usage, `/tokens/count` and embeddings.
//!
//! Rule: every run of alphanumeric characters costs `ceil(len / 6)` tokens, every other
//! non-whitespace character costs one, whitespace is free, and any text costs at least
//! one token. This reproduces the recorded counts (`"Hello, world!"` → 4,
//! `"First text"` → 2) without shipping a real tokenizer.

/// Characters per token inside a word.
const WORD_CHARS_PER_TOKEN: u64 = 6;

/// Tokens of a text (at least 1).
pub fn count_tokens(text: &str) -> u64 {
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
    tokens += run.div_ceil(WORD_CHARS_PER_TOKEN);
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

    #[test]
    fn truncation_is_char_safe_and_fits() {
        let text = "Один два три четыре пять шесть";
        let cut = truncate_to_tokens(text, 3).unwrap();
        assert_eq!(cut, "Один два три ");
        assert!(count_tokens(cut) <= 3);
        assert_eq!(truncate_to_tokens(text, 100), None);
    }
}
