//! Ogg Vorbis and Ogg Opus: the first page's identification header gives the rate of the
//! granule positions (Vorbis: its sample rate; Opus: always 48 kHz, minus a pre-skip), and the
//! last page of that stream gives the final granule position, so the duration is their ratio.
//!
//! The last page is searched for backwards in the final 64 KiB (a page is at most ~64 KiB).
//! Page checksums are not verified: a wrong figure from a damaged file is bounded like any other.

use std::io::{Read, Seek};

use super::{HEAD_BYTES, bytes, file_len, millis, read_at};

/// The fixed part of a page header, before its segment table.
const PAGE_HEADER: usize = 27;

pub fn duration_ms<R: Read + Seek>(file: &mut R) -> Option<i64> {
    let head = read_at(file, 0, PAGE_HEADER + 255 + 64)?;
    let first = Page::at(&head, 0)?;
    let (rate, pre_skip) = identification(head.get(first.body..)?)?;
    let len = file_len(file)?;
    let start = len.saturating_sub(HEAD_BYTES as u64);
    let tail = read_at(file, start, HEAD_BYTES)?;
    let granule = last_granule(&tail, first.serial)?;
    millis(granule.checked_sub(pre_skip)?, rate)
}

/// Granules a second and the granules to skip, from the first packet of the stream.
fn identification(packet: &[u8]) -> Option<(u64, u64)> {
    if packet.starts_with(b"\x01vorbis") {
        let rate = u32::from_le_bytes(bytes(packet, 12)?);
        Some((u64::from(rate), 0))
    } else if packet.starts_with(b"OpusHead") {
        let pre_skip = u16::from_le_bytes(bytes(packet, 10)?);
        Some((48_000, u64::from(pre_skip)))
    } else {
        None
    }
}

/// The granule position of the last page of stream `serial` in `tail` that ends a packet
/// (pages that end none carry -1).
fn last_granule(tail: &[u8], serial: u32) -> Option<u64> {
    (0..tail.len())
        .rev()
        .filter(|&at| tail[at..].starts_with(b"OggS"))
        .filter_map(|at| Page::at(tail, at))
        .find(|page| page.serial == serial && page.granule != -1)
        .and_then(|page| u64::try_from(page.granule).ok())
}

/// A page header: `OggS`, version 0, flags, granule position, serial number, sequence number,
/// checksum, segment count and table, then the body.
struct Page {
    granule: i64,
    serial: u32,
    body: usize,
}

impl Page {
    fn at(buf: &[u8], at: usize) -> Option<Page> {
        let header = buf.get(at..at.checked_add(PAGE_HEADER)?)?;
        if !header.starts_with(b"OggS") || header[4] != 0 {
            return None;
        }
        Some(Page {
            granule: i64::from_le_bytes(bytes(header, 6)?),
            serial: u32::from_le_bytes(bytes(header, 14)?),
            body: at + PAGE_HEADER + usize::from(header[26]),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::super::tests::probe;

    /// One page of stream `serial` with one packet (of at most 255 bytes) and a zero checksum.
    fn page(serial: u32, granule: i64, packet: &[u8]) -> Vec<u8> {
        let mut out = b"OggS\0\x02".to_vec();
        out.extend_from_slice(&granule.to_le_bytes());
        out.extend_from_slice(&serial.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
        out.push(1);
        out.push(packet.len() as u8);
        out.extend_from_slice(packet);
        out
    }

    fn vorbis_id(rate: u32) -> Vec<u8> {
        let mut id = b"\x01vorbis\0\0\0\0\x02".to_vec();
        id.extend_from_slice(&rate.to_le_bytes());
        id.extend_from_slice(&[0; 13]);
        id.push(1);
        id
    }

    fn opus_head(pre_skip: u16) -> Vec<u8> {
        let mut head = b"OpusHead\x01\x02".to_vec();
        head.extend_from_slice(&pre_skip.to_le_bytes());
        head.extend_from_slice(&48_000u32.to_le_bytes());
        head.extend_from_slice(&[0; 3]);
        head
    }

    /// A stream: its identification page, `pages` of audio (with another stream's page among
    /// them), a last page at `granule`.
    pub(crate) fn ogg(id: &[u8], pages: usize, granule: i64) -> Vec<u8> {
        let mut file = page(7, 0, id);
        for n in 0..pages {
            file.extend(page(7, n as i64 * 960, &[0x55; 200]));
            file.extend(page(9, 1 << 40, &[0x55; 100]));
        }
        file.extend(page(7, granule, &[0x55; 50]));
        file
    }

    #[test]
    fn the_last_granule_over_the_rate_is_the_duration() {
        let vorbis = ogg(&vorbis_id(44_100), 500, 44_100 * 12);
        assert_eq!(probe(&vorbis), ("audio", Some(12_000)));
        // Opus counts at 48 kHz from after the pre-skip.
        let opus = ogg(&opus_head(312), 3, 312 + 48_000 * 3 / 2);
        assert_eq!(probe(&opus), ("audio", Some(1500)));
        // A final page ending no packet (-1) is passed over for the one before.
        let mut open = ogg(&vorbis_id(8000), 2, 16_000);
        open.extend(page(7, -1, &[0; 10]));
        assert_eq!(probe(&open).1, Some(2000));
    }

    #[test]
    fn other_codecs_and_hostile_pages_give_no_duration() {
        let parse = |bytes: &[u8]| super::duration_ms(&mut Cursor::new(bytes));
        assert_eq!(parse(&ogg(b"\x80theora", 2, 1000)), None);
        assert_eq!(parse(&ogg(&vorbis_id(0), 2, 1000)), None, "no rate");
        assert_eq!(
            parse(&ogg(&opus_head(5000), 2, 100)),
            None,
            "before pre-skip"
        );
        assert_eq!(parse(&ogg(&vorbis_id(8000), 2, -7)), None, "negative");
        assert_eq!(parse(&ogg(&vorbis_id(1), 2, i64::MAX)), None, "absurd");
        let good = ogg(&vorbis_id(8000), 2, 16_000);
        for cut in [0, 4, 26, 30, 40] {
            assert_eq!(parse(&good[..cut]), None, "cut at {cut}");
        }
        let mut bad_count = good.clone();
        bad_count[26] = 255;
        assert_eq!(parse(&bad_count), None, "segment table past the packet");
        assert_eq!(parse(&b"OggS".repeat(40_000)), None);
    }
}
