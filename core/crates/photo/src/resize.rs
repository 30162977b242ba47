//! Lanczos3 for one 8-bit plane (a JPEG's luma or chroma), separable and streamed: each output
//! row is the input rows under its filter combined down (over whole rows, which the compiler
//! vectorises), then resized across; so the only full-size buffers are the input and the
//! output. Weights are 14-bit fixed point, summing exactly to one, in windows padded to whole
//! groups of 8 so that the across pass vectorises too.

/// An 8-bit plane, rows packed (no padding).
pub(crate) struct Plane {
    pub(crate) pixels: Vec<u8>,
    pub(crate) width: usize,
    pub(crate) height: usize,
}

const BITS: u32 = 14;
/// Taps are summed in groups of this many (one SIMD register of 16-bit lanes).
const LANES: usize = 8;
const ONE: i32 = 1 << BITS;

/// The filter over one axis: for each output index, its first input index and its weights.
struct Filter {
    starts: Vec<usize>,
    /// `taps` weights per output index (zeros past a window cut by the edge, and up to a
    /// multiple of [`LANES`]).
    weights: Vec<i16>,
    taps: usize,
}

fn lanczos3(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    if x.abs() >= 3.0 {
        return 0.0;
    }
    let px = std::f64::consts::PI * x;
    3.0 * px.sin() * (px / 3.0).sin() / (px * px)
}

impl Filter {
    fn new(from: usize, to: usize) -> Filter {
        let scale = from as f64 / to as f64;
        let stretch = scale.max(1.0);
        let support = 3.0 * stretch;
        let taps = ((2.0 * support).ceil() as usize + 1).next_multiple_of(LANES);
        let mut starts = Vec::with_capacity(to);
        let mut weights = vec![0i16; to * taps];
        for (i, row) in weights.chunks_exact_mut(taps).enumerate() {
            let center = (i as f64 + 0.5) * scale - 0.5;
            let first = ((center - support).ceil().max(0.0) as usize).min(from - 1);
            let last = ((center + support).floor() as usize).min(from - 1);
            let count = (last + 1 - first).min(taps);
            let raw: Vec<f64> = (first..first + count)
                .map(|j| lanczos3((j as f64 - center) / stretch))
                .collect();
            let sum: f64 = raw.iter().sum();
            let mut total = 0;
            for (w, r) in row.iter_mut().zip(&raw) {
                *w = (r / sum * ONE as f64).round() as i16;
                total += *w as i32;
            }
            // The rounding's remainder goes to the largest weight: a flat plane stays flat.
            let (largest, _) = row[..count]
                .iter()
                .enumerate()
                .max_by_key(|(_, w)| **w)
                .expect("a window holds at least one input");
            row[largest] += (ONE - total) as i16;
            starts.push(first);
        }
        Filter {
            starts,
            weights,
            taps,
        }
    }

    fn window(&self, i: usize) -> (usize, &[i16]) {
        (
            self.starts[i],
            &self.weights[i * self.taps..(i + 1) * self.taps],
        )
    }
}

fn clamp_round(acc: i32) -> u8 {
    ((acc + (ONE >> 1)) >> BITS).clamp(0, 255) as u8
}

/// `src` resized to `width` x `height` and turned upright for an EXIF `orientation` (1 to 8;
/// 5 to 8 swap the sides) in the same pass: each output row is written where it shows, so
/// there is no second copy. The same plane when there is nothing to do.
pub(crate) fn resize(src: Plane, width: usize, height: usize, orientation: u8) -> Plane {
    let orientation = if (2..=8).contains(&orientation) {
        orientation
    } else {
        1
    };
    if (src.width, src.height, orientation) == (width, height, 1) {
        return src;
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { resize_avx2(src, width, height, orientation) };
    }
    resize_plane(src, width, height, orientation)
}

/// The same code, compiled for AVX2 (x86 desktops and emulators have it; ARM phones take
/// NEON, their baseline, in `resize_plane`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn resize_avx2(src: Plane, width: usize, height: usize, orientation: u8) -> Plane {
    resize_plane(src, width, height, orientation)
}

/// Where the resized pixel (x, y) shows: its index is `start(y) + x * step`.
struct Placement {
    width: usize,
    height: usize,
    orientation: u8,
}

impl Placement {
    /// The upright size.
    fn shown(&self) -> (usize, usize) {
        match self.orientation {
            5..=8 => (self.height, self.width),
            _ => (self.width, self.height),
        }
    }

    /// Writes the resized rows from `first` on (`rows`, packed), turned sideways: for each x,
    /// the rows' pixels are neighbours in the output.
    fn columns(&self, first: usize, rows: &[u8], pixels: &mut [u8]) {
        let count = rows.len() / self.width;
        let (start, step) = self.row(first);
        // Row `first + j` starts at `start + j * along` (one pixel further along a column).
        let along = self.row(first + 1).0 - start;
        for x in 0..self.width {
            let at = start + x as isize * step;
            for j in 0..count {
                pixels[(at + j as isize * along) as usize] = rows[j * self.width + x];
            }
        }
    }

    /// The index of row `y`'s first pixel, and the step to the next.
    fn row(&self, y: usize) -> (isize, isize) {
        let (w, h, y) = (self.width as isize, self.height as isize, y as isize);
        match self.orientation {
            2 => (y * w + w - 1, -1),
            3 => ((h - 1 - y) * w + w - 1, -1),
            4 => ((h - 1 - y) * w, 1),
            5 => (y, h),
            6 => (h - 1 - y, h),
            7 => ((w - 1) * h + h - 1 - y, -h),
            8 => ((w - 1) * h + y, -h),
            _ => (y * w, 1),
        }
    }
}

#[inline(always)]
fn resize_plane(src: Plane, width: usize, height: usize, orientation: u8) -> Plane {
    let across = Filter::new(src.width, width);
    let down = Filter::new(src.height, height);
    let placement = Placement {
        width,
        height,
        orientation,
    };
    let mut pixels = vec![0u8; width * height];
    let mut acc = vec![0i32; src.width];
    // One input-wide row combined down, padded so that every across window is whole.
    let mut combined = vec![0u8; src.width + across.taps];
    // Turned sideways (5 to 8), rows are written as columns: a block of them at a time, so
    // that each column gets a run of bytes rather than one byte a cache line.
    const BLOCK: usize = 16;
    let mut block = vec![0u8; BLOCK * width];
    for y in 0..height {
        let (first, weights) = down.window(y);
        acc.fill(0);
        for (k, &w) in weights.iter().enumerate() {
            let r = first + k;
            if w == 0 || r >= src.height {
                continue;
            }
            let w = w as i32;
            let row = &src.pixels[r * src.width..(r + 1) * src.width];
            for (a, &p) in acc.iter_mut().zip(row) {
                *a += w * p as i32;
            }
        }
        for (c, &a) in combined.iter_mut().zip(&acc) {
            *c = clamp_round(a);
        }
        match placement.row(y) {
            (start, 1) => {
                let start = start as usize;
                across_row(&combined, &across, &mut pixels[start..start + width]);
            }
            (start, -1) => {
                let row = &mut block[..width];
                across_row(&combined, &across, row);
                let end = start as usize + 1;
                pixels[end - width..end]
                    .iter_mut()
                    .zip(row.iter().rev())
                    .for_each(|(o, &p)| *o = p);
            }
            _ => {
                let j = y % BLOCK;
                across_row(&combined, &across, &mut block[j * width..(j + 1) * width]);
                if j == BLOCK - 1 || y == height - 1 {
                    placement.columns(y - j, &block[..(j + 1) * width], &mut pixels);
                }
            }
        }
    }
    let (width, height) = placement.shown();
    Plane {
        pixels,
        width,
        height,
    }
}

/// One row resized across; `src` holds every window whole (padded at its end).
#[inline(always)]
fn across_row(src: &[u8], filter: &Filter, out: &mut [u8]) {
    for (x, o) in out.iter_mut().enumerate() {
        let (first, weights) = filter.window(x);
        let window = &src[first..first + weights.len()];
        let mut acc = [0i32; LANES];
        for (pixels, weights) in window.chunks_exact(LANES).zip(weights.chunks_exact(LANES)) {
            for lane in 0..LANES {
                acc[lane] += pixels[lane] as i32 * weights[lane] as i32;
            }
        }
        *o = clamp_round(acc.iter().sum());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plane(width: usize, height: usize, f: impl Fn(usize, usize) -> u8) -> Plane {
        let pixels = (0..height)
            .flat_map(|y| (0..width).map(move |x| (x, y)))
            .map(|(x, y)| f(x, y))
            .collect();
        Plane {
            pixels,
            width,
            height,
        }
    }

    #[test]
    fn a_flat_plane_stays_flat_at_any_size() {
        for (w, h) in [(1, 1), (7, 3), (640, 480), (1999, 17)] {
            let out = resize(plane(403, 301, |_, _| 173), w, h, 1);
            assert_eq!((out.width, out.height), (w, h));
            assert!(out.pixels.iter().all(|&p| p == 173), "{w}x{h}");
        }
    }

    #[test]
    fn a_ramp_stays_a_ramp_and_halves_keep_their_sides() {
        // Left half dark, right half light: the edge stays in the middle, each side its value.
        let out = resize(
            plane(400, 200, |x, _| if x < 200 { 40 } else { 220 }),
            100,
            50,
            1,
        );
        for row in out.pixels.chunks(100) {
            assert!(row[..45].iter().all(|&p| p == 40), "{:?}", &row[..50]);
            assert!(row[55..].iter().all(|&p| p == 220), "{:?}", &row[50..]);
        }
        let ramp = resize(plane(1000, 10, |x, _| (x / 4) as u8), 250, 10, 1);
        for pair in ramp.pixels[5..245].windows(2) {
            assert!(pair[1] >= pair[0], "monotonic: {pair:?}");
        }
    }

    #[test]
    fn it_matches_the_image_crates_lanczos3() {
        // A photo-like plane: smooth gradients, an edge and fine texture.
        let f = |x: usize, y: usize| {
            let wave = ((x as f64 / 7.0).sin() * 30.0 + (y as f64 / 11.0).cos() * 30.0) as i32;
            let edge = if x * 3 > y * 4 { 60 } else { 0 };
            (100 + wave + edge + ((x * 7 + y * 13) % 9) as i32).clamp(0, 255) as u8
        };
        let (sw, sh, dw, dh) = (1013, 761, 401, 301);
        let ours = resize(plane(sw, sh, f), dw, dh, 1);
        let source = image::GrayImage::from_fn(sw as u32, sh as u32, |x, y| {
            image::Luma([f(x as usize, y as usize)])
        });
        let theirs = image::imageops::resize(
            &source,
            dw as u32,
            dh as u32,
            image::imageops::FilterType::Lanczos3,
        );
        let diffs: Vec<i32> = ours
            .pixels
            .iter()
            .zip(theirs.as_raw())
            .map(|(&a, &b)| (a as i32 - b as i32).abs())
            .collect();
        let max = *diffs.iter().max().unwrap();
        let mean = diffs.iter().sum::<i32>() as f64 / diffs.len() as f64;
        assert!(max <= 2 && mean < 0.3, "max {max}, mean {mean:.2}");
    }

    #[test]
    fn turning_while_resizing_equals_turning_after() {
        let f = |x: usize, y: usize| ((x * 37 + y * 91) % 251) as u8;
        let flat = resize(plane(90, 61, f), 45, 30, 1);
        for orientation in 1..=8u8 {
            let turned = resize(plane(90, 61, f), 45, 30, orientation);
            let (w, h) = (45isize, 30isize);
            // The displayed pixel (ox, oy) shows the stored one this table names.
            let (origin, step_x, step_y) = match orientation {
                2 => (w - 1, -1, w),
                3 => (w * h - 1, -1, -w),
                4 => ((h - 1) * w, 1, -w),
                5 => (0, w, 1),
                6 => ((h - 1) * w, -w, 1),
                7 => (w * h - 1, -w, -1),
                8 => (w - 1, w, -1),
                _ => (0, 1, w),
            };
            let (ow, oh) = if orientation >= 5 { (h, w) } else { (w, h) };
            assert_eq!((turned.width, turned.height), (ow as usize, oh as usize));
            for oy in 0..oh {
                for ox in 0..ow {
                    let stored = origin + ox * step_x + oy * step_y;
                    assert_eq!(
                        turned.pixels[(oy * ow + ox) as usize],
                        flat.pixels[stored as usize],
                        "orientation {orientation} at ({ox}, {oy})"
                    );
                }
            }
        }
    }

    #[test]
    fn enlarging_works_too() {
        let out = resize(plane(3, 2, |x, y| (x * 80 + y * 10) as u8), 12, 8, 1);
        assert_eq!(out.pixels.len(), 96);
        assert!(out.pixels[0] < out.pixels[11], "left darker than right");
    }
}
