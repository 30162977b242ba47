//! decode (DCT-scaled, to YCbCr planes) → resize and orient each plane in one pass → encode
//! under budget → write by content hash. Pixels stay in the planes JPEG stores: no
//! colour conversion or chroma upsampling on the way, half the bytes of RGB.

use std::path::Path;

use sha2::{Digest, Sha256};
use turbojpeg::{
    Compressor, Decompressor, Image, PixelFormat, ScalingFactor, Subsamp, YuvImage, YuvPlanesImage,
};

use super::resize::{self, Plane};
use super::{exif, markers, PhotoError, PhotoProfile, ProcessedPhoto};

/// Largest input file read, in bytes (a 200 MP camera JPEG is about 60 MB).
const MAX_FILE_BYTES: u64 = 120 * 1024 * 1024;
/// Most memory a decode may hold at once. A camera JPEG decodes at a DCT scale in far less;
/// a PNG, a WebP or a progressive JPEG is held whole, so its size is checked against this
/// before anything is allocated.
const MAX_DECODE_BYTES: u64 = 256 * 1024 * 1024;
/// Longest edges tried, in order, when a photo cannot meet the budget at the quality floor.
const STEP_DOWN: [f64; 2] = [0.78, 0.625];

/// Reads a photo: a regular file only (never a device such as `/dev/zero`, a FIFO or a
/// socket, which could block or never end), at most [`MAX_FILE_BYTES`], counted while reading
/// (a file that grows, or a size that lies, cannot get past the cap).
fn read_bounded(input: &Path) -> Result<Vec<u8>, PhotoError> {
    use std::io::Read;
    let io = |e: std::io::Error| PhotoError::Io(e.kind().to_string());
    let not_regular = || {
        PhotoError::Io("not a regular file (a device, a pipe or a folder is not a photo)".into())
    };
    if !std::fs::metadata(input).map_err(io)?.is_file() {
        return Err(not_regular());
    }
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        // Never block in open(): the path may have been swapped for a FIFO since the check.
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(input).map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(not_regular());
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(PhotoError::Corrupt(format!(
            "photos over {} MB are not accepted",
            MAX_FILE_BYTES / 1_000_000
        )));
    }
    Ok(bytes)
}

/// A picture as JPEG stores it: luma and two chroma planes (at the file's subsampling when
/// decoded, 4:2:0 once resized).
struct Ycc {
    y: Plane,
    cb: Plane,
    cr: Plane,
}

impl Ycc {
    fn width(&self) -> u32 {
        self.y.width as u32
    }

    fn height(&self) -> u32 {
        self.y.height as u32
    }

    /// From packed 8-bit RGB, with JPEG's full-range BT.601 (chroma at full size).
    fn from_rgb(rgb: &[u8], width: usize, height: usize) -> Ycc {
        let n = width * height;
        let (mut y, mut cb, mut cr) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for p in rgb.chunks_exact(3) {
            let (r, g, b) = (p[0] as f32, p[1] as f32, p[2] as f32);
            y.push((0.299 * r + 0.587 * g + 0.114 * b).round() as u8);
            cb.push(
                (-0.168_736 * r - 0.331_264 * g + 0.5 * b + 128.0)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
            cr.push(
                (0.5 * r - 0.418_688 * g - 0.081_312 * b + 128.0)
                    .round()
                    .clamp(0.0, 255.0) as u8,
            );
        }
        let plane = |pixels| Plane {
            pixels,
            width,
            height,
        };
        Ycc {
            y: plane(y),
            cb: plane(cb),
            cr: plane(cr),
        }
    }
}

/// Turns the photo at `input` into an upload-ready JPEG in `out_dir`.
pub fn process(
    input: &Path,
    out_dir: &Path,
    profile: &PhotoProfile,
) -> Result<ProcessedPhoto, PhotoError> {
    profile
        .check()
        .map_err(|(field, reason)| PhotoError::Settings { field, reason })?;
    let io = |e: std::io::Error| PhotoError::Io(e.kind().to_string());
    let file = read_bounded(input)?;
    let info = exif::read(&file);
    let ((decoded, original), icc) = if file.starts_with(&[0xFF, 0xD8, 0xFF]) {
        (decode_jpeg(&file, profile)?, markers::icc_segments(&file))
    } else {
        let decoded = decode_other(&file, profile)?;
        let size = (decoded.width(), decoded.height());
        ((decoded, size), Vec::new())
    };
    drop(file);
    let target = fit(original.0, original.1, profile.max_edge);
    let mut image = resize(decoded, target, info.orientation);

    let (mut jpeg, mut quality) = encode_within(&image, profile)?;
    for factor in STEP_DOWN {
        if jpeg.len() as u64 <= profile.budget_bytes {
            break;
        }
        let smaller = fit(
            image.width(),
            image.height(),
            (profile.max_edge as f64 * factor) as u32,
        );
        let step = resize(image, smaller, 1);
        let (j, q) = encode_within(&step, profile)?;
        (jpeg, quality, image) = (j, q, step);
    }
    let (width, height) = (image.width(), image.height());
    if !icc.is_empty() {
        jpeg = markers::insert_after_jfif(&jpeg, &icc);
    }
    let name = format!("{}.jpg", hex(&Sha256::digest(&jpeg)[..16]));
    std::fs::create_dir_all(out_dir).map_err(io)?;
    let path = out_dir.join(name);
    let partial = path.with_extension("jpg.partial");
    write_private(&partial, &jpeg)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(io)?;
    Ok(ProcessedPhoto {
        path,
        width,
        height,
        bytes: jpeg.len(),
        quality,
        location: info.location,
        color_profile_kept: !icc.is_empty(),
    })
}

/// Writes `bytes` to a new file readable by this user only (0600): a photo of a street may
/// show people and number plates until it is sent.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The size that fits a `max_edge` box, never larger than the input.
fn fit(width: u32, height: u32, max_edge: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= max_edge {
        return (width, height);
    }
    let scale = max_edge as f64 / long as f64;
    let w = if width >= height {
        max_edge
    } else {
        ((width as f64 * scale).round() as u32).max(1)
    };
    let h = if height > width {
        max_edge
    } else {
        ((height as f64 * scale).round() as u32).max(1)
    };
    (w, h)
}

fn check_pixels(width: u64, height: u64, profile: &PhotoProfile) -> Result<(), PhotoError> {
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt("the image has no pixels".into()));
    }
    if width * height > profile.max_input_pixels {
        return Err(PhotoError::TooLarge {
            width,
            height,
            limit: profile.max_input_pixels,
        });
    }
    Ok(())
}

/// Refuses an image whose decode would hold more than [`MAX_DECODE_BYTES`] at
/// `bytes_per_pixel`, before anything is allocated.
fn check_memory(width: u64, height: u64, bytes_per_pixel: f64) -> Result<(), PhotoError> {
    let needed = (width * height) as f64 * bytes_per_pixel;
    if needed > MAX_DECODE_BYTES as f64 {
        return Err(PhotoError::TooLarge {
            width,
            height,
            limit: (MAX_DECODE_BYTES as f64 / bytes_per_pixel) as u64,
        });
    }
    Ok(())
}

/// Decodes at the smallest DCT scale (M/8) whose long edge still covers the target (within
/// 2%: a 4032 px photo decodes at 1/2, 2016 px, for a 2048 px box, which the resize then
/// enlarges by 1.6%, cheaper than decoding at 5/8 and reducing), to the file's own planes. The
/// decoded planes and the photo's full size.
fn decode_jpeg(file: &[u8], profile: &PhotoProfile) -> Result<(Ycc, (u32, u32)), PhotoError> {
    let corrupt = |e: turbojpeg::Error| PhotoError::Corrupt(e.to_string());
    let mut decompressor = Decompressor::new().map_err(corrupt)?;
    let header = decompressor.read_header(file).map_err(corrupt)?;
    check_pixels(header.width as u64, header.height as u64, profile)?;
    if matches!(
        header.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    ) {
        return Err(PhotoError::Unsupported(
            "a CMYK JPEG (a file made for print): export it as an RGB JPEG first".into(),
        ));
    }
    if header.is_progressive {
        // A progressive JPEG keeps every DCT coefficient (2 bytes a sample) until its last
        // scan, whatever the output scale.
        let samples_per_pixel = match header.subsamp {
            Subsamp::Gray => 1.0,
            Subsamp::Sub2x2 => 1.5,
            Subsamp::Sub2x1 | Subsamp::Sub1x2 => 2.0,
            _ => 3.0,
        };
        check_memory(
            header.width as u64,
            header.height as u64,
            2.0 * samples_per_pixel,
        )?;
    }
    let original = (header.width as u32, header.height as u32);
    let long = header.width.max(header.height);
    let scale = (1..=8)
        .map(|m| ScalingFactor::new(m, 8))
        .find(|s| s.scale(long) * 50 >= profile.max_edge as usize * 49)
        .unwrap_or(ScalingFactor::ONE);
    decompressor.set_scaling_factor(scale).map_err(corrupt)?;
    let (width, height) = (scale.scale(header.width), scale.scale(header.height));
    if header.subsamp == Subsamp::Unknown {
        // An unusual subsampling TurboJPEG cannot give as planes: through RGB.
        let mut pixels = vec![0u8; width * height * 3];
        let image = Image {
            pixels: pixels.as_mut_slice(),
            width,
            pitch: width * 3,
            height,
            format: PixelFormat::RGB,
        };
        decompressor.decompress(file, image).map_err(corrupt)?;
        return Ok((Ycc::from_rgb(&pixels, width, height), original));
    }
    let len = turbojpeg::yuv_pixels_len(width, 1, height, header.subsamp).map_err(corrupt)?;
    let mut pixels = vec![0u8; len];
    let image = YuvImage {
        pixels: pixels.as_mut_slice(),
        width,
        align: 1,
        height,
        subsamp: header.subsamp,
    };
    // TurboJPEG reports a truncated or damaged stream (even one it could partly draw) as an error.
    decompressor
        .decompress_to_yuv(file, image)
        .map_err(corrupt)?;
    // The planes, one after another: luma, then (unless gray) the two chroma planes, each
    // padded to whole subsampling units (TurboJPEG's plane sizes).
    let (hf, vf) = header.subsamp.size();
    let luma = (width.next_multiple_of(hf), height.next_multiple_of(vf));
    let chroma = (luma.0 / hf, luma.1 / vf);
    let mut planes = pixels;
    let (cb, cr) = if header.subsamp == Subsamp::Gray {
        let neutral = vec![128u8; width.div_ceil(2) * height.div_ceil(2)];
        (neutral.clone(), neutral)
    } else {
        let cr = planes.split_off(luma.0 * luma.1 + chroma.0 * chroma.1);
        let cb = planes.split_off(luma.0 * luma.1);
        (cb, cr)
    };
    let chroma = match header.subsamp {
        Subsamp::Gray => (width.div_ceil(2), height.div_ceil(2)),
        _ => chroma,
    };
    let plane = |pixels, (width, height)| Plane {
        pixels,
        width,
        height,
    };
    let ycc = Ycc {
        y: plane(unpad(planes, luma.0, width, height), (width, height)),
        cb: plane(cb, chroma),
        cr: plane(cr, chroma),
    };
    Ok((ycc, original))
}

/// The first `width` x `height` of a plane whose rows are `stride` long, in place.
fn unpad(mut pixels: Vec<u8>, stride: usize, width: usize, height: usize) -> Vec<u8> {
    if stride != width {
        for row in 1..height {
            pixels.copy_within(row * stride..row * stride + width, row * width);
        }
    }
    pixels.truncate(width * height);
    pixels
}

/// PNG and WebP through `image`, with its allocation limits as a second guard.
fn decode_other(file: &[u8], profile: &PhotoProfile) -> Result<Ycc, PhotoError> {
    let format = image::guess_format(file).map_err(|_| PhotoError::NotAnImage)?;
    if !matches!(format, image::ImageFormat::Png | image::ImageFormat::WebP) {
        return Err(PhotoError::NotAnImage);
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(file), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(profile.max_input_pixels.saturating_mul(4));
    reader.limits(limits);
    let decoder = reader
        .into_decoder()
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let (width, height) = image::ImageDecoder::dimensions(&decoder);
    check_pixels(width as u64, height as u64, profile)?;
    // Held whole (16-bit and alpha included), then converted to 8-bit RGB.
    let decoded = image::ImageDecoder::total_bytes(&decoder) as f64;
    let per_pixel = decoded / (width as f64 * height as f64) + 3.0;
    check_memory(width as u64, height as u64, per_pixel)?;
    let image = image::DynamicImage::from_decoder(decoder)
        .map_err(|e| PhotoError::Corrupt(e.to_string()))?;
    let rgb = image.into_rgb8();
    let (width, height) = (rgb.width() as usize, rgb.height() as usize);
    Ok(Ycc::from_rgb(rgb.as_raw(), width, height))
}

/// Lanczos3 to `(width, height)`, chroma to 4:2:0, turned upright for an EXIF
/// `orientation` in the same pass; a no-op when there is nothing to do.
fn resize(src: Ycc, (width, height): (u32, u32), orientation: u8) -> Ycc {
    let (w, h) = (width as usize, height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    Ycc {
        y: resize::resize(src.y, w, h, orientation),
        cb: resize::resize(src.cb, cw, ch, orientation),
        cr: resize::resize(src.cr, cw, ch, orientation),
    }
}

/// A baseline 4:2:0 JPEG of the planes.
fn encode(image: &Ycc, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let fail = |e: turbojpeg::Error| PhotoError::Corrupt(format!("encode: {e}"));
    let mut compressor = Compressor::new().map_err(fail)?;
    compressor.set_quality(quality as i32).map_err(fail)?;
    // 4:2:0 wants luma in whole 2x2 units: an odd side gets its edge repeated once.
    let (w, h) = (image.y.width, image.y.height);
    let (pw, ph) = (w.next_multiple_of(2), h.next_multiple_of(2));
    let padded;
    let luma = if (pw, ph) == (w, h) {
        image.y.pixels.as_slice()
    } else {
        let mut rows: Vec<u8> = Vec::with_capacity(pw * ph);
        for row in image.y.pixels.chunks_exact(w) {
            rows.extend_from_slice(row);
            rows.extend(std::iter::repeat_n(row[w - 1], pw - w));
        }
        if ph != h {
            rows.extend_from_within((h - 1) * pw..h * pw);
        }
        padded = rows;
        padded.as_slice()
    };
    let planes = YuvPlanesImage {
        y_plane: luma,
        u_plane: image.cb.pixels.as_slice(),
        v_plane: image.cr.pixels.as_slice(),
        width: w,
        height: h,
        y_stride: pw,
        u_stride: image.cb.width,
        v_stride: image.cr.width,
        subsamp: Subsamp::Sub2x2,
    };
    compressor.compress_yuv_planes_to_vec(&planes).map_err(fail)
}

/// Encodes at the profile's quality; only when that is over budget, searches a lower quality
/// by a secant on ln(size) (typically 1 to 3 more encodes), never below the floor. Returns the
/// best fit, or the smallest over-budget result when even the floor does not fit.
fn encode_within(image: &Ycc, profile: &PhotoProfile) -> Result<(Vec<u8>, u8), PhotoError> {
    let budget = profile.budget_bytes;
    let first = encode(image, profile.quality)?;
    if first.len() as u64 <= budget {
        return Ok((first, profile.quality));
    }
    let floor = profile.quality_floor.min(profile.quality);
    let target = (0.96 * budget as f64).ln();
    let mut best: Option<(Vec<u8>, u8)> = None;
    let mut over = (first, profile.quality); // the lowest quality known to be over budget
    let mut points = vec![(profile.quality as f64, (over.0.len() as f64).ln())];
    for _ in 0..5 {
        let &(q1, ln1) = points.last().unwrap();
        let slope = match points.len() {
            1 => 0.03,
            n => ((ln1 - points[n - 2].1) / (q1 - points[n - 2].0)).max(0.005),
        };
        let mut q = (q1 - (ln1 - target) / slope)
            .round()
            .clamp(floor as f64, over.1 as f64 - 1.0) as u8;
        if let Some((_, fits)) = &best {
            q = q.max(fits + 1);
        }
        if q >= over.1 || best.as_ref().is_some_and(|(_, fits)| q <= *fits) {
            break;
        }
        let jpeg = encode(image, q)?;
        points.push((q as f64, (jpeg.len() as f64).ln()));
        if jpeg.len() as u64 <= budget {
            let close = jpeg.len() as f64 >= 0.92 * budget as f64;
            best = Some((jpeg, q));
            if close {
                break;
            }
        } else {
            over = (jpeg, q);
            if q == floor {
                break;
            }
        }
    }
    Ok(best.unwrap_or(over))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_keeps_aspect_and_never_enlarges() {
        assert_eq!(fit(4032, 3024, 2048), (2048, 1536));
        assert_eq!(fit(3024, 4032, 2048), (1536, 2048));
        assert_eq!(fit(800, 600, 2048), (800, 600));
        assert_eq!(fit(8064, 6048, 1600), (1600, 1200));
    }
}
