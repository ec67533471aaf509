//! Script detection for language ID: letter counts per script, from the one Unicode table
//! of `text::segment` ([`script_of`]).
//!
//! Three of mavuno's languages are identified by their script alone: Sinhala (`sin`) and
//! Tamil (`tam`) have a script of their own among our languages, and Ethiopic is used
//! by Amharic (`amh`) but also by Tigrinya, Ge'ez and Tigre, so an Ethiopic text with
//! Tigrinya's markers is `und` (see [`super::model`]). Letters of every other script
//! (Arabic, Devanagari, …) count as `Other`, which the classifier labels `und`. A combining
//! mark counts with the letter it follows (Unicode's "inherited" script), so Sinhala and
//! Tamil vowel signs count as Sinhala and Tamil.

use unicode_normalization::char::is_combining_mark;

use crate::text::segment::script_of;
pub use crate::text::segment::Script;

/// Letter counts per script in a text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScriptCounts {
    /// Latin letters.
    pub latin: u32,
    /// Ethiopic letters.
    pub ethiopic: u32,
    /// Sinhala letters.
    pub sinhala: u32,
    /// Tamil letters.
    pub tamil: u32,
    /// Letters of any other script.
    pub other: u32,
}

impl ScriptCounts {
    /// Counts the letters of `text` by script.
    pub fn of(text: &str) -> ScriptCounts {
        let mut n = ScriptCounts::default();
        let mut last = None;
        for c in text.chars() {
            let s = match script_of(c) {
                Script::Common if is_combining_mark(c) => last,
                Script::Common => {
                    last = None;
                    None
                }
                s => {
                    last = Some(s);
                    Some(s)
                }
            };
            match s {
                Some(Script::Latin) => n.latin += 1,
                Some(Script::Ethiopic) => n.ethiopic += 1,
                Some(Script::Sinhala) => n.sinhala += 1,
                Some(Script::Tamil) => n.tamil += 1,
                Some(_) => n.other += 1,
                None => {}
            }
        }
        n
    }

    /// All letters.
    pub fn total(&self) -> u32 {
        self.latin + self.ethiopic + self.sinhala + self.tamil + self.other
    }

    /// The script with the most letters and its share of all letters, or `None` when the
    /// text has no letters. Ties go to the earlier script in declaration order.
    pub fn dominant(&self) -> Option<(Script, f32)> {
        let total = self.total();
        if total == 0 {
            return None;
        }
        let all = [
            (Script::Latin, self.latin),
            (Script::Ethiopic, self.ethiopic),
            (Script::Sinhala, self.sinhala),
            (Script::Tamil, self.tamil),
            (Script::Other, self.other),
        ];
        let mut best = all[0];
        for x in &all[1..] {
            if x.1 > best.1 {
                best = *x;
            }
        }
        Some((best.0, best.1 as f32 / total as f32))
    }
}

/// The dominant script of a text and its share of letters; `None` without letters.
pub fn dominant_script(text: &str) -> Option<(Script, f32)> {
    ScriptCounts::of(text).dominant()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_sinhala_tamil_ethiopic_and_latin() {
        assert_eq!(
            dominant_script("ශ්‍රී ලංකාව දකුණු ආසියාවේ දූපතකි.").map(|x| x.0),
            Some(Script::Sinhala)
        );
        assert_eq!(
            dominant_script("தமிழ் ஒரு திராவிட மொழி ஆகும்.").map(|x| x.0),
            Some(Script::Tamil)
        );
        assert_eq!(
            dominant_script("ሰላም ለዓለም፤ እንዴት ነህ?").map(|x| x.0),
            Some(Script::Ethiopic)
        );
        assert_eq!(
            dominant_script("Ọ̀gbẹ́ni Ṣàngó ń bọ̀ ɓ ƙ ŋ").map(|x| x.0),
            Some(Script::Latin)
        );
        assert_eq!(
            dominant_script("Привет, мир").map(|x| x.0),
            Some(Script::Other)
        );
    }

    #[test]
    fn no_letters_means_no_script() {
        assert_eq!(dominant_script(""), None);
        assert_eq!(dominant_script("123 !!! 😀"), None);
    }

    #[test]
    fn share_counts_letters_only() {
        let (s, share) = dominant_script("abcdefg ශ්‍රී").unwrap_or((Script::Other, 0.0));
        assert_eq!(s, Script::Latin);
        assert!(share > 0.4 && share < 0.7, "{share}");
    }
}
