//! ISO base media files (MP4, MOV, M4A, 3GP): the movie header `moov/mvhd` holds a timescale
//! (units a second) and the duration in those units.
//!
//! `moov` often follows the media data (`mdat`), so the top-level boxes are walked by their
//! sizes through the file, reading only each box's header; inside `moov` the same walk finds
//! `mvhd`, and only its first 32 bytes are read. Nothing is read whole, so a huge `moov` costs
//! no memory.

use std::io::{Read, Seek};
use std::ops::Range;

use super::{bytes, file_len, millis, read_at};

/// Boxes looked at on one level before giving up (real files have a handful).
const MAX_BOXES: usize = 1024;

pub fn duration_ms<R: Read + Seek>(file: &mut R) -> Option<i64> {
    let len = file_len(file)?;
    let moov = find_box(file, 0..len, b"moov")?;
    let mvhd = find_box(file, moov, b"mvhd")?;
    let body_len = (mvhd.end - mvhd.start).min(32) as usize;
    mvhd_duration(&read_at(file, mvhd.start, body_len)?)
}

/// The body (after the header) of the first box of type `kind` among those filling `within`.
/// A size of 0 means "to the end"; 1 means a 64-bit size follows the type.
fn find_box<R: Read + Seek>(
    file: &mut R,
    within: Range<u64>,
    kind: &[u8; 4],
) -> Option<Range<u64>> {
    let mut at = within.start;
    for _ in 0..MAX_BOXES {
        let header = read_at(file, at, 16)?;
        let (header_len, size) = match u32::from_be_bytes(bytes(&header, 0)?) {
            0 => (8, within.end.checked_sub(at)?),
            1 => (16, u64::from_be_bytes(bytes(&header, 8)?)),
            n => (8, u64::from(n)),
        };
        if size < header_len {
            return None;
        }
        let end = at.checked_add(size)?;
        if header.get(4..8)? == kind {
            return Some(at + header_len..end.min(within.end));
        }
        if end >= within.end {
            return None;
        }
        at = end;
    }
    None
}

/// Version 0 has 32-bit times, version 1 64-bit ones; all ones means unknown.
fn mvhd_duration(body: &[u8]) -> Option<i64> {
    let (timescale, duration, unknown) = match body.first()? {
        0 => (
            bytes(body, 12)?,
            u64::from(u32::from_be_bytes(bytes(body, 16)?)),
            u64::from(u32::MAX),
        ),
        1 => (
            bytes(body, 20)?,
            u64::from_be_bytes(bytes(body, 24)?),
            u64::MAX,
        ),
        _ => return None,
    };
    if duration == unknown {
        return None;
    }
    millis(duration, u64::from(u32::from_be_bytes(timescale)))
}

#[cfg(test)]
mod tests {
    use super::super::tests::probe;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    fn ftyp(brand: &[u8; 4]) -> Vec<u8> {
        let mut body = brand.to_vec();
        body.extend_from_slice(&[0, 0, 2, 0]);
        body.extend_from_slice(b"isommp41");
        boxed(b"ftyp", &body)
    }

    fn mvhd_v0(timescale: u32, duration: u32) -> Vec<u8> {
        let mut body = vec![0; 12];
        body.extend_from_slice(&timescale.to_be_bytes());
        body.extend_from_slice(&duration.to_be_bytes());
        body.resize(100, 0);
        boxed(b"mvhd", &body)
    }

    fn mvhd_v1(timescale: u32, duration: u64) -> Vec<u8> {
        let mut body = vec![1, 0, 0, 0];
        body.extend_from_slice(&[0; 16]);
        body.extend_from_slice(&timescale.to_be_bytes());
        body.extend_from_slice(&duration.to_be_bytes());
        body.resize(112, 0);
        boxed(b"mvhd", &body)
    }

    /// `ftyp`, a `free` box, `mdat` with `media` bytes, then `moov` holding `iods` and `mvhd`.
    pub(crate) fn mp4_moov_last(brand: &[u8; 4], media: usize, mvhd: &[u8]) -> Vec<u8> {
        let mut file = ftyp(brand);
        file.extend(boxed(b"free", &[0; 8]));
        file.extend(boxed(b"mdat", &vec![0; media]));
        let mut moov = boxed(b"iods", &[0; 16]);
        moov.extend_from_slice(mvhd);
        moov.extend(boxed(b"trak", &[0; 64]));
        file.extend(boxed(b"moov", &moov));
        file
    }

    #[test]
    fn the_movie_header_after_the_media_tells_the_duration() {
        let mp4 = mp4_moov_last(b"isom", 1 << 20, &mvhd_v0(1000, 2500));
        assert_eq!(probe(&mp4), ("video", Some(2500)));
        let m4a = mp4_moov_last(b"M4A ", 5000, &mvhd_v0(44_100, 441_000));
        assert_eq!(probe(&m4a), ("audio", Some(10_000)));
        let v1 = mp4_moov_last(b"mp42", 100, &mvhd_v1(90_000, 90_000 * 3600));
        assert_eq!(probe(&v1), ("video", Some(3_600_000)));
    }

    #[test]
    fn large_and_to_the_end_sizes_are_followed() {
        // `mdat` with a 64-bit size, then `moov` with size 0 (to the end of the file).
        let mut file = ftyp(b"isom");
        file.extend_from_slice(&1u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        file.extend_from_slice(&(16u64 + 3000).to_be_bytes());
        file.resize(file.len() + 3000, 7);
        file.extend_from_slice(&0u32.to_be_bytes());
        file.extend_from_slice(b"moov");
        file.extend(mvhd_v0(600, 1200));
        assert_eq!(probe(&file), ("video", Some(2000)));
    }

    #[test]
    fn unknown_absurd_and_hostile_headers_give_no_duration() {
        let mp4 = |mvhd: &[u8]| probe(&mp4_moov_last(b"isom", 10, mvhd)).1;
        assert_eq!(mp4(&mvhd_v0(1000, u32::MAX)), None, "unknown");
        assert_eq!(mp4(&mvhd_v0(0, 1000)), None, "no timescale");
        assert_eq!(mp4(&mvhd_v0(1000, 0)), None, "fragmented: 0");
        assert_eq!(mp4(&mvhd_v1(1, 1 << 40)), None, "longer than 30 days");
        assert_eq!(mp4(&mvhd_v1(1000, u64::MAX)), None);
        assert_eq!(mp4(&boxed(b"mvhd", &[0; 10])), None, "truncated mvhd");
        assert_eq!(mp4(&boxed(b"mvhd", &[9; 100])), None, "unknown version");

        let with = |tail: &[u8]| {
            let mut file = ftyp(b"isom");
            file.extend_from_slice(tail);
            probe(&file).1
        };
        assert_eq!(with(&[0, 0, 0, 0, b'f', b'r', b'e', b'e']), None, "size 0");
        assert_eq!(
            with(&[0, 0, 0, 4, b'f', b'r', b'e', b'e']),
            None,
            "size < header"
        );
        assert_eq!(with(b"\0\0\0\x01mdat\0\0\0\0\0\0\0\0"), None, "largesize 0");
        assert_eq!(
            with(b"\0\0\0\x01mdat\xff\xff\xff\xff\xff\xff\xff\xff"),
            None
        );
        assert_eq!(with(b"\xff\xff\xff\xffmdat"), None, "past the end");
        assert_eq!(with(b"\0\0\0\x20moov\0\0\0\x08mvhd"), None, "empty mvhd");
        // Thousands of empty boxes: the walk gives up instead of reading them all.
        assert_eq!(with(&b"\0\0\0\x08free".repeat(5000)), None);
    }
}
