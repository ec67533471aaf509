//! Minimal inline-SVG charts for the HTML reports.

/// Escapes text for HTML and SVG.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number as a report shows it: integers without decimals, others with two.
pub fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x:.2}")
    }
}

/// A horizontal bar chart: one row per `(label, value)`, bars scaled to the largest value.
pub fn bar_chart(title: &str, bars: &[(String, f64)]) -> String {
    const W: f64 = 640.0;
    const LABEL: f64 = 170.0;
    const ROW: f64 = 18.0;
    const TOP: f64 = 24.0;
    let max = bars.iter().map(|b| b.1).fold(0.0f64, f64::max);
    let h = TOP + ROW * bars.len().max(1) as f64 + 6.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{t}\">\
<text x=\"0\" y=\"15\" font-weight=\"bold\" font-size=\"13\">{t}</text>",
        t = escape(title)
    );
    if bars.is_empty() {
        s.push_str(&format!(
            "<text x=\"{LABEL}\" y=\"{}\" font-size=\"12\" fill=\"#777\">no data</text>",
            TOP + 13.0
        ));
    }
    let span = W - LABEL - 70.0;
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let len = if max > 0.0 {
            (v / max * span).max(if *v > 0.0 { 1.0 } else { 0.0 })
        } else {
            0.0
        };
        s.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" font-size=\"12\" text-anchor=\"end\">{l}</text>\
<rect x=\"{LABEL}\" y=\"{y}\" width=\"{len:.1}\" height=\"{bh}\" fill=\"#4a7ebb\"/>\
<text x=\"{vx:.1}\" y=\"{ty}\" font-size=\"11\">{v}</text>",
            lx = LABEL - 6.0,
            ty = y + 12.0,
            l = escape(label),
            bh = ROW - 4.0,
            vx = LABEL + len + 4.0,
            v = fmt_num(*v)
        ));
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_escapes_labels_and_handles_no_data() {
        let s = bar_chart("a<b", &[("x&y".into(), 3.0), ("z".into(), 0.5)]);
        assert!(s.contains("a&lt;b") && s.contains("x&amp;y") && s.contains(">0.50<"));
        assert!(bar_chart("empty", &[]).contains("no data"));
        assert_eq!(fmt_num(12.0), "12");
    }
}
