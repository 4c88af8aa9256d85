//! Matroska and WebM: `Segment/Info` holds `Duration` (a float, in ticks) and `TimecodeScale`
//! (nanoseconds a tick, 1,000,000 unless said otherwise).
//!
//! Muxers write `Info` before the first `Cluster`, so the first 64 KiB are enough; an `Info`
//! further in, or a live recording that never states its duration, gives `None`. Elements are
//! EBML: a variable-length id, a variable-length size (all ones: unknown), then the data.

use std::io::{Read, Seek};

use super::{HEAD_BYTES, millis_f64, read_at};

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const CLUSTER: u32 = 0x1F43_B675;
const TIMECODE_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;

pub fn duration_ms<R: Read + Seek>(file: &mut R) -> Option<i64> {
    let head = read_at(file, 0, HEAD_BYTES)?;
    let header = Element::at(&head, 0)?;
    if header.id != EBML {
        return None;
    }
    let segment = Element::at(&head, header.end(head.len())?)?;
    if segment.id != SEGMENT {
        return None;
    }
    let body = head.get(segment.data..segment.end(head.len()).unwrap_or(head.len()))?;
    let info = children(body).find(|e| e.id == INFO || e.id == CLUSTER)?;
    if info.id != INFO {
        return None;
    }
    info_duration(body.get(info.data..info.end(body.len())?)?)
}

/// `Duration` × `TimecodeScale`, in milliseconds.
fn info_duration(info: &[u8]) -> Option<i64> {
    let (mut scale, mut duration) = (1_000_000u64, None);
    for element in children(info) {
        let data = info.get(element.data..element.end(info.len())?)?;
        match element.id {
            TIMECODE_SCALE if (1..=8).contains(&data.len()) => {
                scale = data.iter().fold(0, |n, b| n << 8 | u64::from(*b));
            }
            DURATION => duration = float(data),
            _ => {}
        }
    }
    millis_f64(duration? * scale as f64 / 1e6)
}

fn float(data: &[u8]) -> Option<f64> {
    match data.len() {
        4 => Some(f64::from(f32::from_be_bytes(data.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(data.try_into().ok()?)),
        _ => None,
    }
}

/// One element's header: its id, where its data starts and its size (`None`: unknown).
struct Element {
    id: u32,
    data: usize,
    size: Option<u64>,
}

impl Element {
    fn at(buf: &[u8], at: usize) -> Option<Element> {
        let (id_len, id, _) = vint(buf, at)?;
        if id_len > 4 {
            return None;
        }
        let (size_len, _, size) = vint(buf, at + id_len)?;
        let unknown = size == (1u64 << (7 * size_len)) - 1;
        Some(Element {
            id: u32::try_from(id).ok()?,
            data: at + id_len + size_len,
            size: (!unknown).then_some(size),
        })
    }

    /// Where the data ends, if the size is known and the data fits in `limit` bytes.
    fn end(&self, limit: usize) -> Option<usize> {
        let end = self.data.checked_add(usize::try_from(self.size?).ok()?)?;
        (end <= limit).then_some(end)
    }
}

/// The elements filling `buf`, up to the first one of unknown size or past the end.
fn children(buf: &[u8]) -> impl Iterator<Item = Element> + '_ {
    let mut at = Some(0);
    std::iter::from_fn(move || {
        let element = Element::at(buf, at?)?;
        // Every element takes at least two bytes, so this always moves on.
        at = element.end(buf.len());
        Some(element)
    })
}

/// A variable-length integer: its length, its raw value (an id) and its value without the
/// length marker (a size).
fn vint(buf: &[u8], at: usize) -> Option<(usize, u64, u64)> {
    let len = buf.get(at)?.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let raw = buf
        .get(at..at + len)?
        .iter()
        .fold(0u64, |n, b| n << 8 | u64::from(*b));
    Some((len, raw, raw & ((1 << (7 * len)) - 1)))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::super::tests::probe;

    /// An element with an 8-byte size.
    fn el(id: &[u8], body: &[u8]) -> Vec<u8> {
        let mut out = id.to_vec();
        out.push(0x01);
        out.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        out.extend_from_slice(body);
        out
    }

    const SEGMENT: &[u8] = b"\x18\x53\x80\x67";
    const INFO: &[u8] = b"\x15\x49\xa9\x66";
    const CLUSTER: &[u8] = b"\x1f\x43\xb6\x75";

    fn ebml(doc_type: &[u8]) -> Vec<u8> {
        let mut body = b"\x42\x86\x81\x01\x42\x82".to_vec();
        body.push(0x80 | doc_type.len() as u8);
        body.extend_from_slice(doc_type);
        el(b"\x1a\x45\xdf\xa3", &body)
    }

    /// A file whose segment has an unknown size, with a `Void`, the given `Info` and a cluster.
    pub(crate) fn webm(info: &[u8]) -> Vec<u8> {
        let mut segment = el(b"\xec", &[0; 40]);
        segment.extend(el(INFO, info));
        segment.extend(el(CLUSTER, &[0; 600]));
        let mut file = ebml(b"webm");
        file.extend_from_slice(SEGMENT);
        file.extend_from_slice(&[0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        file.extend(segment);
        file
    }

    pub(crate) fn info(scale: Option<u32>, duration: &[u8]) -> Vec<u8> {
        let mut info = match scale {
            Some(scale) => el(b"\x2a\xd7\xb1", &scale.to_be_bytes()),
            None => Vec::new(),
        };
        info.extend(el(b"\x4d\x80", b"test muxer"));
        info.extend(el(b"\x44\x89", duration));
        info
    }

    #[test]
    fn info_tells_the_duration_in_timecode_ticks() {
        let eight = 4321.5f64.to_be_bytes();
        assert_eq!(probe(&webm(&info(None, &eight))), ("video", Some(4322)));
        let four = 2500f32.to_be_bytes();
        assert_eq!(probe(&webm(&info(Some(1_000_000), &four))).1, Some(2500));
        // Ticks of 10 ms.
        assert_eq!(probe(&webm(&info(Some(10_000_000), &four))).1, Some(25_000));
        let mut mkv = ebml(b"matroska");
        mkv.extend_from_slice(&webm(&info(None, &eight))[ebml(b"webm").len()..]);
        assert_eq!(probe(&mkv), ("video", Some(4322)));
    }

    #[test]
    fn missing_absurd_and_hostile_elements_give_no_duration() {
        let webm_with = |duration: &[u8]| probe(&webm(&info(None, duration))).1;
        assert_eq!(webm_with(&f64::NAN.to_be_bytes()), None);
        assert_eq!(webm_with(&(-3.0f64).to_be_bytes()), None);
        assert_eq!(webm_with(&1e300f64.to_be_bytes()), None);
        assert_eq!(webm_with(&[1, 2, 3]), None, "3-byte float");
        assert_eq!(probe(&webm(&el(b"\x4d\x80", b"no duration"))).1, None);
        assert_eq!(probe(&webm(&info(Some(0), &8.0f64.to_be_bytes()))).1, None);

        // Info after the first cluster is not looked for; an unknown-size element stops the walk.
        let parse = |bytes: &[u8]| super::duration_ms(&mut Cursor::new(bytes));
        let mut late = ebml(b"webm");
        late.extend_from_slice(SEGMENT);
        late.push(0xff);
        late.extend(el(CLUSTER, &[0; 300]));
        late.extend(el(INFO, &info(None, &5.0f64.to_be_bytes())));
        assert_eq!(probe(&late), ("video", None));
        let mut unknown = ebml(b"webm");
        unknown.extend_from_slice(SEGMENT);
        unknown.extend_from_slice(b"\xff\xec\xff");
        unknown.extend(el(INFO, &info(None, &5.0f64.to_be_bytes())));
        assert_eq!(parse(&unknown), None);
        // A huge size, a zero byte where an id starts, and cut files.
        let mut huge = ebml(b"webm");
        huge.extend_from_slice(SEGMENT);
        huge.extend_from_slice(b"\x01\x7f\xff\xff\xff\xff\xff\xff");
        huge.extend_from_slice(INFO);
        huge.extend_from_slice(b"\x01\x7f\xff\xff\xff\xff\xff\xff");
        huge.resize(400, 0);
        assert_eq!(parse(&huge), None);
        let mut zero = ebml(b"webm");
        zero.extend_from_slice(SEGMENT);
        zero.extend_from_slice(&[0xff, 0, 0, 0]);
        assert_eq!(parse(&zero), None);
        let good = webm(&info(None, &5000f64.to_be_bytes()));
        assert_eq!(parse(&good), Some(5000));
        for cut in [0, 3, 10, 30, 60, 80, 100] {
            assert_eq!(parse(&good[..cut]), None, "cut at {cut}");
        }
    }
}
