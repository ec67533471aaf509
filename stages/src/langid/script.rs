//! Script detection over Unicode block ranges.
//!
//! Three of mavuno's languages are identified by their script alone: Sinhala (`sin`) and
//! Tamil (`tam`) have a script of their own among our languages, and Ethiopic is used
//! by Amharic (`amh`) but also by Tigrinya, Ge'ez and Tigre, so an Ethiopic text with
//! Tigrinya's markers is `und` (see [`super::model`]). Everything that is not Latin, Ethiopic, Sinhala or Tamil is
//! `Other`, which the classifier labels `und`.

use serde::{Deserialize, Serialize};

/// A writing system, as far as language identification needs to tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Script {
    /// Latin, including the extended blocks (ɓ ɗ ƙ ŋ ẹ ọ ṣ …).
    Latin,
    /// Ethiopic (Ge'ez): Amharic, Tigrinya, …
    Ethiopic,
    /// Sinhala.
    Sinhala,
    /// Tamil.
    Tamil,
    /// Any other script (Cyrillic, Arabic, Devanagari, Han, …).
    Other,
}

impl Script {
    /// The script of one character, or `None` for non-letters (digits, punctuation,
    /// spaces, emoji) and combining marks, which say nothing about the script.
    pub fn of(c: char) -> Option<Script> {
        let u = c as u32;
        match u {
            0x0D80..=0x0DFF | 0x111E0..=0x111FF => Some(Script::Sinhala),
            0x0B80..=0x0BFF | 0x11FC0..=0x11FFF => Some(Script::Tamil),
            0x1200..=0x139F | 0x2D80..=0x2DDF | 0xAB00..=0xAB2F | 0x1E7E0..=0x1E7FF => {
                Some(Script::Ethiopic)
            }
            0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF => None,
            _ if !c.is_alphabetic() => None,
            0x0041..=0x024F
            | 0x0250..=0x02AF
            | 0x1D00..=0x1DBF
            | 0x1E00..=0x1EFF
            | 0x2C60..=0x2C7F
            | 0xA720..=0xA7FF => Some(Script::Latin),
            0xFF21..=0xFF5A => Some(Script::Latin),
            _ => Some(Script::Other),
        }
    }
}

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
        for c in text.chars() {
            match Script::of(c) {
                Some(Script::Latin) => n.latin += 1,
                Some(Script::Ethiopic) => n.ethiopic += 1,
                Some(Script::Sinhala) => n.sinhala += 1,
                Some(Script::Tamil) => n.tamil += 1,
                Some(Script::Other) => n.other += 1,
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
