//! Produces one string matching a regular expression, for v2
//! `response_format: {"type":"regex"}` answers when nothing is scripted.
//!
//! Supports literals, escapes (`\d \w \s \D \W \S`, escaped punctuation, `\n \t`), `.`,
//! classes with ranges and negation, groups (capturing, `(?:…)`, named), alternation
//! (first branch wins), anchors, and the quantifiers `* + ? {n} {n,} {n,m}` (with lazy or
//! possessive suffixes). Anything else (backreferences, `\p{…}`, look-around) yields `None`.

/// A string matching `pattern`, or `None` if the pattern uses unsupported syntax.
pub fn sample(pattern: &str) -> Option<String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut p = Parser { chars, pos: 0 };
    let out = p.alternation()?;
    (p.pos == p.chars.len()).then_some(out)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// `seq ('|' seq)*` — the first branch is emitted, the others only parsed.
    fn alternation(&mut self) -> Option<String> {
        let first = self.sequence()?;
        while self.eat('|') {
            self.sequence()?;
        }
        Some(first)
    }

    fn sequence(&mut self) -> Option<String> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let count = self.quantifier()?;
            for _ in 0..count {
                out.push_str(&atom);
            }
        }
        Some(out)
    }

    /// How many times to repeat the preceding atom (a valid count within the bounds).
    fn quantifier(&mut self) -> Option<usize> {
        let count = match self.peek() {
            Some('*') | Some('+') | Some('?') => {
                self.pos += 1;
                1
            }
            Some('{') => {
                let start = self.pos;
                self.pos += 1;
                let min = self.number();
                let max = if self.eat(',') { self.number() } else { min };
                if !self.eat('}') || min.is_none() {
                    // Not a quantifier: treat `{` as a literal (as most engines do).
                    self.pos = start;
                    return Some(1);
                }
                let min = min.unwrap_or(0);
                match max {
                    Some(m) if m < min => return None,
                    Some(0) => 0,
                    _ if min == 0 => 1,
                    _ => min,
                }
            }
            _ => return Some(1),
        };
        // Lazy / possessive suffix.
        if matches!(self.peek(), Some('?') | Some('+')) {
            self.pos += 1;
        }
        Some(count)
    }

    fn number(&mut self) -> Option<usize> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
            .filter(|n| *n <= 1000)
    }

    fn atom(&mut self) -> Option<String> {
        let c = self.bump()?;
        match c {
            '(' => {
                if self.eat('?') {
                    match self.bump()? {
                        ':' => {}
                        kind @ ('P' | '<') => {
                            if kind == 'P' && !self.eat('<') {
                                return None;
                            }
                            while self.bump()? != '>' {}
                        }
                        _ => return None,
                    }
                }
                let inner = self.alternation()?;
                self.eat(')').then_some(inner)
            }
            '[' => self.class().map(String::from),
            '\\' => self
                .escape(false)
                .map(|e| e.map(String::from).unwrap_or_default()),
            '.' => Some("a".into()),
            '^' | '$' => Some(String::new()),
            '*' | '+' | '?' | ')' => None,
            other => Some(other.to_string()),
        }
    }

    /// An escape after `\`. `Ok(None)` for zero-width escapes.
    fn escape(&mut self, in_class: bool) -> Option<Option<char>> {
        let c = self.bump()?;
        Some(match c {
            'd' => Some('1'),
            'w' | 'D' | 'S' => Some('a'),
            's' => Some(' '),
            'W' => Some('-'),
            'n' => Some('\n'),
            't' => Some('\t'),
            'r' => Some('\r'),
            'b' if in_class => Some('\u{8}'),
            'b' | 'B' | 'A' | 'z' | 'Z' | 'G' => None,
            c if c.is_ascii_alphanumeric() => return None,
            c => Some(c),
        })
    }

    /// A character class after `[`; returns one member.
    fn class(&mut self) -> Option<char> {
        let negated = self.eat('^');
        let mut items: Vec<(char, char)> = Vec::new();
        let mut first = true;
        loop {
            let c = self.bump()?;
            if c == ']' && !first {
                break;
            }
            first = false;
            let lo = if c == '\\' {
                match self.peek()? {
                    'd' => {
                        self.pos += 1;
                        items.push(('0', '9'));
                        continue;
                    }
                    'w' => {
                        self.pos += 1;
                        items.extend([('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')]);
                        continue;
                    }
                    's' => {
                        self.pos += 1;
                        items.extend([(' ', ' '), ('\t', '\t'), ('\n', '\n')]);
                        continue;
                    }
                    _ => self.escape(true)??,
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.pos + 1).is_some_and(|n| *n != ']') {
                self.pos += 1;
                let hi = match self.bump()? {
                    '\\' => self.escape(true)??,
                    h => h,
                };
                if hi < lo {
                    return None;
                }
                items.push((lo, hi));
            } else {
                items.push((lo, lo));
            }
        }
        let member = |c: char| items.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c));
        if negated {
            ['a', 'x', 'Z', '0', '_', '-', ' ', '~', 'ж']
                .into_iter()
                .find(|c| !member(*c))
        } else {
            items.first().map(|(lo, _)| *lo)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_ticket_pattern() {
        assert_eq!(sample(r"[A-Z]{3}-\d{4}").as_deref(), Some("AAA-1111"));
    }

    #[test]
    fn groups_alternation_and_quantifiers() {
        assert_eq!(sample(r"^(yes|no)$").as_deref(), Some("yes"));
        assert_eq!(sample(r"(?:ab)+c*d?").as_deref(), Some("abcd"));
        assert_eq!(sample(r"x{2,5}y{0,3}").as_deref(), Some("xxy"));
        assert_eq!(sample(r"[^a-z]\.").as_deref(), Some("Z."));
        assert_eq!(sample(r"(?P<id>\w+)@\w+\.com").as_deref(), Some("a@a.com"));
        assert_eq!(sample(r"a{,"), Some("a{,".into()));
    }

    #[test]
    fn unsupported_syntax_is_none() {
        assert_eq!(sample(r"(a)\1"), None);
        assert_eq!(sample(r"(?=a)"), None);
        assert_eq!(sample(r"(abc"), None);
        assert_eq!(sample(r"*"), None);
    }
}
