//! Photo pipeline benchmark (not a timed test): `cargo bench -p curbside-core --bench photo`.
//!
//! For a 12 MP and a 48 MP photo (from ../shared/photos when present, generated otherwise),
//! each variant runs in its own process, round-robin: Curbside's pipeline, `vipsthumbnail`
//! (libvips), libjpeg-turbo's `djpeg -scale` then `cjpeg`, and the naive `image`-crate
//! pipeline. Prints median wall time, median peak RSS (from wait4), output bytes and size, and
//! the ratios to vips. Then the memory one photo adds inside a process, beside libvips
//! in-process (pyvips with its cache off; `CURBSIDE_BENCH_PYTHON` names a Python that has it).
//! Needs `vipsthumbnail`, `djpeg` and `cjpeg` (Debian: libvips-tools, libjpeg-turbo-progs);
//! missing tools are reported and skipped. `tests/bench` installs all of them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const EDGE: u32 = 2048;

/// Per variant: its name, (time, peak RSS KiB) samples, and (output bytes, output size).
type Results<'a> = Vec<(&'a str, Vec<(Duration, u64)>, Option<(u64, (u32, u32))>)>;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--ssim") {
        return bytes_at_equal_quality(Path::new(&args[i + 1]), Path::new(&args[i + 2]));
    }
    if let Some(i) = args.iter().position(|a| a == "--in-process") {
        return in_process(Path::new(&args[i + 1]), Path::new(&args[i + 2]));
    }
    if let Some(i) = args.iter().position(|a| a == "--variant") {
        return run_variant(
            &args[i + 1],
            Path::new(&args[i + 2]),
            Path::new(&args[i + 3]),
        );
    }
    let work = tempfile::tempdir().unwrap();
    let inputs = inputs(work.path());
    let variants = ["curbside", "vipsthumbnail", "djpeg+cjpeg", "image-naive"];
    println!("Photo pipeline benchmark: longest edge {EDGE} px, quality 80, metadata stripped (2 cores)\n");
    for (label, input, rounds) in inputs {
        let mut results: Results<'_> = variants.iter().map(|v| (*v, Vec::new(), None)).collect();
        for round in 0..=rounds {
            for (variant, samples, output) in results.iter_mut() {
                let out = work.path().join(format!("{variant}.jpg"));
                let Some((elapsed, rss)) = measure(variant, &input, &out, work.path()) else {
                    continue;
                };
                if round > 0 {
                    samples.push((elapsed, rss));
                }
                if let Ok(bytes) = std::fs::read(&out) {
                    let size = image::load_from_memory(&bytes)
                        .map(|i| (i.width(), i.height()))
                        .unwrap_or((0, 0));
                    *output = Some((bytes.len() as u64, size));
                }
            }
        }
        println!("{label}: {}", input.display());
        println!("| variant | median time (ms) | peak RSS (MiB) | output bytes | output px | time / vips | RSS / vips |");
        println!("|---|---|---|---|---|---|---|");
        let vips = results
            .iter()
            .find(|r| r.0 == "vipsthumbnail")
            .and_then(|r| medians(&r.1));
        for (variant, samples, output) in &results {
            let Some((time, rss)) = medians(samples) else {
                println!("| {variant} | skipped (tool not installed) | | | | | |");
                continue;
            };
            let (bytes, (w, h)) = output.unwrap_or((0, (0, 0)));
            let ratio = |a: f64, b: f64| format!("{:.2}", a / b);
            let (rt, rr) = match vips {
                Some((vt, vr)) => (
                    ratio(time.as_secs_f64(), vt.as_secs_f64()),
                    ratio(rss as f64, vr as f64),
                ),
                None => ("-".into(), "-".into()),
            };
            println!(
                "| {variant} | {:.0} | {:.1} | {bytes} | {w}x{h} | {rt} | {rr} |",
                time.as_secs_f64() * 1000.0,
                rss as f64 / 1024.0
            );
        }
        memory_in_process(&input, work.path());
        // In a child: the exact reference's full decode would count in every later child's
        // peak RSS (a forked child's peak includes what it shared before its exec).
        let me = std::env::current_exe().unwrap();
        let _ = Command::new(me)
            .arg("--ssim")
            .arg(&input)
            .arg(work.path())
            .status();
        println!();
    }
}

/// Memory a process adds for one photo, beside libvips in-process (pyvips, its cache off):
/// each in a child that first warms up on a small photo, then resets its peak
/// (`/proc/self/clear_refs`) and reports peak minus resident before the photo.
fn memory_in_process(input: &Path, work: &Path) {
    let out = work.join("in-process.jpg");
    let me = std::env::current_exe().unwrap();
    let ours = median_kib(
        (0..5).filter_map(|_| kib_from(Command::new(&me).arg("--in-process").arg(input).arg(&out))),
    );
    let python = std::env::var("CURBSIDE_BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let vips = median_kib((0..5).filter_map(|_| {
        kib_from(
            Command::new(&python)
                .arg("-c")
                .arg(PYVIPS)
                .arg(input)
                .arg(&out)
                .arg(EDGE.to_string()),
        )
    }));
    let mib = |k: u64| k as f64 / 1024.0;
    match (ours, vips) {
        (Some(o), Some(v)) => println!(
            "memory added in-process: curbside {:.1} MiB, libvips (pyvips, cache off) {:.1} MiB, ratio {:.2} x (goal <= 0.75 x)",
            mib(o), mib(v), o as f64 / v as f64
        ),
        (Some(o), None) => println!(
            "memory added in-process: curbside {:.1} MiB; libvips in-process SKIPPED (pyvips not importable by {python})",
            mib(o)
        ),
        _ => println!("memory added in-process: SKIPPED (not on Linux)"),
    }
}

/// Bytes at equal quality: SSIM (luma) against a reference made the slow, exact way (full
/// decode, EXIF orientation, Lanczos3 in floating point to the same size), for Curbside at
/// its default quality, and for `vipsthumbnail` at qualities around it; the vips bytes at
/// Curbside's SSIM are interpolated between the two qualities that bracket it.
fn bytes_at_equal_quality(input: &Path, work: &Path) {
    let dir = work.join("ssim");
    let ours = curbside_core::photo::process(input, &dir, &Default::default()).unwrap();
    let ours_image = image::open(&ours.path).unwrap().to_luma8();
    let (w, h) = ours_image.dimensions();
    let reference = decode_upright(input)
        .resize_exact(w, h, image::imageops::FilterType::Lanczos3)
        .to_luma8();
    let ours_ssim = ssim(&ours_image, &reference);
    let mut vips: Vec<(u8, f64, u64)> = Vec::new();
    for q in (50..=95).step_by(5) {
        let out = work.join(format!("vips-q{q}.jpg"));
        let made = Command::new("vipsthumbnail")
            .arg(input)
            .arg("-s")
            .arg(EDGE.to_string())
            .arg("-o")
            .arg(format!("{}[Q={q},strip]", out.display()))
            .status()
            .is_ok_and(|s| s.success());
        if !made {
            println!("bytes at equal SSIM: SKIPPED (vipsthumbnail not installed)");
            return;
        }
        let theirs = image::open(&out).unwrap().to_luma8();
        if theirs.dimensions() != (w, h) {
            println!(
                "bytes at equal SSIM: SKIPPED (vips made {:?}, Curbside {w}x{h})",
                theirs.dimensions()
            );
            return;
        }
        vips.push((
            q,
            ssim(&theirs, &reference),
            std::fs::metadata(&out).unwrap().len(),
        ));
    }
    let bracket = vips
        .windows(2)
        .find(|p| p[0].1 <= ours_ssim && ours_ssim <= p[1].1);
    let Some([(_, s0, b0), (_, s1, b1)]) = bracket.map(|p| [p[0], p[1]]) else {
        println!(
            "bytes at equal SSIM: Curbside SSIM {ours_ssim:.4} is outside vips' Q50-95 range ({:.4}-{:.4})",
            vips[0].1,
            vips[vips.len() - 1].1
        );
        return;
    };
    let t = if s1 > s0 {
        (ours_ssim - s0) / (s1 - s0)
    } else {
        0.0
    };
    let vips_bytes = b0 as f64 + t * (b1 as f64 - b0 as f64);
    println!(
        "bytes at equal SSIM {ours_ssim:.4}: curbside {} bytes (q80), vipsthumbnail {:.0} bytes (interpolated), ratio {:.2} x (goal <= 1)",
        ours.bytes,
        vips_bytes,
        ours.bytes as f64 / vips_bytes
    );
}

/// The whole photo decoded by the `image` crate and turned upright by its EXIF orientation:
/// the slow, exact way.
fn decode_upright(input: &Path) -> image::DynamicImage {
    let mut decoder = image::ImageReader::open(input)
        .unwrap()
        .into_decoder()
        .unwrap();
    let orientation = image::ImageDecoder::orientation(&mut decoder).unwrap();
    let mut image = image::DynamicImage::from_decoder(decoder).unwrap();
    image.apply_orientation(orientation);
    image
}

/// Mean SSIM of two same-size luma images, over 8x8 windows every 4 pixels.
fn ssim(a: &image::GrayImage, b: &image::GrayImage) -> f64 {
    let (w, h) = a.dimensions();
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut windows) = (0.0, 0u64);
    for y in (0..h.saturating_sub(8)).step_by(4) {
        for x in (0..w.saturating_sub(8)).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for dy in 0..8 {
                for dx in 0..8 {
                    let p = a.get_pixel(x + dx, y + dy)[0] as f64;
                    let q = b.get_pixel(x + dx, y + dy)[0] as f64;
                    sa += p;
                    sb += q;
                    saa += p * p;
                    sbb += q * q;
                    sab += p * q;
                }
            }
            let n = 64.0;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2))
                / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1;
        }
    }
    total / windows as f64
}

/// The child's answer: KiB on its standard output.
fn kib_from(command: &mut Command) -> Option<u64> {
    let output = command.stderr(std::process::Stdio::null()).output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8_lossy(&output.stdout).trim().parse().ok()
}

fn median_kib(samples: impl Iterator<Item = u64>) -> Option<u64> {
    let mut samples: Vec<u64> = samples.collect();
    samples.sort();
    samples.get(samples.len() / 2).copied()
}

/// libvips in-process: the same box, quality and stripping as `vipsthumbnail` above.
const PYVIPS: &str = r#"
import sys, pyvips
pyvips.cache_set_max(0)
def status(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1])
src, out, edge = sys.argv[1], sys.argv[2], int(sys.argv[3])
warm = out + '.warm.jpg'
pyvips.Image.black(64, 48).jpegsave(warm)
pyvips.Image.thumbnail(warm, 32).jpegsave(out, Q=80, strip=True)
open('/proc/self/clear_refs', 'w').write('5')
before = status('VmRSS:')
pyvips.Image.thumbnail(src, edge).jpegsave(out, Q=80, strip=True)
print(status('VmHWM:') - before)
"#;

/// KiB of /proc/self/status's `key`.
fn status_kib(key: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with(key))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Curbside's side of `memory_in_process`: warm up, reset the peak, process one photo, print
/// the KiB its peak rose above what was resident before.
fn in_process(input: &Path, out: &Path) {
    let dir = out.parent().unwrap().join("in-process-out");
    let warm = out.with_extension("warm.jpg");
    image::RgbImage::from_pixel(64, 48, image::Rgb([90, 120, 150]))
        .save_with_format(&warm, image::ImageFormat::Jpeg)
        .unwrap();
    curbside_core::photo::process(&warm, &dir, &Default::default()).unwrap();
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = status_kib("VmRSS:").unwrap();
    curbside_core::photo::process(input, &dir, &Default::default()).unwrap();
    println!("{}", status_kib("VmHWM:").unwrap().saturating_sub(before));
}

/// The two inputs: real camera files when ../shared is beside the clone, else generated ones.
fn inputs(work: &Path) -> Vec<(&'static str, PathBuf, usize)> {
    let shared = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/photos");
    let (p12, p48) = (
        shared.join("p12_s7edge_o6.jpg"),
        shared.join("p48_synth_s7edge_up2x.jpg"),
    );
    if p12.exists() && p48.exists() {
        return vec![
            ("12 MP (Galaxy S7, orientation 6)", p12, 7),
            ("48 MP (synthetic upscale)", p48, 5),
        ];
    }
    println!("(../shared/photos not present: using generated photo-like JPEGs)\n");
    let make = |name: &str, w: u32, h: u32| {
        let path = work.join(name);
        let image = image::RgbImage::from_fn(w, h, |x, y| {
            let n = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(7) % 24)
                as u8;
            image::Rgb([
                (x * 255 / w) as u8 / 2 + n,
                (y * 255 / h) as u8 / 2 + n,
                120 + n,
            ])
        });
        image
            .save_with_format(&path, image::ImageFormat::Jpeg)
            .unwrap();
        path
    };
    vec![
        ("12 MP (generated)", make("p12.jpg", 4032, 3024), 7),
        ("48 MP (generated)", make("p48.jpg", 8064, 6048), 5),
    ]
}

fn medians(samples: &[(Duration, u64)]) -> Option<(Duration, u64)> {
    if samples.is_empty() {
        return None;
    }
    let mut times: Vec<_> = samples.iter().map(|s| s.0).collect();
    let mut rss: Vec<_> = samples.iter().map(|s| s.1).collect();
    times.sort();
    rss.sort();
    Some((times[times.len() / 2], rss[rss.len() / 2]))
}

/// Wall time and peak RSS (KiB) of one variant, each step in its own process.
fn measure(variant: &str, input: &Path, out: &Path, work: &Path) -> Option<(Duration, u64)> {
    let me = std::env::current_exe().unwrap();
    let steps: Vec<Command> = match variant {
        "curbside" | "image-naive" => {
            let mut c = Command::new(me);
            c.arg("--variant").arg(variant).arg(input).arg(out);
            vec![c]
        }
        "vipsthumbnail" => {
            let mut c = Command::new("vipsthumbnail");
            c.arg(input)
                .arg("-s")
                .arg(EDGE.to_string())
                .arg("-o")
                .arg(format!("{}[Q=80,strip]", out.display()));
            vec![c]
        }
        "djpeg+cjpeg" => {
            // The largest 1/2^k scale that fits the box (djpeg's streaming floor).
            let header = turbojpeg::read_header(&std::fs::read(input).ok()?).ok()?;
            let long = header.width.max(header.height);
            let denom = [1, 2, 4, 8]
                .into_iter()
                .find(|d| long / d <= EDGE as usize)
                .unwrap_or(8);
            let ppm = work.join("scaled.ppm");
            let mut d = Command::new("djpeg");
            d.arg("-scale")
                .arg(format!("1/{denom}"))
                .arg("-outfile")
                .arg(&ppm)
                .arg(input);
            let mut c = Command::new("cjpeg");
            c.arg("-quality")
                .arg("80")
                .arg("-outfile")
                .arg(out)
                .arg(&ppm);
            vec![d, c]
        }
        _ => return None,
    };
    let mut total = Duration::ZERO;
    let mut peak = 0;
    for mut step in steps {
        let start = Instant::now();
        let child = step
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let mut status = 0;
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child and fills a zeroed rusage.
        let waited = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        total += start.elapsed();
        if waited < 0 || status != 0 {
            return None;
        }
        peak = peak.max(usage.ru_maxrss as u64);
    }
    Some((total, peak))
}

fn run_variant(variant: &str, input: &Path, out: &Path) {
    match variant {
        "curbside" => {
            let dir = out.parent().unwrap().join("curbside-out");
            let photo = curbside_core::photo::process(input, &dir, &Default::default()).unwrap();
            std::fs::rename(photo.path, out).unwrap();
        }
        "image-naive" => {
            let img =
                decode_upright(input).resize(EDGE, EDGE, image::imageops::FilterType::Lanczos3);
            let mut file = std::fs::File::create(out).unwrap();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, 80)
                .encode_image(&img)
                .unwrap();
        }
        _ => panic!("unknown variant {variant}"),
    }
}
