//! What an upload is, decided from its first bytes (`infer`), and whether its name agrees.
//!
//! The name the uploader gives is only checked (a `.png` that holds HTML is refused) and used in
//! `Content-Disposition`; the bytes decide the type. Markup (HTML, SVG, XML) is recognised here
//! even when `infer` does not know it, because a browser would run its scripts if it were ever
//! served inline.

/// How many leading bytes decide the type.
pub const SNIFF_BYTES: usize = 8192;

/// The type found in the bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub mime: String,
    /// `image` (a raster we can decode), `video`, `audio` or `file`.
    pub kind: &'static str,
}

/// Rasters decoded for thumbnails; other image types are plain files.
const DECODABLE_IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];

/// Types that a browser could execute or render as a document: never inline, never under
/// another type's extension.
const MARKUP: &[&str] = &["text/html", "image/svg+xml", "text/xml", "application/xml"];

/// The type of an upload from its first bytes.
pub fn detect(head: &[u8]) -> Detected {
    if let Some(mime) = markup(head) {
        return Detected {
            mime: mime.into(),
            kind: "file",
        };
    }
    if let Some(found) = infer::get(head) {
        let mime = found.mime_type().to_owned();
        let kind = match found.matcher_type() {
            infer::MatcherType::Image if DECODABLE_IMAGES.contains(&mime.as_str()) => "image",
            infer::MatcherType::Video => "video",
            infer::MatcherType::Audio => "audio",
            _ => "file",
        };
        return Detected { mime, kind };
    }
    let mime = if looks_like_text(head) {
        "text/plain"
    } else {
        "application/octet-stream"
    };
    Detected {
        mime: mime.into(),
        kind: "file",
    }
}

fn markup(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(&head[..head.len().min(1024)]).to_ascii_lowercase();
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    if !start.starts_with('<') {
        return None;
    }
    if text.contains("<svg") {
        Some("image/svg+xml")
    } else if [
        "<!doctype html",
        "<html",
        "<script",
        "<head",
        "<body",
        "<iframe",
    ]
    .iter()
    .any(|tag| text.contains(tag))
    {
        Some("text/html")
    } else {
        Some("text/xml")
    }
}

/// Valid UTF-8 without control characters other than whitespace (a cut last character is fine).
fn looks_like_text(head: &[u8]) -> bool {
    let valid = match std::str::from_utf8(head) {
        Ok(text) => text,
        Err(err) if head.len() - err.valid_up_to() < 4 && err.error_len().is_none() => {
            std::str::from_utf8(&head[..err.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return false,
    };
    !valid.is_empty()
        && !valid
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t' | '\u{c}'))
}

/// Whether the name's extension claims a different type than the bytes have.
pub fn contradicts(name: &str, detected: &Detected) -> bool {
    let claimed = extension(name).and_then(|ext| mime_guess::from_ext(&ext).first());
    let is_markup = MARKUP.contains(&detected.mime.as_str());
    let Some(claimed) = claimed else {
        // No extension, or one nobody knows: only markup must say what it is.
        return is_markup;
    };
    let claimed_top = claimed.type_().as_str();
    let (top, sub) = detected.mime.split_once('/').unwrap_or(("application", ""));
    if is_markup {
        return !MARKUP.contains(&claimed.essence_str());
    }
    let media = ["image", "audio", "video"];
    if !media.contains(&claimed_top) && !media.contains(&top) {
        return false;
    }
    if claimed_top == "image" && top == "image" {
        return !same_image_type(claimed.subtype().as_str(), sub);
    }
    // Audio and video containers overlap (an .m4a is an MP4, a .webm may hold only sound).
    let av = ["audio", "video"];
    !(claimed_top == top || av.contains(&claimed_top) && av.contains(&top))
}

fn same_image_type(a: &str, b: &str) -> bool {
    // Names for the same format: `.jpg`, and HEIC photos that are HEIF containers.
    let norm = |s: &str| {
        match s {
            "pjpeg" | "jpg" => "jpeg",
            "heic" | "heif" | "heic-sequence" | "heif-sequence" => "heif",
            other => other,
        }
        .to_owned()
    };
    norm(a) == norm(b)
}

fn extension(name: &str) -> Option<String> {
    let (_, ext) = name.rsplit_once('.')?;
    (!ext.is_empty()).then(|| ext.to_ascii_lowercase())
}

/// A file name as given, if it is a plain name: no directories, no control characters.
pub fn parse_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() || name.len() > 255 {
        return Err("must be 1 to 255 bytes");
    }
    if name.contains(['/', '\\']) || name == "." || name.starts_with("..") {
        return Err("must be a plain file name, without directories");
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        return Err("must not contain control characters");
    }
    Ok(name.to_owned())
}

/// Whether a type may be shown in the page rather than downloaded.
pub fn is_inline(mime: &str) -> bool {
    let (top, _) = mime.split_once('/').unwrap_or_default();
    !MARKUP.contains(&mime) && (matches!(top, "image" | "audio" | "video") || mime == "text/plain")
}

/// `Content-Disposition` with an ASCII fallback and the exact name in RFC 5987 form.
pub fn content_disposition(inline: bool, name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && !matches!(c, '"' | '\\' | '%' | ';') || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded = percent_encoding::utf8_percent_encode(name, percent_encoding::NON_ALPHANUMERIC);
    let disposition = if inline { "inline" } else { "attachment" };
    format!("{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn bytes_decide_the_kind() {
        assert_eq!(detect(PNG).kind, "image");
        assert_eq!(detect(b"hello\nworld").mime, "text/plain");
        assert_eq!(
            detect(b"\0\x01\x02garbage").mime,
            "application/octet-stream"
        );
        assert_eq!(detect(b"  <!DOCTYPE html><script>").mime, "text/html");
        assert_eq!(
            detect(b"<?xml version='1.0'?><svg onload=x>").mime,
            "image/svg+xml"
        );
    }

    #[test]
    fn extensions_that_lie_are_caught() {
        let html = detect(b"<html><script>alert(1)</script>");
        assert!(contradicts("cat.png", &html));
        assert!(contradicts("page", &html));
        assert!(!contradicts("page.html", &html));
        assert!(contradicts("photo.jpg", &detect(PNG)));
        assert!(!contradicts("photo.PNG", &detect(PNG)));
        assert!(contradicts("notes.png", &detect(b"just text")));
        assert!(!contradicts("notes.txt", &detect(b"just text")));
        assert!(!contradicts("blob.bin", &detect(b"\0\x01")));
    }

    #[test]
    fn names_with_paths_or_controls_are_refused() {
        assert!(parse_name("../../etc/passwd").is_err());
        assert!(parse_name("a\\b.txt").is_err());
        assert!(parse_name("bad\u{0}name.txt").is_err());
        assert!(parse_name("evil\u{202e}gnp.exe").is_err());
        assert_eq!(parse_name(" ok name.txt ").as_deref(), Ok("ok name.txt"));
    }

    #[test]
    fn dispositions_quote_nothing_dangerous() {
        let header = content_disposition(false, "a\"b;é.txt");
        assert_eq!(
            header,
            "attachment; filename=\"a_b__.txt\"; filename*=UTF-8''a%22b%3B%C3%A9%2Etxt"
        );
        assert!(!is_inline("image/svg+xml"));
        assert!(is_inline("image/png"));
        assert!(!is_inline("application/pdf"));
    }
}
