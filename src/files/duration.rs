//! How long a video or audio upload plays, when its container says so.
//!
//! Read from the stored temporary file after the upload is complete, because some containers
//! keep the figure far from the start (an MP4's `moov` often follows its media data, an Ogg's
//! last page ends the file). Every reader here takes hostile bytes: reads are bounded, sizes are
//! checked before use, loops are capped, and anything odd is `None` rather than a guess. Per
//! container: WAV, FLAC and MP3 (Xing/Info frame count) here; [`bmff`] (MP4, MOV, M4A),
//! [`matroska`] (WebM, MKV) and [`ogg`] (Vorbis, Opus) beside it.

mod bmff;
mod matroska;
mod ogg;

use std::io::{Read, Seek, SeekFrom};

use super::sniff::Detected;

/// Longer than any upload plausibly plays (30 days); a larger figure is garbage.
const MAX_MS: u64 = 30 * 24 * 3600 * 1000;

/// How much of the start a header-based reader looks at.
const HEAD_BYTES: usize = 64 * 1024;

/// The playing time in milliseconds, if the container of this type states it.
pub fn duration_ms<R: Read + Seek>(file: &mut R, detected: &Detected) -> Option<i64> {
    match detected.mime.as_str() {
        "audio/x-wav" | "audio/wav" => wav(file),
        "audio/x-flac" | "audio/flac" => flac(file),
        "audio/mpeg" => mp3(file),
        "audio/ogg" | "audio/opus" => ogg::duration_ms(file),
        "video/webm" | "video/x-matroska" => matroska::duration_ms(file),
        "video/mp4" | "video/quicktime" | "video/x-m4v" | "audio/m4a" | "video/3gpp" => {
            bmff::duration_ms(file)
        }
        _ => None,
    }
}

/// Up to `len` bytes at `offset`: fewer at the end of the file, none past it.
fn read_at<R: Read + Seek>(file: &mut R, offset: u64, len: usize) -> Option<Vec<u8>> {
    file.seek(SeekFrom::Start(offset)).ok()?;
    let mut buf = Vec::with_capacity(len.min(HEAD_BYTES));
    file.by_ref().take(len as u64).read_to_end(&mut buf).ok()?;
    Some(buf)
}

fn file_len<R: Seek>(file: &mut R) -> Option<u64> {
    file.seek(SeekFrom::End(0)).ok()
}

/// `N` bytes at `at`, if the buffer holds them.
fn bytes<const N: usize>(buf: &[u8], at: usize) -> Option<[u8; N]> {
    buf.get(at..at.checked_add(N)?)?.try_into().ok()
}

/// `units` at `per_second` a second, in milliseconds, if positive and plausible.
fn millis(units: u64, per_second: u64) -> Option<i64> {
    if per_second == 0 {
        return None;
    }
    let ms = u128::from(units) * 1000 / u128::from(per_second);
    let ms = u64::try_from(ms)
        .ok()
        .filter(|ms| (1..=MAX_MS).contains(ms))?;
    i64::try_from(ms).ok()
}

/// A float count of milliseconds, if finite, positive and plausible.
fn millis_f64(ms: f64) -> Option<i64> {
    let ok = ms.is_finite() && ms >= 0.5 && ms <= MAX_MS as f64;
    ok.then(|| ms.round() as i64)
}

/// RIFF chunks: `fmt ` gives the byte rate, `data` the size of the sound. The size is capped by
/// the bytes present, since streaming writers leave 0 or 0xFFFFFFFF there.
fn wav<R: Read + Seek>(file: &mut R) -> Option<i64> {
    let len = file_len(file)?;
    let head = read_at(file, 0, HEAD_BYTES)?;
    let u32_at = |at: usize| bytes(&head, at).map(u32::from_le_bytes);
    let (mut at, mut byte_rate) = (12usize, None);
    while at.checked_add(8)? <= head.len() {
        let size = u32_at(at + 4)?;
        match head.get(at..at + 4)? {
            b"fmt " => byte_rate = u32_at(at + 16),
            b"data" => {
                let present = len.saturating_sub(at as u64 + 8);
                return millis(u64::from(size).min(present), u64::from(byte_rate?));
            }
            _ => {}
        }
        at = at.checked_add(8 + size as usize + (size as usize & 1))?;
    }
    None
}

/// `fLaC` then the STREAMINFO block, which must come first: 20 bits of sample rate and 36 bits
/// of total samples (0 when unknown) at a fixed place.
fn flac<R: Read + Seek>(file: &mut R) -> Option<i64> {
    let head = read_at(file, 0, 42)?;
    if !head.starts_with(b"fLaC") || head.get(4)? & 0x7f != 0 {
        return None;
    }
    let packed = u64::from_be_bytes(bytes(&head, 8 + 10)?);
    millis(packed & ((1 << 36) - 1), packed >> 44)
}

/// The first frame of a variable-bitrate MP3 is a `Xing` (or `Info`) header counting the frames;
/// a constant-bitrate file without one states no duration (it would be an estimate).
fn mp3<R: Read + Seek>(file: &mut R) -> Option<i64> {
    let id3 = read_at(file, 0, 10)?;
    let start = if id3.starts_with(b"ID3") {
        // Four 7-bit bytes of size, plus the 10-byte header and an optional 10-byte footer.
        let size = id3
            .get(6..10)?
            .iter()
            .fold(0u64, |n, b| n << 7 | u64::from(b & 0x7f));
        size + 10 + if id3.get(5)? & 0x10 != 0 { 10 } else { 0 }
    } else {
        0
    };
    let frame = read_at(file, start, 256)?;
    let header = u32::from_be_bytes(bytes(&frame, 0)?);
    let (sample_rate, samples_per_frame, side_info) = mp3_frame(header)?;
    let tag = frame.get(4 + side_info..)?;
    if !(tag.starts_with(b"Xing") || tag.starts_with(b"Info")) {
        return None;
    }
    let flags = u32::from_be_bytes(bytes(tag, 4)?);
    if flags & 1 == 0 {
        return None;
    }
    let frames = u32::from_be_bytes(bytes(tag, 8)?);
    millis(u64::from(frames) * samples_per_frame, sample_rate)
}

/// Sample rate, samples per frame and side-information length of a Layer III frame header.
fn mp3_frame(header: u32) -> Option<(u64, u64, usize)> {
    let (sync, version, layer) = (header >> 21, (header >> 19) & 3, (header >> 17) & 3);
    if sync != 0x7ff || version == 1 || layer != 1 {
        return None;
    }
    let base = [44_100, 48_000, 32_000].get((header >> 10 & 3) as usize)?;
    // Version bits: 3 is MPEG-1, 2 is MPEG-2 (half the rate), 0 is MPEG-2.5 (a quarter).
    let mono = header >> 6 & 3 == 3;
    match (version, mono) {
        (3, false) => Some((*base, 1152, 32)),
        (3, true) => Some((*base, 1152, 17)),
        (2, false) => Some((base / 2, 576, 17)),
        (2, true) => Some((base / 2, 576, 9)),
        (_, false) => Some((base / 4, 576, 17)),
        (_, true) => Some((base / 4, 576, 9)),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::files::sniff::detect;

    /// The duration `detect` and `duration_ms` find in `bytes`, and the kind they were taken for.
    pub(super) fn probe(bytes: &[u8]) -> (&'static str, Option<i64>) {
        let detected = detect(&bytes[..bytes.len().min(8192)]);
        let duration = duration_ms(&mut Cursor::new(bytes), &detected);
        (detected.kind, duration)
    }

    fn wav(data_size: u32, data: usize) -> Vec<u8> {
        // 8000 Hz, mono, 16 bit: 16000 bytes a second.
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0\x01\0\x01\0".to_vec();
        wav.extend_from_slice(&8000u32.to_le_bytes());
        wav.extend_from_slice(&16000u32.to_le_bytes());
        wav.extend_from_slice(&[2, 0, 16, 0]);
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&data_size.to_le_bytes());
        wav.resize(wav.len() + data, 0);
        wav
    }

    #[test]
    fn wav_headers_tell_the_duration_of_the_sound_present() {
        assert_eq!(probe(&wav(24000, 24000)), ("audio", Some(1500)));
        // A streaming writer's placeholder size: only the bytes present count.
        assert_eq!(probe(&wav(u32::MAX, 8000)), ("audio", Some(500)));
        assert_eq!(probe(&wav(24000, 0)).1, None);
        let mut huge_chunk = wav(24000, 100);
        huge_chunk[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(probe(&huge_chunk).1, None);
    }

    fn flac(rate: u64, samples: u64) -> Vec<u8> {
        let mut flac = b"fLaC\x80\0\0\x22".to_vec();
        flac.extend_from_slice(&[0x10, 0, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        let packed = rate << 44 | 1 << 41 | 15 << 36 | samples;
        flac.extend_from_slice(&packed.to_be_bytes());
        flac.extend_from_slice(&[0; 16]);
        flac
    }

    #[test]
    fn flac_streaminfo_tells_the_duration() {
        assert_eq!(probe(&flac(44_100, 441_000)), ("audio", Some(10_000)));
        assert_eq!(probe(&flac(44_100, 0)).1, None, "unknown total");
        assert_eq!(probe(&flac(0, 441_000)).1, None, "no rate");
        assert_eq!(probe(&flac(44_100, 441_000)[..20]).1, None, "truncated");
    }

    fn mp3(frames: u32, tag: &[u8]) -> Vec<u8> {
        // An ID3v2 tag of 300 bytes, then an MPEG-1 Layer III stereo frame at 44.1 kHz.
        let mut mp3 = b"ID3\x04\0\0\0\0\x02\x2c".to_vec();
        mp3.resize(10 + 300, 0);
        mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0x00]);
        mp3.resize(mp3.len() + 32, 0);
        mp3.extend_from_slice(tag);
        mp3.extend_from_slice(&1u32.to_be_bytes());
        mp3.extend_from_slice(&frames.to_be_bytes());
        mp3.resize(mp3.len() + 400, 0);
        mp3
    }

    #[test]
    fn mp3_xing_frames_tell_the_duration() {
        // 1000 frames of 1152 samples at 44.1 kHz.
        assert_eq!(probe(&mp3(1000, b"Xing")), ("audio", Some(26_122)));
        assert_eq!(probe(&mp3(1000, b"Info")).1, Some(26_122));
        assert_eq!(probe(&mp3(1000, b"None")).1, None, "no frame count");
        assert_eq!(probe(&mp3(0, b"Xing")).1, None);
    }

    #[test]
    fn garbage_and_empty_files_have_no_duration() {
        for mime in ["audio/x-wav", "audio/x-flac", "audio/mpeg", "audio/ogg"] {
            let detected = Detected {
                mime: mime.into(),
                kind: "audio",
            };
            for bytes in [&b""[..], b"RIFF", b"ID3\x04\0\0\x7f\x7f\x7f\x7f", b"fLaC\0"] {
                assert_eq!(duration_ms(&mut Cursor::new(bytes), &detected), None);
            }
        }
        assert_eq!(millis(u64::MAX, 1), None);
        assert_eq!(millis_f64(f64::NAN), None);
        assert_eq!(millis_f64(-5.0), None);
    }
}
