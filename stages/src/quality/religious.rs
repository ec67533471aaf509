//! Bible and Quran detection shared by `filter` (`bible_reference`) and `tag_domain`:
//! per-language book-name lists (NFC, as printed in the standard translations) and a
//! verse-reference pattern (`John 3:16`, `Jn 3:16`, `Gen. 1:1`, `1 Kor 13:4`, `Surah 2:255`).
//!
//! Book names are matched as whole words and case-sensitively (capitalised), so common
//! words that are also book names ("Numbers", "acts", Kinyarwanda "kuva") only match as
//! titles. The MADLAD/LEM rule drops any sentence that names a book; over-matching of
//! person names ("John", "Mark", "Luka") is that rule's known cost.

use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// English (and Nigerian Pidgin) book names and common abbreviations.
const EN: &[&str] = &[
    "Genesis",
    "Exodus",
    "Leviticus",
    "Numbers",
    "Deuteronomy",
    "Joshua",
    "Judges",
    "Ruth",
    "Samuel",
    "Kings",
    "Chronicles",
    "Ezra",
    "Nehemiah",
    "Esther",
    "Job",
    "Psalms",
    "Psalm",
    "Proverbs",
    "Ecclesiastes",
    "Song of Solomon",
    "Isaiah",
    "Jeremiah",
    "Lamentations",
    "Ezekiel",
    "Daniel",
    "Hosea",
    "Joel",
    "Amos",
    "Obadiah",
    "Jonah",
    "Micah",
    "Nahum",
    "Habakkuk",
    "Zephaniah",
    "Haggai",
    "Zechariah",
    "Malachi",
    "Matthew",
    "Mark",
    "Luke",
    "John",
    "Acts",
    "Romans",
    "Corinthians",
    "Galatians",
    "Ephesians",
    "Philippians",
    "Colossians",
    "Thessalonians",
    "Timothy",
    "Titus",
    "Philemon",
    "Hebrews",
    "James",
    "Peter",
    "Jude",
    "Revelation",
    "Gen",
    "Ex",
    "Exod",
    "Lev",
    "Num",
    "Deut",
    "Josh",
    "Judg",
    "Sam",
    "Kgs",
    "Chr",
    "Neh",
    "Esth",
    "Ps",
    "Psa",
    "Prov",
    "Eccl",
    "Isa",
    "Jer",
    "Lam",
    "Ezek",
    "Dan",
    "Hos",
    "Obad",
    "Mic",
    "Hab",
    "Zeph",
    "Hag",
    "Zech",
    "Mal",
    "Matt",
    "Mt",
    "Mk",
    "Lk",
    "Jn",
    "Rom",
    "Cor",
    "Gal",
    "Eph",
    "Phil",
    "Col",
    "Thess",
    "Tim",
    "Tit",
    "Heb",
    "Jas",
    "Pet",
    "Rev",
];
const YO: &[&str] = &[
    "Jẹ́nẹ́sísì",
    "Ẹ́kísódù",
    "Léfítíkù",
    "Nọ́ńbà",
    "Diutarónómì",
    "Jóṣúà",
    "Onídàájọ́",
    "Rúùtù",
    "Sámúẹ́lì",
    "Àwọn Ọba",
    "Kíróníkà",
    "Ẹ́sírà",
    "Nehemáyà",
    "Ẹ́sítà",
    "Jóòbù",
    "Sáàmù",
    "Orin Dáfídì",
    "Òwe",
    "Oníwàásù",
    "Aísáyà",
    "Jeremáyà",
    "Ìsíkíẹ́lì",
    "Dáníẹ́lì",
    "Hóséà",
    "Jóẹ́lì",
    "Ámósì",
    "Jónà",
    "Míkà",
    "Málákì",
    "Mátíù",
    "Máàkù",
    "Lúùkù",
    "Jòhánù",
    "Ìṣe Àwọn Àpọ́sítélì",
    "Róòmù",
    "Kọ́ríńtì",
    "Gálátíà",
    "Éfésù",
    "Fílípì",
    "Kólósè",
    "Tẹsalóníkà",
    "Tímótì",
    "Hébérù",
    "Jákọ́bù",
    "Pétérù",
    "Ìfihàn",
];
const HA: &[&str] = &[
    "Farawa",
    "Fitowa",
    "Firistoci",
    "Littafin Lissafi",
    "Kubawar Shari'a",
    "Joshuwa",
    "Mahukunta",
    "Rut",
    "Sama'ila",
    "Sarakuna",
    "Labarbaru",
    "Ezra",
    "Nehemiya",
    "Esta",
    "Ayuba",
    "Zabura",
    "Karin Magana",
    "Mai-Wa'azi",
    "Ishaya",
    "Irmiya",
    "Ezekiyel",
    "Daniyel",
    "Matiyu",
    "Markus",
    "Luka",
    "Yahaya",
    "Ayyukan Manzanni",
    "Romawa",
    "Korintiyawa",
    "Galatiyawa",
    "Afisawa",
    "Filibiyawa",
    "Kolosiyawa",
    "Ibraniyawa",
    "Yakubu",
    "Bitrus",
    "Wahayin Yahaya",
];
const IG: &[&str] = &[
    "Jenesis",
    "Ọpụpụ",
    "Levitikọs",
    "Ọnụọgụgụ",
    "Diuterọnọmi",
    "Jọshụa",
    "Ndị Ikpe",
    "Samuel",
    "Ndị Eze",
    "Abụ Ọma",
    "Ilu",
    "Ekliziastis",
    "Aịzaya",
    "Jeremaịa",
    "Ezikiel",
    "Daniel",
    "Matiu",
    "Mak",
    "Luk",
    "Jọn",
    "Ọrụ Ndịozi",
    "Ndị Rom",
    "Ndị Kọrint",
    "Ndị Galeshia",
    "Ndị Efesọs",
    "Ndị Hibru",
    "Jems",
    "Pita",
    "Mkpughe",
];
const SW: &[&str] = &[
    "Mwanzo",
    "Kutoka",
    "Mambo ya Walawi",
    "Hesabu",
    "Kumbukumbu la Torati",
    "Yoshua",
    "Waamuzi",
    "Ruthu",
    "Samweli",
    "Wafalme",
    "Mambo ya Nyakati",
    "Nehemia",
    "Esta",
    "Ayubu",
    "Zaburi",
    "Mithali",
    "Mhubiri",
    "Wimbo Ulio Bora",
    "Isaya",
    "Yeremia",
    "Maombolezo",
    "Ezekieli",
    "Danieli",
    "Mathayo",
    "Marko",
    "Luka",
    "Yohana",
    "Matendo ya Mitume",
    "Warumi",
    "Wakorintho",
    "Wagalatia",
    "Waefeso",
    "Wafilipi",
    "Wakolosai",
    "Wathesalonike",
    "Timotheo",
    "Waebrania",
    "Yakobo",
    "Petro",
    "Ufunuo",
];
const AM: &[&str] = &[
    "ኦሪት ዘፍጥረት",
    "ዘፍጥረት",
    "ኦሪት ዘጸአት",
    "ዘጸአት",
    "ዘሌዋውያን",
    "ዘኍልቍ",
    "ዘዳግም",
    "ኢያሱ",
    "መሳፍንት",
    "መዝሙረ ዳዊት",
    "መዝሙር",
    "መጽሐፈ ምሳሌ",
    "ምሳሌ",
    "መክብብ",
    "ትንቢተ ኢሳይያስ",
    "ኢሳይያስ",
    "ኤርምያስ",
    "ሕዝቅኤል",
    "ዳንኤል",
    "የማቴዎስ ወንጌል",
    "ማቴዎስ",
    "ማርቆስ",
    "ሉቃስ",
    "ዮሐንስ",
    "የሐዋርያት ሥራ",
    "ሮሜ",
    "ቆሮንቶስ",
    "ገላትያ",
    "ኤፌሶን",
    "ዕብራውያን",
    "ያዕቆብ",
    "ጴጥሮስ",
    "ራእይ",
    "የዮሐንስ ራእይ",
];
const ZU: &[&str] = &[
    "uGenesise",
    "uEksodusi",
    "uLevitikusi",
    "uNumeri",
    "uDuteronomi",
    "uJoshuwa",
    "AbAhluleli",
    "uRuthe",
    "uSamuweli",
    "AmaKhosi",
    "IziKronike",
    "AmaHubo",
    "IzAga",
    "uMshumayeli",
    "uIsaya",
    "uJeremiya",
    "uHezekeli",
    "uDaniyeli",
    "uMathewu",
    "uMarku",
    "uLuka",
    "uJohane",
    "IzEnzo",
    "KwabaseRoma",
    "KwabaseKorinte",
    "KumaHeberu",
    "uJakobe",
    "uPetru",
    "IsAmbulo",
];
const XH: &[&str] = &[
    "iGenesis",
    "iEksodus",
    "iLevitikus",
    "iNumeri",
    "iDuteronomi",
    "uYoshuwa",
    "AbaGwebi",
    "uRute",
    "uSamuweli",
    "ooKumkani",
    "iiNdumiso",
    "iMizekeliso",
    "iNtshumayeli",
    "uIsaya",
    "uYeremiya",
    "uHezekile",
    "uDaniyeli",
    "uMateyu",
    "uMarko",
    "uLuka",
    "uYohane",
    "iZenzo",
    "AmaRoma",
    "AmaKorinte",
    "AmaHebhere",
    "uYakobi",
    "uPetros",
    "iSityhilelo",
];
const SO: &[&str] = &[
    "Bilowgii",
    "Baxniintii",
    "Laawiyiintii",
    "Tirintii",
    "Sharciga Kunoqoshadiisa",
    "Yashuuca",
    "Xaakinnada",
    "Ruut",
    "Samuu'eel",
    "Boqorradii",
    "Taariikhdii",
    "Sabuurradii",
    "Sabuur",
    "Maahmaahyadii",
    "Wacdiyahii",
    "Ishacyaah",
    "Yeremyaah",
    "Yexesqeel",
    "Daanyeel",
    "Matayos",
    "Markos",
    "Luukos",
    "Yooxanaa",
    "Falimaha Rasuullada",
    "Rooma",
    "Korintos",
    "Cibraaniyada",
    "Yacquub",
    "Butros",
    "Muujintii",
];
const RW: &[&str] = &[
    "Itangiriro",
    "Kuva",
    "Abalewi",
    "Kubara",
    "Gutegeka kwa Kabiri",
    "Yosuwa",
    "Abacamanza",
    "Rusi",
    "Samweli",
    "Abami",
    "Ibyo ku Ngoma",
    "Zaburi",
    "Imigani",
    "Umubwiriza",
    "Yesaya",
    "Yeremiya",
    "Ezekiyeli",
    "Daniyeli",
    "Matayo",
    "Mariko",
    "Luka",
    "Yohana",
    "Ibyakozwe",
    "Abaroma",
    "Abakorinto",
    "Abaheburayo",
    "Yakobo",
    "Petero",
    "Ibyahishuwe",
];
const LG: &[&str] = &[
    "Olubereberye",
    "Okuva",
    "Ebyabaleevi",
    "Okubala",
    "Ekyamateeka Olwokubiri",
    "Yoswa",
    "Abalamuzi",
    "Luusi",
    "Samwiri",
    "Bassekabaka",
    "Ebyomumirembe",
    "Zabbuli",
    "Engero",
    "Omubuulizi",
    "Isaaya",
    "Yeremiya",
    "Ezeekyeri",
    "Danyeri",
    "Matayo",
    "Makko",
    "Lukka",
    "Yokaana",
    "Ebikolwa",
    "Abaruumi",
    "Abakkolinso",
    "Abaebbulaniya",
    "Yakobo",
    "Peetero",
    "Okubikkulirwa",
];
const SI: &[&str] = &[
    "උත්පත්ති",
    "නික්මයාම",
    "ලෙවී කතාව",
    "ගණන් කතාව",
    "ද්විතීය කථාව",
    "යෝෂුවා",
    "විනිශ්චයකාරයෝ",
    "රූත්",
    "සාමුවෙල්",
    "රාජාවලිය",
    "ලේකම්",
    "එස්රා",
    "නෙහෙමියා",
    "එස්තර්",
    "යෝබ්",
    "ගීතාවලිය",
    "හිතෝපදේශ",
    "දේශනාකාරයා",
    "යෙසායා",
    "යෙරෙමියා",
    "එසකියෙල්",
    "දානියෙල්",
    "මතෙව්",
    "මාර්ක්",
    "ලූක්",
    "යොහන්",
    "ක්‍රියා",
    "රෝම",
    "කොරින්ති",
    "ගලාති",
    "එපීස",
    "හෙබ්‍රෙව්",
    "යාකොබ්",
    "පේතෘස්",
    "එළිදරව්ව",
    "එළිදරව්",
];
const TA: &[&str] = &[
    "ஆதியாகமம்",
    "யாத்திராகமம்",
    "லேவியராகமம்",
    "எண்ணாகமம்",
    "உபாகமம்",
    "யோசுவா",
    "நியாயாதிபதிகள்",
    "ரூத்",
    "சாமுவேல்",
    "இராஜாக்கள்",
    "நாளாகமம்",
    "எஸ்றா",
    "நெகேமியா",
    "எஸ்தர்",
    "யோபு",
    "சங்கீதம்",
    "நீதிமொழிகள்",
    "பிரசங்கி",
    "உன்னதப்பாட்டு",
    "ஏசாயா",
    "எரேமியா",
    "எசேக்கியேல்",
    "தானியேல்",
    "மத்தேயு",
    "மாற்கு",
    "லூக்கா",
    "யோவான்",
    "அப்போஸ்தலருடைய நடபடிகள்",
    "ரோமர்",
    "கொரிந்தியர்",
    "கலாத்தியர்",
    "எபேசியர்",
    "எபிரெயர்",
    "யாக்கோபு",
    "பேதுரு",
    "வெளிப்படுத்தின விசேஷம்",
    "திருவெளிப்பாடு",
];

/// Book names for a language code (ISO 639-3 or -1). English is the fallback for
/// Latin-script languages without a list (Wolof) and for Nigerian Pidgin.
pub fn book_names(lang: &str) -> &'static [&'static str] {
    match lang {
        "eng" | "en" | "pcm" | "wol" | "wo" => EN,
        "yor" | "yo" => YO,
        "hau" | "ha" => HA,
        "ibo" | "ig" => IG,
        "swa" | "swh" | "sw" => SW,
        "amh" | "am" => AM,
        "zul" | "zu" => ZU,
        "xho" | "xh" => XH,
        "som" | "so" => SO,
        "kin" | "rw" => RW,
        "lug" | "lg" => LG,
        "sin" | "si" => SI,
        "tam" | "ta" => TA,
        _ => EN,
    }
}

fn alternation(names: &[&str]) -> String {
    let mut v: Vec<&str> = names.to_vec();
    // Longest first so "Song of Solomon" wins over "Song".
    v.sort_by_key(|s| std::cmp::Reverse(s.len()));
    v.iter()
        .map(|s| regex::escape(s))
        .collect::<Vec<_>>()
        .join("|")
}

/// Matches book names of one language and verse references in any of them.
#[derive(Debug)]
pub struct ReligiousMatcher {
    books: Regex,
}

/// Verse references with any known book name or abbreviation, and Quran citations.
static VERSE_REF: LazyLock<Regex> = LazyLock::new(|| {
    let all: Vec<&str> = [EN, YO, HA, IG, SW, AM, ZU, XH, SO, RW, LG, SI, TA].concat();
    let pat = format!(
        r"(?:^|[^\w])(?:(?:[1-3]|I{{1,3}})\s?)?(?:{})\.?\s{{0,2}}\d{{1,3}}\s?:\s?\d{{1,3}}|(?i:\b(?:surah?|sūrah|sura|qur'?an|koran)\.?\s{{0,2}}\d{{1,3}}(?:\s?:\s?\d{{1,3}})?)",
        alternation(&all)
    );
    Regex::new(&pat).unwrap_or_else(|e| panic!("verse reference pattern: {e}"))
});

static MATCHERS: LazyLock<HashMap<&'static str, ReligiousMatcher>> = LazyLock::new(|| {
    let mut m = HashMap::new();
    // pcm and wol read English's matcher (see `matcher`): no need to compile it twice more.
    for &l in crate::langs::LANGS
        .iter()
        .filter(|l| !matches!(**l, "pcm" | "wol"))
    {
        let pat = format!(r"(?:^|[^\w])(?:{})(?:[^\w]|$)", alternation(book_names(l)));
        let books = Regex::new(&pat).unwrap_or_else(|e| panic!("book names of {l}: {e}"));
        m.insert(l, ReligiousMatcher { books });
    }
    m
});

/// The matcher for `lang` (English's for unknown codes). Compiled once per process.
pub fn matcher(lang: &str) -> &'static ReligiousMatcher {
    let key = match lang {
        "en" | "pcm" | "wol" | "wo" => "eng",
        "yo" => "yor",
        "ha" => "hau",
        "ig" => "ibo",
        "sw" | "swh" => "swa",
        "am" => "amh",
        "zu" => "zul",
        "xh" => "xho",
        "so" => "som",
        "rw" => "kin",
        "lg" => "lug",
        "si" => "sin",
        "ta" => "tam",
        other => other,
    };
    MATCHERS
        .get(key)
        .or_else(|| MATCHERS.get("eng"))
        .unwrap_or_else(|| unreachable!("eng matcher is always built"))
}

impl ReligiousMatcher {
    /// Whether `text` names a book of this language.
    pub fn has_book_name(&self, text: &str) -> bool {
        self.books.is_match(text)
    }

    /// Number of book-name mentions.
    pub fn book_mentions(&self, text: &str) -> usize {
        self.books.find_iter(text).count()
    }
}

/// Whether `text` contains a Bible verse reference or Quran citation.
pub fn has_verse_reference(text: &str) -> bool {
    text.as_bytes().iter().any(|b| b.is_ascii_digit()) && VERSE_REF.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verse_references() {
        for t in [
            "as in John 3:16 we read",
            "Jn 3:16",
            "(Gen. 1:1)",
            "1 Cor 13:4",
            "Surah 2:255",
            "Mathayo 5:3",
            "Jòhánù 3:16",
            "ዮሐንስ 3:16",
            "யோவான் 3:16",
            "ශ්‍රී යොහන් 3:16",
        ] {
            assert!(has_verse_reference(t), "{t}");
        }
        for t in ["at 10:30 today", "Johnson 3:16", "score 2:1", ""] {
            assert!(!has_verse_reference(t), "{t}");
        }
    }

    #[test]
    fn book_names_whole_words() {
        assert!(matcher("eng").has_book_name("read Genesis now"));
        assert!(!matcher("eng").has_book_name("the genesis of it"));
        assert!(!matcher("eng").has_book_name("Markets"));
        assert!(matcher("sin").has_book_name("උත්පත්ති පොත"));
        assert!(matcher("tam").has_book_name("சங்கீதம் 23"));
        assert!(matcher("swa").has_book_name("Kitabu cha Mwanzo"));
        assert_eq!(matcher("yor").book_mentions("Mátíù àti Máàkù"), 2);
    }
}
