//! Images: refuse pixel bombs from the header, decode under limits, drop metadata, thumbnail.
//!
//! Blocking work: call from `spawn_blocking`. The dimensions are read from the header first, so
//! a small file that declares 100000 × 100000 pixels is refused before anything is allocated;
//! the decoder then runs with `image::Limits` as a second fence.

use std::io::{BufWriter, Cursor};
use std::path::Path;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// Why an image was refused.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image declares {0} pixels")]
    TooManyPixels(u64),
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl From<image::ImageError> for ImageError {
    fn from(err: image::ImageError) -> Self {
        ImageError::Undecodable(err.to_string())
    }
}

/// A thumbnail's bytes and type.
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
}

/// What processing found out.
pub struct Processed {
    pub width: u32,
    pub height: u32,
    pub thumbnail: Thumbnail,
}

/// How to make the thumbnail.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// Longest side at most this many pixels, aspect kept.
    Fit(u32),
    /// Centre-cropped square of this side (avatars).
    Square(u32),
}

/// Checks, decodes and re-encodes the image at `path` in place (its EXIF and other metadata do
/// not survive, its orientation is applied), and makes a thumbnail. GIFs are kept as they are
/// (they carry no EXIF, and re-encoding would lose the animation).
pub fn process(path: &Path, max_pixels: u64, shape: Shape) -> Result<Processed, ImageError> {
    // Reading the header allocates nothing big; the limits apply to decoding below.
    let mut header = ImageReader::open(path)?.with_guessed_format()?;
    header.no_limits();
    let (width, height) = header.into_dimensions()?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(ImageError::TooManyPixels(pixels));
    }
    let mut reader = ImageReader::open(path)?.with_guessed_format()?;
    let format = reader
        .format()
        .ok_or_else(|| ImageError::Undecodable("unknown format".into()))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // Room for the decoded image at 16 bits per channel with alpha, plus decoder state.
    limits.max_alloc = Some(pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut img = DynamicImage::from_decoder(decoder)?;
    img.apply_orientation(orientation);
    if format != ImageFormat::Gif {
        rewrite(path, &img, format)?;
    }
    Ok(Processed {
        width: img.width(),
        height: img.height(),
        thumbnail: thumbnail(&img, shape)?,
    })
}

/// Re-encodes the decoded pixels over the original, through a sibling file and a rename.
fn rewrite(path: &Path, img: &DynamicImage, format: ImageFormat) -> Result<(), ImageError> {
    let clean = path.with_extension("clean");
    let result = (|| -> Result<(), ImageError> {
        let mut out = BufWriter::new(std::fs::File::create(&clean)?);
        match format {
            ImageFormat::Jpeg => {
                JpegEncoder::new_with_quality(&mut out, 90).encode_image(&img.to_rgb8())?
            }
            ImageFormat::WebP => {
                DynamicImage::ImageRgba8(img.to_rgba8()).write_to(&mut out, format)?
            }
            _ => img.write_to(&mut out, ImageFormat::Png)?,
        }
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&clean, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&clean);
    }
    result
}

fn thumbnail(img: &DynamicImage, shape: Shape) -> Result<Thumbnail, ImageError> {
    let small = match shape {
        Shape::Fit(px) => img.thumbnail(px, px),
        Shape::Square(px) => {
            let side = img.width().min(img.height());
            let x = (img.width() - side) / 2;
            let y = (img.height() - side) / 2;
            img.crop_imm(x, y, side, side).thumbnail_exact(px, px)
        }
    };
    let mut bytes = Vec::new();
    if small.color().has_alpha() {
        small.write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)?;
        return Ok(Thumbnail {
            bytes,
            mime: "image/png",
        });
    }
    JpegEncoder::new_with_quality(&mut bytes, 80).encode_image(&small.to_rgb8())?;
    Ok(Thumbnail {
        bytes,
        mime: "image/jpeg",
    })
}
