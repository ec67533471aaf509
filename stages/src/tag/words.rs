//! Words of a record for the tagging stages: the tokens field when present, else a
//! simple Unicode word-boundary segmentation (UAX #29) of `text` with byte offsets, and
//! the writing of `word_offsets`, tag lists and `entities`.
//!
//! Segmentation keeps every non-whitespace UAX #29 segment, so punctuation becomes its
//! own word (`Lagos,` → `Lagos` `,`). Tokens given by a reader are aligned to `text` by
//! searching each token after the previous one; if that fails the record still gets
//! its tags, but no `word_offsets`, and its entities carry word indices only.

use super::metrics::entities;
use mavuno_pipeline::Record;
use serde_json::{json, Value};
use unicode_segmentation::UnicodeSegmentation;

/// Byte spans of the words of `text`.
pub fn segment(text: &str) -> Vec<(usize, usize)> {
    text.split_word_bound_indices()
        .filter(|(_, w)| !w.chars().all(char::is_whitespace))
        .map(|(i, w)| (i, i + w.len()))
        .collect()
}

/// Finds each token in `text` after the previous one.
pub fn align(text: &str, tokens: &[&str]) -> Option<Vec<(usize, usize)>> {
    let mut at = 0;
    let mut out = Vec::with_capacity(tokens.len());
    for t in tokens {
        if t.is_empty() {
            return None;
        }
        let i = at + text.get(at..)?.find(t)?;
        out.push((i, i + t.len()));
        at = i + t.len();
    }
    Some(out)
}

/// Words and, when known, their byte spans in the record's text.
pub type RecordWords = (Vec<String>, Option<Vec<(usize, usize)>>);

/// The words of a record: from `field` if present (must be a list of strings), else the
/// segmented `text`. Returns the words and their byte spans in `text` when known.
pub fn record_words(rec: &Record, field: &str) -> Result<RecordWords, String> {
    match rec.field(field) {
        Some(v) => {
            let toks = rec.str_list(field).ok_or_else(|| {
                format!(
                    "field `{field}` must be a list of strings, got {}",
                    mavuno_pipeline::record::json_type(v)
                )
            })?;
            let offs = align(&rec.text, &toks);
            Ok((toks.into_iter().map(String::from).collect(), offs))
        }
        None => {
            let offs = segment(&rec.text);
            Ok((
                offs.iter()
                    .map(|&(s, e)| rec.text[s..e].to_string())
                    .collect(),
                Some(offs),
            ))
        }
    }
}

/// Writes `word_offsets` (when known), `tokens` (when the record had none) and the tag
/// list under `output`.
pub fn write_tags(
    rec: &mut Record,
    offsets: Option<&[(usize, usize)]>,
    output: &str,
    tags: Vec<String>,
) {
    if let Some(o) = offsets {
        // Downstream consumers (plan_masks, pretrain, attacks) align tags with `tokens`; a
        // record segmented here gets the words it was tagged with, so they always agree.
        if !rec.fields.contains_key("tokens") {
            let words: Vec<Value> = o
                .iter()
                .filter_map(|&(s, e)| rec.text.get(s..e))
                .map(|w| Value::String(w.to_string()))
                .collect();
            if words.len() == o.len() {
                rec.set("tokens", Value::Array(words));
            }
        }
        rec.set(
            "word_offsets",
            Value::Array(o.iter().map(|&(s, e)| json!([s, e])).collect()),
        );
    }
    rec.set(
        output,
        Value::Array(tags.into_iter().map(Value::String).collect()),
    );
}

/// Writes `entities` from IOB2 tags (strict): `{start, end, label, text, word_start,
/// word_end}`, byte offsets into `text` when `offsets` are known.
pub fn write_entities(rec: &mut Record, offsets: Option<&[(usize, usize)]>, tags: &[String]) {
    let ents: Vec<Value> = entities(tags)
        .into_iter()
        .map(|e| match offsets {
            Some(o) => {
                let (s, t) = (o[e.start].0, o[e.end - 1].1);
                json!({"start": s, "end": t, "label": e.label, "text": rec.text.get(s..t).unwrap_or(""),
                       "word_start": e.start, "word_end": e.end})
            }
            None => json!({"label": e.label, "word_start": e.start, "word_end": e.end}),
        })
        .collect();
    rec.set("entities", Value::Array(ents));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_words_and_punctuation() {
        let t = "Ọ̀gbẹ́ni Adam lọ sí Lagos, lánàá.";
        let w: Vec<&str> = segment(t).into_iter().map(|(s, e)| &t[s..e]).collect();
        assert_eq!(
            w,
            ["Ọ̀gbẹ́ni", "Adam", "lọ", "sí", "Lagos", ",", "lánàá", "."]
        );
        let t = "කොළඹ නගරය";
        assert_eq!(segment(t).len(), 2);
    }

    #[test]
    fn aligns_tokens_or_gives_up() {
        assert_eq!(
            align("a  bc d", &["a", "bc", "d"]),
            Some(vec![(0, 1), (3, 5), (6, 7)])
        );
        assert_eq!(align("a b", &["a", "x"]), None);
    }

    #[test]
    fn entities_get_byte_offsets() {
        let mut r = Record::new("1", "Ade Olú lọ");
        let (w, o) = record_words(&r, "tokens").unwrap();
        assert_eq!(w, ["Ade", "Olú", "lọ"]);
        let tags: Vec<String> = ["B-PER", "I-PER", "O"].map(String::from).to_vec();
        write_entities(&mut r, o.as_deref(), &tags);
        assert_eq!(
            r.fields["entities"],
            json!([{"start": 0, "end": 8, "label": "PER", "text": "Ade Olú", "word_start": 0, "word_end": 2}])
        );
        r.set("tokens", 5);
        assert_eq!(
            record_words(&r, "tokens").unwrap_err(),
            "field `tokens` must be a list of strings, got a number"
        );
    }
}
