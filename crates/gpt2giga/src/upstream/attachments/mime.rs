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

/// Formats with unambiguous signatures, recognised by `infer`, in GigaChat's spellings.
/// These win over a declared type: clients often label `data:` URLs wrongly, and a GIF
/// labelled `image/png` must still be refused as a GIF rather than fail at GigaChat.
pub(super) fn sniff_strong(b: &[u8]) -> Option<&'static str> {
    let sniffed = infer::get(b).and_then(|t| match t.mime_type() {
        m @ ("image/png" | "image/jpeg" | "image/gif" | "image/webp" | "image/tiff"
        | "image/avif" | "application/pdf" | "audio/opus") => Some(m),
        // `infer` takes any file starting with "BM" for a bitmap (text too).
        "image/bmp" => is_bmp(b).then_some("image/bmp"),
        "image/heif" => Some("image/heic"),
        "audio/x-wav" => Some("audio/wav"),
        "audio/ogg" => Some("audio/x-ogg"),
        // `infer` takes any file starting with "ID3" for MP3 (text too).
        "audio/mpeg" if b.starts_with(b"ID3") => is_id3v2(b).then_some("audio/mp3"),
        "audio/mpeg" => Some("audio/mp3"),
        "audio/m4a" => Some("audio/x-m4a"),
        "video/mp4" | "video/x-m4v" | "video/quicktime" => Some("audio/mp4"),
        "video/webm" | "video/x-matroska" => Some("audio/webm"),
        _ => None,
    });
    sniffed.or_else(|| container_fallback(b))
}

/// Containers `infer` names only in part, which GigaChat takes as audio: an EBML header
/// (`infer` wants the WebM doc type within the first 256 bytes) is WebM, and an ISO-BMFF
/// `ftyp` box of a brand `infer` does not list (M4B audiobooks, 3GP…) is MP4 audio.
fn container_fallback(b: &[u8]) -> Option<&'static str> {
    if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        return Some("audio/webm");
    }
    match b.get(4..12) {
        Some([b'f', b't', b'y', b'p', b'M', b'4', b'B', b' ']) => Some("audio/x-m4a"),
        Some([b'f', b't', b'y', b'p', ..]) => Some("audio/mp4"),
        _ => None,
    }
}

/// Zip-based office formats and EPUB, recognised by `infer` from the archive's entries.
/// Weaker than [`sniff_strong`]: used only when nothing else is known.
pub(super) fn sniff_weak(b: &[u8]) -> Option<&'static str> {
    infer::get(b).and_then(|t| match t.mime_type() {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document" => {
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        }
        "application/vnd.openxmlformats-officedocument.presentationml.presentation" => {
            Some("application/pptx")
        }
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => {
            Some("application/vnd.ms-excel")
        }
        "application/epub+zip" => Some("application/epub"),
        _ => None,
    })
}

/// A BMP file header followed by a known DIB header size.
fn is_bmp(b: &[u8]) -> bool {
    let Some(dib) = b.get(14..18) else {
        return false;
    };
    let dib = u32::from_le_bytes([dib[0], dib[1], dib[2], dib[3]]);
    b.len() >= 26 && matches!(dib, 12 | 40 | 52 | 56 | 64 | 108 | 124)
}

/// An ID3v2 tag: "ID3", a major version of 2 to 4, a revision that is not 0xFF.
fn is_id3v2(b: &[u8]) -> bool {
    matches!(b.get(3..5), Some([2..=4, rev]) if *rev != 0xFF)
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
            (b"II*\0\x08\0\0\0\x01\0", Some("image/tiff")),
            (b"MM\0*\0\0\0\x08\0\x01", Some("image/tiff")),
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
            (b"\0\0\0\x10ftypheic\0\0\0\0", Some("image/heic")),
            (b"\0\0\0\x14ftypmif1\0\0\0\0heic", Some("image/heic")),
            (b"\0\0\0\x10ftypavif\0\0\0\0", Some("image/avif")),
            (b"\0\0\0\x20ftypM4B \0\0\0\0", Some("audio/x-m4a")),
            (b"\0\0\0\x20ftyp3gp4\0\0\0\0", Some("audio/mp4")),
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

    /// A zip archive of empty, stored entries with these names.
    fn zip(names: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        for name in names {
            out.extend_from_slice(b"PK\x03\x04");
            out.extend_from_slice(&[0; 22]);
            out.extend_from_slice(&u16::try_from(name.len()).unwrap().to_le_bytes());
            out.extend_from_slice(&[0; 2]);
            out.extend_from_slice(name.as_bytes());
        }
        out
    }

    #[test]
    fn zip_sniffing() {
        // The entries of a real office file, in the order Office writes them.
        let ooxml = |dir: &str, part: &str| {
            let rels = format!("{dir}/_rels/{part}.rels");
            let part = format!("{dir}/{part}");
            zip(&["[Content_Types].xml", "_rels/.rels", &rels, &part])
        };
        let docx = ooxml("word", "document.xml");
        assert_eq!(
            sniff_weak(&docx),
            Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        );
        assert_eq!(
            sniff_weak(&ooxml("ppt", "presentation.xml")),
            Some("application/pptx")
        );
        assert_eq!(
            sniff_weak(&ooxml("xl", "workbook.xml")),
            Some("application/vnd.ms-excel")
        );
        let mut epub = b"PK\x03\x04".to_vec();
        epub.extend_from_slice(&[0; 26]);
        epub.extend_from_slice(b"mimetypeapplication/epub+zip");
        assert_eq!(sniff_weak(&epub), Some("application/epub"));
        assert_eq!(sniff_weak(&zip(&["notes.txt"])), None);
        assert_eq!(sniff_strong(&docx), None);
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
