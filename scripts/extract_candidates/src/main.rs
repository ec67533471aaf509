//! Runs one Rust main-text extractor over the benchmark pages (`<sha256>.html.gz`) and
//! prints `{page id: text}` as JSON; reports pages per CPU-second on stderr. Extractors:
//! `rs_trafilatura`, `trafilatura` (the go-trafilatura port), `dom_smoothie`,
//! `libreadability`, `readabilityrs`; a `_strip` suffix first removes the elements in
//! `$DROP` (comma-separated; default: script,style,svg,noscript,template) and comments,
//! as mavuno's `extract_html` does with its own list (stages/src/web/extract.rs).
use std::io::Read;

mod web;

/// `read FILE`: mavuno's per-record WARC work; prints records, bytes, wall and CPU time.
fn read_warc(path: &str) {
    let (t0, w0) = (cpu(), Instant::now());
    let (mut n, mut html) = (0u64, 0u64);
    let end = web::records::for_each_record(std::path::Path::new(path), |_, rec| {
        n += 1;
        if rec.warc_type == "response" {
            if let Ok(resp) = web::http::parse_response(&rec.block, 8 << 20) {
                let ct = resp.content_type.as_deref().unwrap_or("");
                let charset = web::http::charset_param(ct);
                html += web::charset::decode(&resp.body, charset.as_deref())
                    .text
                    .len() as u64;
            }
        }
        Ok(true)
    })
    .expect("readable file");
    eprintln!(
        "read: {n} records, {html} HTML bytes decoded, {:.2} s wall, {:.2} CPU-s, errors: {:?}",
        w0.elapsed().as_secs_f64(),
        cpu() - t0,
        end.err()
    );
}
use std::time::Instant;
/// CPU seconds of this process (user + sys): `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`,
/// which is clock id 2 on Linux.
fn cpu() -> f64 {
    let mut t: libc_timespec = libc_timespec { s: 0, ns: 0 };
    unsafe { clock_gettime(2, &mut t) };
    t.s as f64 + t.ns as f64 * 1e-9
}
#[allow(non_camel_case_types)]
#[repr(C)]
struct libc_timespec {
    s: i64,
    ns: i64,
}
extern "C" {
    fn clock_gettime(c: i32, t: *mut libc_timespec) -> i32;
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let which = &args[1];
    let dir = &args[2];
    if which == "read" {
        return read_warc(dir);
    }
    let mut pages = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let mut s = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(&p).unwrap())
            .read_to_end(&mut s)
            .unwrap();
        let id = p
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .split('.')
            .next()
            .unwrap()
            .to_string();
        pages.push((id, String::from_utf8_lossy(&s).into_owned(), s));
    }
    let mut out = serde_json::Map::new();
    let t0 = cpu();
    let w0 = Instant::now();
    for (id, html, bytes) in &pages {
        let text = match which.as_str() {
            "mavuno" => {
                let page = web::charset::decode(bytes, None);
                web::extract::extract(&page.text, 25)
                    .map(|e| e.text)
                    .unwrap_or_default()
            }
            "rs_trafilatura" => rs_trafilatura::extract(html)
                .map(|r| r.content_text)
                .unwrap_or_default(),
            "trafilatura" => trafilatura::extract(html, &trafilatura::Options::default())
                .map(|r| r.content_text)
                .unwrap_or_default(),
            "dom_smoothie" => dom_smoothie::Readability::new(html.as_str(), None, None)
                .ok()
                .and_then(|mut r| r.parse().ok())
                .map(|a| a.text_content.to_string())
                .unwrap_or_default(),
            "libreadability_strip" => libreadability::extract(&strip(html), None)
                .map(|a| a.text_content)
                .unwrap_or_default(),
            "dom_smoothie_strip" => {
                dom_smoothie::Readability::new(strip(html).as_str(), None, None)
                    .ok()
                    .and_then(|mut r| r.parse().ok())
                    .map(|a| a.text_content.to_string())
                    .unwrap_or_default()
            }
            "rs_trafilatura_strip" => rs_trafilatura::extract(&strip(html))
                .map(|r| r.content_text)
                .unwrap_or_default(),
            "libreadability" => libreadability::extract(html, None)
                .map(|a| a.text_content)
                .unwrap_or_default(),
            "readabilityrs" => readabilityrs::Readability::new(html, None, None)
                .ok()
                .and_then(|r| r.parse())
                .and_then(|a| a.text_content)
                .unwrap_or_default(),
            _ => panic!(),
        };
        out.insert(id.clone(), serde_json::Value::String(text));
    }
    let cpu_s = cpu() - t0;
    eprintln!(
        "{which}: {} pages, {:.3} CPU-s, {:.3} wall-s, {:.1} pages/CPU-s",
        pages.len(),
        cpu_s,
        w0.elapsed().as_secs_f64(),
        pages.len() as f64 / cpu_s
    );
    println!("{}", serde_json::Value::Object(out));
}

fn drop_tags() -> Vec<String> {
    std::env::var("DROP")
        .unwrap_or("script,style,svg,noscript,template".into())
        .split(',')
        .map(|x| x.to_string())
        .collect()
}
/// Removes whole elements (nesting-aware for the same tag) and comments, by byte scan.
fn strip(html: &str) -> String {
    let tags = drop_tags();
    let b = html.as_bytes();
    let mut out = String::with_capacity(b.len() / 2);
    let mut i = 0;
    let mut last = 0;
    'outer: while let Some(off) = memchr::memchr(b'<', &b[i..]) {
        let at = i + off;
        let rest = &b[at + 1..];
        if rest.starts_with(b"!--") {
            match memchr::memmem::find(&rest[3..], b"-->") {
                None => break,
                Some(e) => {
                    out.push_str(&html[last..at]);
                    last = at + 1 + 3 + e + 3;
                    i = last;
                    continue;
                }
            }
        }
        for t in &tags {
            let t = t.as_bytes();
            if starts_ci(rest, t)
                && rest
                    .get(t.len())
                    .map_or(false, |c| !c.is_ascii_alphanumeric() && *c != b'-')
            {
                let raw = matches!(
                    t,
                    b"script" | b"style" | b"noscript" | b"template" | b"textarea"
                );
                // find the matching close tag
                let mut depth = 1usize;
                let mut j = at + 1 + t.len();
                loop {
                    let Some(o) = memchr::memchr(b'<', &b[j..]) else {
                        break 'outer;
                    };
                    let k = j + o + 1;
                    let r = &b[k..];
                    if r.first() == Some(&b'/')
                        && starts_ci(&r[1..], t)
                        && r.get(1 + t.len())
                            .map_or(true, |c| !c.is_ascii_alphanumeric() && *c != b'-')
                    {
                        depth -= 1;
                        if depth == 0 {
                            let stop = memchr::memchr(b'>', &b[k..]).map_or(b.len(), |g| k + g + 1);
                            out.push_str(&html[last..at]);
                            last = stop;
                            i = stop;
                            continue 'outer;
                        }
                    } else if !raw
                        && starts_ci(r, t)
                        && r.get(t.len())
                            .map_or(false, |c| !c.is_ascii_alphanumeric() && *c != b'-')
                    {
                        depth += 1;
                    }
                    j = k;
                }
            }
        }
        i = at + 1;
    }
    out.push_str(&html[last..]);
    out
}
fn starts_ci(h: &[u8], p: &[u8]) -> bool {
    h.len() >= p.len() && h[..p.len()].eq_ignore_ascii_case(p)
}
