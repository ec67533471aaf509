//! A second look for `und` records: the text with its capitalised words removed.
//!
//! News sentences in these languages carry many names, acronyms and titles in English
//! ("O kwukwara maka Boko Haram nakwa Independence National Electoral Commission (INEC).").
//! Their character n-grams belong to no language in particular and pull an otherwise
//! clear sentence under the confidence threshold. Names are capitalised in every Latin-script
//! language we label, so removing capitalised words after the first (which may simply
//! start the sentence) leaves the words that carry the language. Applied to all texts, this
//! hurt short noisy tweets (docs/LID.md), so the `langid` stage uses it only as a retry for
//! records that came out `und`, and only when asked (`retry_without_names`).

/// Fewer letter-bearing words than this left after removal: no retry (a list of names
/// joined by one function word says nothing about the language).
const MIN_WORDS_LEFT: usize = 2;

/// The text without the capitalised words after its first word, or `None` when nothing
/// was removed or fewer than [`MIN_WORDS_LEFT`] words with letters remain.
pub fn without_names(text: &str) -> Option<String> {
    let mut words = text.split_whitespace();
    let first = words.next()?;
    let mut kept = vec![first];
    let mut removed = false;
    for w in words {
        // The first letter decides: `(INEC).`, `'Best` and `Abdullahi-Iya` are names.
        match w.chars().find(|c| c.is_alphabetic()) {
            Some(c) if c.is_uppercase() => removed = true,
            _ => kept.push(w),
        }
    }
    let with_letters = kept
        .iter()
        .filter(|w| w.chars().any(char::is_alphabetic))
        .count();
    (removed && with_letters >= MIN_WORDS_LEFT).then(|| kept.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_capitalised_words_after_the_first() {
        assert_eq!(
            without_names(
                "O kwukwara maka Boko Haram nakwa Independence National Electoral Commission (INEC)."
            )
            .as_deref(),
            Some("O kwukwara maka nakwa")
        );
        assert_eq!(
            without_names("Frances McDormand ritere nke a na-akpọ 'Best actress'").as_deref(),
            Some("Frances ritere nke a na-akpọ actress'")
        );
    }

    #[test]
    fn no_retry_without_names_or_without_words_left() {
        assert_eq!(without_names("ọ bụ mmadụ ise"), None);
        assert_eq!(without_names("1) Muhammadu Buhari na Yemi Osinbajo"), None);
        assert_eq!(without_names(""), None);
        assert_eq!(without_names("Buhari"), None);
    }

    #[test]
    fn caseless_scripts_are_left_alone() {
        // Ethiopic and Sinhala have no case: nothing is removed, so no retry.
        assert_eq!(without_names("ለመጦመር የወሰንኩት በ2010 ነው"), None);
        assert_eq!(without_names("ශ්‍රී ලංකාව දිවයිනකි"), None);
    }
}
