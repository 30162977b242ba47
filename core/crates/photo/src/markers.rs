//! Just enough JPEG marker handling to carry a colour profile over: the APP2 `ICC_PROFILE`
//! segments of the input are spliced into the output after its JFIF header. Nothing else of
//! the input's metadata ever reaches the output.

const ICC_SIGNATURE: &[u8] = b"ICC_PROFILE\0";

/// The input's APP2 ICC segments (each with its marker and length), in order.
pub(crate) fn icc_segments(jpeg: &[u8]) -> Vec<Vec<u8>> {
    segments_with_whole(jpeg)
        .filter(|(marker, body, _)| *marker == 0xE2 && body.starts_with(ICC_SIGNATURE))
        .map(|(_, _, whole)| whole.to_vec())
        .collect()
}

/// `jpeg` with `extra` segments inserted after SOI and any APP0 (JFIF) segment.
pub(crate) fn insert_after_jfif(jpeg: &[u8], extra: &[Vec<u8>]) -> Vec<u8> {
    let mut at = 2;
    if let Some((0xE0, _, whole)) = segments_with_whole(jpeg).next() {
        at += whole.len();
    }
    let mut out = Vec::with_capacity(jpeg.len() + extra.iter().map(|s| s.len()).sum::<usize>());
    out.extend_from_slice(&jpeg[..at]);
    for segment in extra {
        out.extend_from_slice(segment);
    }
    out.extend_from_slice(&jpeg[at..]);
    out
}

/// The markers of the segments before the image data (for tests and checks).
pub fn marker_list(jpeg: &[u8]) -> Vec<(u8, Vec<u8>)> {
    segments_with_whole(jpeg)
        .map(|(m, body, _)| (m, body.iter().take(16).copied().collect()))
        .collect()
}

/// Header segments `(marker, body, whole segment)` up to the start of scan.
fn segments_with_whole(jpeg: &[u8]) -> impl Iterator<Item = (u8, &[u8], &[u8])> {
    let mut pos = if jpeg.starts_with(&[0xFF, 0xD8]) {
        2
    } else {
        jpeg.len()
    };
    std::iter::from_fn(move || {
        while pos + 4 <= jpeg.len() && jpeg[pos] == 0xFF {
            let marker = jpeg[pos + 1];
            if marker == 0xFF {
                pos += 1; // fill byte
                continue;
            }
            if marker == 0xDA || marker == 0xD9 {
                return None; // start of scan / end of image
            }
            let len = u16::from_be_bytes([jpeg[pos + 2], jpeg[pos + 3]]) as usize;
            if len < 2 || pos + 2 + len > jpeg.len() {
                return None;
            }
            let whole = &jpeg[pos..pos + 2 + len];
            let body = &jpeg[pos + 4..pos + 2 + len];
            pos += 2 + len;
            return Some((marker, body, whole));
        }
        None
    })
}
