//! Byte alignment between a rewritten text and its original, after HF tokenizers'
//! `NormalizedString`: for each output byte, the original byte offset it came from.
//! Every stage that rewrites `text` (normalize, redact_pii, filter's prefix stripping)
//! builds one with [`Rewriter`] and remaps `fields["spans"]` and
//! `fields["token_offsets"]` with [`remap_fields`].

use mavuno_pipeline::Record;
use serde_json::Value;

/// A rewritten text plus, for each of its bytes, the original byte offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Aligned {
    /// The current text.
    pub text: String,
    /// `align[i]` = original offset of `text` byte `i`; non-decreasing. Empty while no
    /// pass has changed the text (the identity, not materialised).
    pub align: Vec<usize>,
    /// Length of the original text.
    pub original_len: usize,
}

impl Aligned {
    /// The identity alignment of `text`.
    pub fn new(text: String) -> Aligned {
        Aligned {
            original_len: text.len(),
            text,
            align: Vec::new(),
        }
    }

    fn is_identity(&self) -> bool {
        self.align.is_empty() && self.text.len() == self.original_len
    }

    /// Applies one rewrite pass. `f` reads the current text and writes the new one into
    /// the [`Rewriter`], naming for every piece the current-text offset it came from; the
    /// alignments compose. Returns whether anything changed.
    pub fn pass(&mut self, f: impl FnOnce(&str, &mut Rewriter)) -> bool {
        let mut w = Rewriter::with_capacity(self.text.len());
        f(&self.text, &mut w);
        if w.out == self.text {
            return false;
        }
        let align = if self.is_identity() {
            w.map
        } else {
            w.map
                .iter()
                .map(|&k| self.align.get(k).copied().unwrap_or(self.original_len))
                .collect()
        };
        self.text = w.out;
        self.align = align;
        true
    }

    /// Maps an original byte span to the current text: the smallest span of surviving
    /// bytes that came from inside it. `None` when nothing of it survived.
    pub fn map_span(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if self.is_identity() {
            let (s, e) = (start.min(self.text.len()), end.min(self.text.len()));
            return (e > s).then_some((s, e));
        }
        let s = self.align.partition_point(|&a| a < start);
        let e = self.align.partition_point(|&a| a < end);
        (e > s).then_some((s, e))
    }

    /// Like [`Aligned::map_span`] but never fails: an erased span becomes empty at its position.
    pub fn map_span_lossy(&self, start: usize, end: usize) -> (usize, usize) {
        if self.is_identity() {
            let s = start.min(self.text.len());
            return (s, end.min(self.text.len()).max(s));
        }
        let s = self.align.partition_point(|&a| a < start);
        let e = self.align.partition_point(|&a| a < end).max(s);
        (s, e)
    }
}

/// Output buffer of one rewrite pass.
#[derive(Debug, Default)]
pub struct Rewriter {
    out: String,
    map: Vec<usize>,
}

impl Rewriter {
    fn with_capacity(n: usize) -> Rewriter {
        Rewriter {
            out: String::with_capacity(n),
            map: Vec::with_capacity(n),
        }
    }

    /// Copies `piece`, which starts at current-text offset `at`, byte for byte.
    #[inline]
    pub fn copy(&mut self, piece: &str, at: usize) {
        self.out.push_str(piece);
        self.map.extend(at..at + piece.len());
    }

    /// Writes a replacement; all of its bytes map to current-text offset `at`.
    #[inline]
    pub fn replace(&mut self, piece: &str, at: usize) {
        self.out.push_str(piece);
        self.map.extend(std::iter::repeat_n(at, piece.len()));
    }

    /// Writes one replacement character mapped to `at`.
    #[inline]
    pub fn replace_char(&mut self, c: char, at: usize) {
        self.out.push(c);
        self.map.extend(std::iter::repeat_n(at, c.len_utf8()));
    }

    /// What has been written so far.
    pub fn written(&self) -> &str {
        &self.out
    }
}

/// Remaps `fields["spans"]` (`[{start,end,label}]`) and `fields["token_offsets"]`
/// (`[[s,e],…]`) of `rec` through `a` and sets `rec.text = a.text`. Spans erased
/// entirely are removed (their count is returned); token offsets are kept (possibly
/// empty) so they stay parallel to `tokens`.
pub fn apply_to_record(rec: &mut Record, a: Aligned) -> usize {
    let lost = remap_fields(rec, &a);
    rec.text = a.text;
    lost
}

/// The field half of [`apply_to_record`].
pub fn remap_fields(rec: &mut Record, a: &Aligned) -> usize {
    let mut lost = 0;
    if let Some(Value::Array(spans)) = rec.fields.get_mut("spans") {
        spans.retain_mut(|sp| {
            let (Some(s), Some(e)) = (get_u(sp, "start"), get_u(sp, "end")) else {
                return true;
            };
            match a.map_span(s, e) {
                Some((ns, ne)) => {
                    if let Some(o) = sp.as_object_mut() {
                        o.insert("start".into(), ns.into());
                        o.insert("end".into(), ne.into());
                    }
                    true
                }
                None => {
                    lost += 1;
                    false
                }
            }
        });
    }
    if let Some(Value::Array(offs)) = rec.fields.get_mut("token_offsets") {
        for pair in offs.iter_mut() {
            let se = pair
                .as_array()
                .and_then(|p| Some((p.first()?.as_u64()? as usize, p.get(1)?.as_u64()? as usize)));
            if let Some((s, e)) = se {
                let (ns, ne) = a.map_span_lossy(s, e);
                *pair = Value::from(vec![ns, ne]);
            }
        }
    }
    lost
}

fn get_u(v: &Value, k: &str) -> Option<usize> {
    v.get(k)?.as_u64().map(|x| x as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_passes_map_spans_back() {
        let mut a = Aligned::new("  Hello   world ".to_string());
        a.pass(|t, w| {
            let t2 = t.trim();
            let off = t.len() - t.trim_start().len();
            w.copy(t2, off);
        });
        assert_eq!(a.text, "Hello   world");
        a.pass(|t, w| {
            w.copy(&t[..5], 0);
            w.replace(" ", 5);
            w.copy(&t[8..], 8);
        });
        assert_eq!(a.text, "Hello world");
        assert_eq!(a.map_span(10, 15), Some((6, 11)));
        assert_eq!(a.map_span(2, 7), Some((0, 5)));
        assert_eq!(a.map_span(0, 2), None);
    }
}
