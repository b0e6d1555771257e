//! MIME types: normalisation to GigaChat's spellings, the allow-list (§7.1), magic-byte
//! sniffing and file-name extensions.

use crate::ir::MediaKind;

/// What GigaChat does with a file, which decides its size cap and whether it counts
/// towards the image limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Category {
    Image,
    Audio,
    /// Text documents: txt, doc(x), pdf, epub, ppt(x), xlsx.
    Document,
}

impl Category {
    pub(super) fn noun(self) -> &'static str {
        match self {
            Category::Image => "image",
            Category::Audio => "audio file",
            Category::Document => "document",
        }
    }

    pub(super) fn plural(self) -> &'static str {
        match self {
            Category::Image => "images",
            Category::Audio => "audio files",
            Category::Document => "documents",
        }
    }
}

/// Human-readable summary of the allow-list, for error messages.
pub(super) const SUPPORTED_SUMMARY: &str = "GigaChat accepts images (JPEG, PNG, TIFF, BMP), \
     documents (TXT, DOC, DOCX, PDF, EPUB, PPT, PPTX, XLSX) and audio \
     (MP3, MP4, M4A, WAV, WEBM, OGG, OPUS)";

/// The allow-list, in GigaChat's own spellings (§7.1). Input is normalised with
/// [`normalize`] first.
pub(super) fn category(mime: &str) -> Option<Category> {
    Some(match mime {
        "image/jpeg" | "image/png" | "image/tiff" | "image/bmp" => Category::Image,
        "text/plain"
        | "application/msword"
        | "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        | "application/pdf"
        | "application/epub"
        | "application/ppt"
        | "application/pptx"
        | "application/vnd.ms-excel" => Category::Document,
        "audio/mp4" | "audio/mp3" | "audio/x-m4a" | "audio/x-wav" | "audio/wave" | "audio/wav"
        | "audio/x-pn-wav" | "audio/webm" | "audio/x-ogg" | "audio/opus" => Category::Audio,
        _ => return None,
    })
}

/// Types that say nothing about the content; they are ignored in favour of the next
/// source of information.
fn is_generic(mime: &str) -> bool {
    matches!(
        mime,
        "" | "application/octet-stream"
            | "binary/octet-stream"
            | "application/binary"
            | "application/unknown"
            | "application/x-download"
            | "application/force-download"
            | "application/download"
            | "*/*"
    )
}

/// Lower-cases, drops parameters and maps aliases to the spelling GigaChat documents.
/// `text/*` becomes `text/plain` for documents (GigaChat only takes `text/plain`) but
/// not for image parts, where a text type means the URL served something else (an
/// HTML error page, typically) and must be refused. Returns `None` for generic types.
pub(super) fn normalize(raw: &str, kind: MediaKind) -> Option<String> {
    let essence = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if is_generic(&essence) {
        return None;
    }
    let mapped = match essence.as_str() {
        "image/jpg" | "image/pjpeg" | "image/jpe" => "image/jpeg",
        "image/x-png" => "image/png",
        "image/x-ms-bmp" | "image/x-bmp" | "image/ms-bmp" => "image/bmp",
        "image/tif" | "image/x-tiff" => "image/tiff",
        "application/x-pdf" => "application/pdf",
        "application/epub+zip" => "application/epub",
        "application/vnd.ms-powerpoint" | "application/mspowerpoint" => "application/ppt",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            "application/pptx"
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            "application/vnd.ms-excel"
        }
        "audio/mpeg" | "audio/mpeg3" | "audio/x-mpeg-3" | "audio/x-mp3" | "audio/mpg" => {
            "audio/mp3"
        }
        "audio/m4a" => "audio/x-m4a",
        "audio/vnd.wave" | "audio/vnd.wav" => "audio/wav",
        "audio/ogg" | "application/ogg" | "audio/vorbis" => "audio/x-ogg",
        t if t.starts_with("text/") && kind == MediaKind::File => "text/plain",
        _ => return Some(essence),
    };
    Some(mapped.to_string())
}

/// Formats with unambiguous signatures. These win over a declared type: clients often
/// label `data:` URLs wrongly, and a GIF labelled `image/png` must still be refused
/// as a GIF rather than fail at GigaChat.
pub(super) fn sniff_strong(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some("image/png");
    }
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some("image/jpeg");
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Some("image/gif");
    }
    if b.len() >= 12 && b.starts_with(b"RIFF") {
        match &b[8..12] {
            b"WEBP" => return Some("image/webp"),
            b"WAVE" => return Some("audio/wav"),
            _ => {}
        }
    }
    if b.starts_with(b"II*\0") || b.starts_with(b"MM\0*") {
        return Some("image/tiff");
    }
    if is_bmp(b) {
        return Some("image/bmp");
    }
    if b.starts_with(b"%PDF-") {
        return Some("application/pdf");
    }
    if b.len() >= 5 && b.starts_with(b"OggS") && b[4] == 0 {
        // An Ogg stream whose first packet is an Opus header is an `.opus` file.
        let head = &b[..b.len().min(64)];
        return Some(if contains(head, b"OpusHead") {
            "audio/opus"
        } else {
            "audio/x-ogg"
        });
    }
    if b.len() >= 5 && b.starts_with(b"ID3") && (2..=4).contains(&b[3]) && b[4] != 0xFF {
        return Some("audio/mp3");
    }
    // MPEG-1/2 layer III frame sync without an ID3 tag.
    if b.len() >= 2 && b[0] == 0xFF && matches!(b[1], 0xFB | 0xFA | 0xF3 | 0xF2 | 0xE3 | 0xE2) {
        return Some("audio/mp3");
    }
    if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("audio/webm");
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return Some(match &b[8..12] {
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => "image/heic",
            b"avif" | b"avis" => "image/avif",
            b"M4A " | b"M4B " => "audio/x-m4a",
            _ => "audio/mp4",
        });
    }
    None
}

/// Zip-based office formats, recognised by entry names near the start of the archive.
/// Weaker than [`sniff_strong`]: used only when nothing else is known.
pub(super) fn sniff_weak(b: &[u8]) -> Option<&'static str> {
    if !b.starts_with(b"PK\x03\x04") {
        return None;
    }
    let head = &b[..b.len().min(64 * 1024)];
    if b.len() >= 58 && &b[30..38] == b"mimetype" && contains(&b[38..58], b"application/epub") {
        return Some("application/epub");
    }
    if contains(head, b"word/") {
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    } else if contains(head, b"ppt/") {
        Some("application/pptx")
    } else if contains(head, b"xl/") {
        Some("application/vnd.ms-excel")
    } else {
        None
    }
}

/// A BMP file header followed by a known DIB header size.
fn is_bmp(b: &[u8]) -> bool {
    if b.len() < 26 || !b.starts_with(b"BM") {
        return false;
    }
    let dib = u32::from_le_bytes([b[14], b[15], b[16], b[17]]);
    matches!(dib, 12 | 40 | 52 | 56 | 64 | 108 | 124)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The type a file name's extension suggests.
pub(super) fn from_extension(filename: &str, kind: MediaKind) -> Option<&'static str> {
    let ext = filename.rsplit_once('.')?.1.to_ascii_lowercase();
    Some(match ext.as_str() {
        "jpg" | "jpeg" | "jpe" | "jfif" => "image/jpeg",
        "png" => "image/png",
        "tif" | "tiff" => "image/tiff",
        "bmp" | "dib" => "image/bmp",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "heic" | "heif" => "image/heic",
        "avif" => "image/avif",
        "svg" => "image/svg+xml",
        "pdf" => "application/pdf",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "epub" => "application/epub",
        "ppt" => "application/ppt",
        "pptx" => "application/pptx",
        "xlsx" | "xls" => "application/vnd.ms-excel",
        "txt" | "text" | "md" | "markdown" | "csv" | "tsv" | "log" | "json" | "xml" | "yaml"
        | "yml"
            if kind == MediaKind::File =>
        {
            "text/plain"
        }
        "mp3" => "audio/mp3",
        "mp4" => "audio/mp4",
        "m4a" => "audio/x-m4a",
        "wav" => "audio/wav",
        "weba" | "webm" => "audio/webm",
        "ogg" | "oga" => "audio/x-ogg",
        "opus" => "audio/opus",
        _ => return None,
    })
}

/// Extension for a generated file name.
pub(super) fn extension(mime: &str) -> &'static str {
    match mime {
        "image/jpeg" => "jpg",
        "image/png" => "png",
        "image/tiff" => "tiff",
        "image/bmp" => "bmp",
        "text/plain" => "txt",
        "application/msword" => "doc",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => "docx",
        "application/pdf" => "pdf",
        "application/epub" => "epub",
        "application/ppt" => "ppt",
        "application/pptx" => "pptx",
        "application/vnd.ms-excel" => "xlsx",
        "audio/mp4" => "mp4",
        "audio/mp3" => "mp3",
        "audio/x-m4a" => "m4a",
        "audio/x-wav" | "audio/wave" | "audio/wav" | "audio/x-pn-wav" => "wav",
        "audio/webm" => "weba",
        "audio/x-ogg" => "ogg",
        "audio/opus" => "opus",
        _ => "bin",
    }
}

/// Where the type of an attachment can come from, in the order they are consulted.
pub(super) struct Evidence<'a> {
    pub kind: MediaKind,
    /// Declared by the client (`data:` URL, Anthropic `media_type`).
    pub declared: Option<&'a str>,
    /// `Content-Type` of a download.
    pub content_type: Option<&'a str>,
    /// The client's file name, or the last segment of a URL path.
    pub filename: Option<&'a str>,
    pub bytes: &'a [u8],
}

/// Decides the MIME type: strong magic bytes, else the declared type, else the
/// download's `Content-Type`, else weak (zip) sniffing, else the file-name extension,
/// else `text/plain` for UTF-8 text in a document part. Generic types such as
/// `application/octet-stream` count as absent. `None`: nothing is known.
pub(super) fn determine(ev: &Evidence<'_>) -> Option<String> {
    if let Some(m) = sniff_strong(ev.bytes) {
        return Some(m.to_string());
    }
    if let Some(m) = ev.declared.and_then(|d| normalize(d, ev.kind)) {
        return Some(m);
    }
    if let Some(m) = ev.content_type.and_then(|c| normalize(c, ev.kind)) {
        return Some(m);
    }
    if let Some(m) = sniff_weak(ev.bytes) {
        return Some(m.to_string());
    }
    if let Some(m) = ev.filename.and_then(|f| from_extension(f, ev.kind)) {
        return Some(m.to_string());
    }
    if ev.kind == MediaKind::File && looks_like_text(ev.bytes) {
        return Some("text/plain".to_string());
    }
    None
}

fn looks_like_text(b: &[u8]) -> bool {
    let sample = &b[..b.len().min(8192)];
    if sample.contains(&0) {
        return false;
    }
    match std::str::from_utf8(sample) {
        Ok(_) => true,
        // A multi-byte character cut by the sample boundary is still text.
        Err(e) => e.error_len().is_none() && sample.len() - e.valid_up_to() < 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    #[test]
    fn normalisation() {
        let img = MediaKind::Image;
        let file = MediaKind::File;
        for (raw, kind, want) in [
            ("image/jpg", img, Some("image/jpeg")),
            ("IMAGE/JPEG; charset=binary", img, Some("image/jpeg")),
            ("image/pjpeg", img, Some("image/jpeg")),
            ("image/x-ms-bmp", img, Some("image/bmp")),
            ("application/octet-stream", img, None),
            ("", file, None),
            ("audio/mpeg", file, Some("audio/mp3")),
            ("audio/ogg", file, Some("audio/x-ogg")),
            ("application/epub+zip", file, Some("application/epub")),
            (
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                file,
                Some("application/vnd.ms-excel"),
            ),
            ("text/markdown", file, Some("text/plain")),
            ("text/html; charset=utf-8", img, Some("text/html")),
            ("image/gif", img, Some("image/gif")),
        ] {
            assert_eq!(normalize(raw, kind).as_deref(), want, "{raw}");
        }
    }

    #[test]
    fn allow_list() {
        assert_eq!(category("image/jpeg"), Some(Category::Image));
        assert_eq!(category("image/bmp"), Some(Category::Image));
        assert_eq!(category("application/pdf"), Some(Category::Document));
        assert_eq!(category("text/plain"), Some(Category::Document));
        assert_eq!(category("audio/x-ogg"), Some(Category::Audio));
        assert_eq!(category("image/gif"), None);
        assert_eq!(category("image/webp"), None);
        assert_eq!(category("text/html"), None);
        assert_eq!(category("image/jpg"), None, "callers normalise first");
    }

    #[test]
    fn sniffing_table() {
        let mut bmp = b"BM".to_vec();
        bmp.extend_from_slice(&[0; 12]);
        bmp.extend_from_slice(&40u32.to_le_bytes());
        bmp.extend_from_slice(&[0; 8]);
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend_from_slice(&[0; 4]);
        let mut opus = b"OggS\0\x02".to_vec();
        opus.extend_from_slice(&[0; 22]);
        opus.extend_from_slice(b"OpusHead");
        for (bytes, want) in [
            (PNG, Some("image/png")),
            (&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10][..], Some("image/jpeg")),
            (b"GIF89a\x01\0\x01\0", Some("image/gif")),
            (b"RIFF\0\0\0\0WEBPVP8 ", Some("image/webp")),
            (&wav[..], Some("audio/wav")),
            (b"II*\0\x08\0\0\0", Some("image/tiff")),
            (b"MM\0*\0\0\0\x08", Some("image/tiff")),
            (&bmp[..], Some("image/bmp")),
            (b"BMW is a car brand, not a bitmap.", None),
            (b"%PDF-1.7\n", Some("application/pdf")),
            (b"OggS\0\x02\0\0\0\0\0\0\0\0", Some("audio/x-ogg")),
            (&opus[..], Some("audio/opus")),
            (b"ID3\x03\0\0\0\0\0\0", Some("audio/mp3")),
            (b"ID3 tags explained", None),
            (&[0xFF, 0xFB, 0x90, 0x64][..], Some("audio/mp3")),
            (&[0x1A, 0x45, 0xDF, 0xA3, 0x01][..], Some("audio/webm")),
            (b"\0\0\0\x20ftypM4A \0\0\0\0", Some("audio/x-m4a")),
            (b"\0\0\0\x20ftypisom\0\0\0\0", Some("audio/mp4")),
            (b"\0\0\0\x20ftypheic\0\0\0\0", Some("image/heic")),
            (b"hello world", None),
            (b"", None),
        ] {
            assert_eq!(
                sniff_strong(bytes),
                want,
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn zip_sniffing() {
        let mut docx = b"PK\x03\x04".to_vec();
        docx.extend_from_slice(&[0; 26]);
        docx.extend_from_slice(b"[Content_Types].xml....word/document.xml");
        assert_eq!(
            sniff_weak(&docx),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        let mut epub = b"PK\x03\x04".to_vec();
        epub.extend_from_slice(&[0; 26]);
        epub.extend_from_slice(b"mimetypeapplication/epub+zip");
        assert_eq!(sniff_weak(&epub), Some("application/epub"));
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend_from_slice(&[0; 40]);
        assert_eq!(sniff_weak(&zip), None);
    }

    fn ev<'a>(
        kind: MediaKind,
        declared: Option<&'a str>,
        content_type: Option<&'a str>,
        filename: Option<&'a str>,
        bytes: &'a [u8],
    ) -> Evidence<'a> {
        Evidence {
            kind,
            declared,
            content_type,
            filename,
            bytes,
        }
    }

    #[test]
    fn precedence() {
        let img = MediaKind::Image;
        let file = MediaKind::File;
        // Magic bytes correct a wrong label.
        assert_eq!(
            determine(&ev(img, Some("image/jpeg"), None, None, PNG)).as_deref(),
            Some("image/png")
        );
        assert_eq!(
            determine(&ev(img, Some("image/png"), None, None, b"GIF89a\x01\0")).as_deref(),
            Some("image/gif")
        );
        // Declared beats Content-Type beats the extension.
        assert_eq!(
            determine(&ev(
                file,
                Some("application/msword"),
                Some("application/pdf"),
                Some("x.txt"),
                b"\xD0\xCF\x11\xE0"
            ))
            .as_deref(),
            Some("application/msword")
        );
        assert_eq!(
            determine(&ev(
                file,
                Some("application/octet-stream"),
                Some("application/pptx"),
                Some("x.txt"),
                b"\xD0\xCF\x11\xE0"
            ))
            .as_deref(),
            Some("application/pptx")
        );
        assert_eq!(
            determine(&ev(
                file,
                None,
                Some("binary/octet-stream"),
                Some("slides.PPT"),
                b"\xD0\xCF\x11\xE0"
            ))
            .as_deref(),
            Some("application/ppt")
        );
        // UTF-8 text in a document part is plain text; in an image part it is unknown.
        assert_eq!(
            determine(&ev(file, None, None, None, "привет".as_bytes())).as_deref(),
            Some("text/plain")
        );
        assert_eq!(determine(&ev(img, None, None, None, b"hello")), None);
        assert_eq!(determine(&ev(file, None, None, None, b"\0\x01\x02")), None);
    }

    #[test]
    fn extensions() {
        assert_eq!(
            from_extension("a.JPG", MediaKind::Image),
            Some("image/jpeg")
        );
        assert_eq!(
            from_extension("notes.md", MediaKind::File),
            Some("text/plain")
        );
        assert_eq!(from_extension("notes.md", MediaKind::Image), None);
        assert_eq!(from_extension("noext", MediaKind::File), None);
        assert_eq!(extension("image/jpeg"), "jpg");
        assert_eq!(extension("application/vnd.ms-excel"), "xlsx");
        assert_eq!(extension("text/plain"), "txt");
    }
}
