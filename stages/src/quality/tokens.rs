//! Tokens as the Gopher and FineWeb rules count them: the words of the shared segmentation
//! ([`crate::text::segment`], so Sinhala/Tamil words with virama and ZWJ, Ethiopic words
//! and NFD tone marks stay whole) plus one token per punctuation mark between them.
//!
//! datatrove counts spaCy tokens, and spaCy makes punctuation tokens too: "Hello, world."
//! is 4 tokens, of which 2 have a letter. Gopher's alphabetic-word ratio, its symbol ratios
//! and FineWeb's newline/word ratio divide by that count, so these tokens follow spaCy's
//! main rules where they change counts: each punctuation mark is a token (a run of dots is
//! one), a hyphen between letters is its own token ("well - known"), a clitic after an
//! apostrophe is its own token ("don 't", "John 's"), a URL is one token, a dot stays on a
//! single letter or a title abbreviation ("J.", "Mr.", "U.S."). What differs from spaCy on
//! English text is listed in docs/CLEANING.md (quality rules vs datatrove).

use crate::quality::chars::is_punctuation;
use crate::text::segment::{for_each_word, is_alphabetic};
use regex::Regex;
use std::sync::LazyLock;

/// URLs (`http(s)://…`, `www.…`), without trailing sentence punctuation.
pub static URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?://|www\.)[^\s<>"]+[^\s<>".,;:!?)\]'’”]"#)
        .unwrap_or_else(|e| panic!("url pattern: {e}"))
});

/// Abbreviations that keep their dot as one token in spaCy's English tokenizer.
const DOTTED: &[&str] = &[
    "Mr", "Mrs", "Ms", "Dr", "Prof", "St", "Jr", "Sr", "Gen", "Gov", "Sen", "Rep", "Rev", "Inc",
    "Ltd", "Co", "co", "Corp", "vs", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep",
    "Sept", "Oct", "Nov", "Dec", "Messrs", "Adm", "Bros", "Mt", "etc",
];

/// One token: a byte span and whether it is punctuation only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Token {
    /// Start byte.
    pub start: usize,
    /// End byte (exclusive).
    pub end: usize,
    /// Punctuation only (datatrove's "symbol word").
    pub symbol: bool,
}

impl Token {
    /// The token's text.
    #[inline]
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
}

/// Number of code points (Python's `len`).
#[inline]
pub fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// English clitics that spaCy splits off after an apostrophe ("don't" → do n't, "John's"
/// → John 's); an apostrophe inside other words ("ba'a", "ƙa'ida") stays, as in spaCy.
fn is_clitic(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "s" | "t" | "re" | "ve" | "ll" | "d" | "m"
    )
}

fn push_word(text: &str, s: usize, e: usize, out: &mut Vec<Token>) {
    let w = &text[s..e];
    if !w.contains(['-', '\'', '’']) {
        out.push(Token {
            start: s,
            end: e,
            symbol: false,
        });
        return;
    }
    // "well-known" → well - known; "don't" → don 't; a leading apostrophe stays.
    let mut start = s;
    for (i, c) in w.char_indices().skip(1) {
        let at = s + i;
        if c == '-' {
            out.push(Token {
                start,
                end: at,
                symbol: false,
            });
            out.push(Token {
                start: at,
                end: at + 1,
                symbol: true,
            });
            start = at + 1;
        } else if (c == '\'' || c == '’') && at > start {
            let rest = &w[i + c.len_utf8()..];
            let clitic_end = rest.find(['-', '\'', '’']).unwrap_or(rest.len());
            if is_clitic(&rest[..clitic_end]) {
                out.push(Token {
                    start,
                    end: at,
                    symbol: false,
                });
                start = at;
            }
        }
    }
    if start < e {
        out.push(Token {
            start,
            end: e,
            symbol: false,
        });
    }
}

/// Whether `c` between the token before (ending at `c`) and a digit after stays inside
/// one token, as spaCy keeps "10:30", "24/7" and "COVID-19".
fn joins_digits(text: &str, prev: &Token, c: char, next: Option<char>) -> bool {
    if prev.symbol || !next.is_some_and(|n| n.is_ascii_digit()) {
        return false;
    }
    let last = prev.text(text).chars().next_back().unwrap_or(' ');
    match c {
        // `፡` (Ethiopic wordspace) is the colon of Ethiopic times: "2፡14፡04".
        ':' | '/' | '፡' => last.is_ascii_digit(),
        '-' => is_alphabetic(last),
        _ => false,
    }
}

/// Whether a `.` right after token `prev` (no space between) stays on it.
fn dot_sticks(text: &str, prev: &Token, next: Option<char>) -> bool {
    let w = prev.text(text);
    if prev.symbol || w.contains(['/', ':']) {
        return false;
    }
    if next.is_some_and(is_alphabetic) {
        // "U.S", "e.g": a dot between letters stays unless it is "end.Next".
        let last = w.chars().next_back().unwrap_or(' ');
        return !(last.is_lowercase() && next.is_some_and(char::is_uppercase));
    }
    let mut cs = w.chars();
    let first = cs.next();
    let single = first.is_some_and(is_alphabetic) && cs.next().is_none();
    // "U.S." after a glued "U.S": the token already holds a dot (not "3.5").
    let dotted = w.contains('.') && !w.chars().any(|c| c.is_numeric());
    single || dotted || DOTTED.contains(&w)
}

fn push_gap(text: &str, a: usize, b: usize, out: &mut Vec<Token>, glue: &mut bool) {
    let gap = &text[a..b];
    let mut it = gap.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let at = a + i;
        if c.is_whitespace() {
            continue;
        }
        // A run of dots is one token ("..."), and so is a doubled Ethiopic wordspace
        // (`፡፡`, written for the full stop `።`); a single `፡` is handled below.
        let run_end = gap[i..].find(|x| x != c).map_or(b, |k| a + i + k);
        if c == '.' || (c == '፡' && run_end - at > c.len_utf8()) {
            if run_end - at == 1 {
                let next = text[run_end..].chars().next();
                if let Some(prev) = out.last_mut().filter(|p| p.end == at) {
                    if dot_sticks(text, prev, next) {
                        prev.end = run_end;
                        *glue = next.is_some_and(is_alphabetic);
                        continue;
                    }
                }
            }
            out.push(Token {
                start: at,
                end: run_end,
                symbol: true,
            });
            while it.peek().is_some_and(|&(k, _)| a + k < run_end) {
                it.next();
            }
            continue;
        }
        if matches!(c, ':' | '/' | '-' | '፡') {
            let end = at + c.len_utf8();
            let next = text[end..].chars().next();
            if let Some(prev) = out.last_mut().filter(|p| p.end == at) {
                if joins_digits(text, prev, c, next) {
                    prev.end = end;
                    *glue = true;
                    continue;
                }
            }
        }
        out.push(Token {
            start: at,
            end: at + c.len_utf8(),
            symbol: is_punctuation(c),
        });
    }
}

/// Tokens of `text[a..b]` (no URL inside), appended to `out`.
fn push_segment(text: &str, a: usize, b: usize, out: &mut Vec<Token>) {
    let mut prev = a;
    let mut glue = false;
    for_each_word(&text[a..b], |s, e| {
        let (s, e) = (a + s, a + e);
        push_gap(text, prev, s, out, &mut glue);
        prev = e;
        if std::mem::take(&mut glue) {
            if let Some(t) = out.last_mut().filter(|t| t.end == s) {
                t.end = e;
                return;
            }
        }
        push_word(text, s, e, out);
    });
    push_gap(text, prev, b, out, &mut glue);
}

/// The tokens of `text`, in order. Each URL is one (non-symbol) token.
pub fn tokens(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::with_capacity(text.len() / 4 + 1);
    let mut last = 0;
    if text.contains("://") || text.contains("www.") || text.contains("WWW.") {
        for m in URL.find_iter(text) {
            push_segment(text, last, m.start(), &mut out);
            out.push(Token {
                start: m.start(),
                end: m.end(),
                symbol: false,
            });
            last = m.end();
        }
    }
    push_segment(text, last, text.len(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(t: &str) -> Vec<&str> {
        tokens(t).iter().map(|k| k.text(t)).collect()
    }

    #[test]
    fn punctuation_is_tokens() {
        assert_eq!(texts("Hello, world."), ["Hello", ",", "world", "."]);
        assert_eq!(texts("Wait... what?!"), ["Wait", "...", "what", "?", "!"]);
        assert_eq!(
            texts("a well-known fact"),
            ["a", "well", "-", "known", "fact"]
        );
        assert_eq!(texts("don't stop"), ["don", "'t", "stop"]);
        assert_eq!(texts("ba'a John’s"), ["ba'a", "John", "’s"]);
        assert_eq!(
            texts("at 10:30, 24/7, COVID-19 and 2-1"),
            ["at", "10:30", ",", "24/7", ",", "COVID-19", "and", "2", "-", "1"]
        );
        assert_eq!(texts("£15,000 (50%)"), ["£", "15,000", "(", "50", "%", ")"]);
    }

    #[test]
    fn dots_that_stay() {
        assert_eq!(
            texts("Mr. Smith met J. Doe."),
            ["Mr.", "Smith", "met", "J.", "Doe", "."]
        );
        assert_eq!(
            texts("the U.S. and e.g. this"),
            ["the", "U.S.", "and", "e.g.", "this"]
        );
        assert_eq!(texts("end.Next"), ["end", ".", "Next"]);
        assert_eq!(
            texts("costs 3.5 dollars."),
            ["costs", "3.5", "dollars", "."]
        );
    }

    #[test]
    fn urls_and_scripts() {
        assert_eq!(
            texts("see https://bbc.co.uk/news/a-b. Now"),
            ["see", "https://bbc.co.uk/news/a-b", ".", "Now"]
        );
        assert_eq!(texts("ሰላም ነው። እንዴት፧"), ["ሰላም", "ነው", "።", "እንዴት", "፧"]);
        // A doubled wordspace is one full stop; `፡` between digits is a time's colon.
        assert_eq!(
            texts("ሰላም ነው፡፡ በ2፡14፡04 ሰዓት"),
            ["ሰላም", "ነው", "፡፡", "በ2፡14፡04", "ሰዓት"]
        );
        assert_eq!(texts("ሰላም፡ነው"), ["ሰላም", "፡", "ነው"]);
        let si = "ශ්‍රී ලංකාව.";
        assert_eq!(texts(si), ["ශ්‍රී", "ලංකාව", "."]);
        assert!(tokens("😀 ok").iter().all(|t| !t.symbol));
        assert!(tokens("").is_empty());
    }
}
