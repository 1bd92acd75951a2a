//! Writes `<file>.br` and `<file>.gz` beside each compressible file of the built app, once at
//! build time, so the relay sends the smallest encoding a browser accepts without compressing
//! anything while it serves (tower-http's `ServeDir` picks the sibling by `Accept-Encoding`).
//!
//! Decision: precompress rather than compress per response (tower-http's `CompressionLayer`).
//! Ahead of time the slowest, densest settings are affordable (brotli quality 11 with its
//! largest window, gzip level 9) for a multi-megabyte wasm module, and serving costs no CPU per
//! download; the files never change after the build, so there is nothing to gain at run time.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// Files below this size gain less from compression than the `Content-Encoding` round costs.
pub const MIN_BYTES: u64 = 1024;

/// Text and wasm compress well; images, fonts and archives are compressed already.
const COMPRESSIBLE: &[&str] = &[
    "wasm",
    "js",
    "mjs",
    "css",
    "html",
    "svg",
    "json",
    "webmanifest",
    "txt",
    "map",
];

/// Brotli's densest setting, and its largest window that every browser decodes (2^24 bytes).
const BROTLI_QUALITY: i32 = 11;
const BROTLI_WINDOW_BITS: i32 = 24;

/// What was written for one file (sizes in bytes; `None` when that encoding was not smaller).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compressed {
    pub path: PathBuf,
    pub original: u64,
    pub brotli: Option<u64>,
    pub gzip: Option<u64>,
}

/// Precompresses every compressible file under `dir`, recursively, one thread per file.
/// Idempotent: a variant that would not be smaller than the original is removed, not kept
/// stale from an earlier run, and `.br`/`.gz` files are never compressed again.
pub fn precompress_dir(dir: &Path) -> io::Result<Vec<Compressed>> {
    let mut files = Vec::new();
    collect(dir, &mut files)?;
    let results: Vec<io::Result<Compressed>> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .iter()
            .map(|path| scope.spawn(move || precompress_file(path)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("compression thread panicked")))
            })
            .collect()
    });
    let mut done: Vec<Compressed> = results.into_iter().collect::<io::Result<_>>()?;
    done.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(done)
}

fn collect(dir: &Path, into: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let meta = fs::metadata(&path)?;
        if meta.is_dir() {
            collect(&path, into)?;
        } else if meta.len() >= MIN_BYTES && is_compressible(&path) {
            into.push(path);
        }
    }
    Ok(())
}

fn is_compressible(path: &Path) -> bool {
    path.extension()
        .and_then(|ext| ext.to_str())
        .is_some_and(|ext| COMPRESSIBLE.contains(&ext))
}

/// Compresses one file both ways and keeps each variant only if it is smaller.
pub fn precompress_file(path: &Path) -> io::Result<Compressed> {
    let original = fs::read(path)?;
    let brotli = keep_if_smaller(path, "br", &original, brotli(&original)?)?;
    let gzip = keep_if_smaller(path, "gz", &original, gzip(&original)?)?;
    Ok(Compressed {
        path: path.to_owned(),
        original: original.len() as u64,
        brotli,
        gzip,
    })
}

fn keep_if_smaller(
    path: &Path,
    suffix: &str,
    original: &[u8],
    compressed: Vec<u8>,
) -> io::Result<Option<u64>> {
    let target = sibling(path, suffix);
    if compressed.len() >= original.len() {
        match fs::remove_file(&target) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
            _ => return Ok(None),
        }
    }
    // Written under a temporary name and renamed, so an interrupted build never leaves a
    // truncated variant that the relay would serve as the file.
    let partial = sibling(path, &format!("{suffix}.partial"));
    fs::write(&partial, &compressed)?;
    fs::rename(&partial, &target)?;
    Ok(Some(compressed.len() as u64))
}

/// `app.wasm` -> `app.wasm.br`: the name `ServeDir` looks for.
fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}

pub fn brotli(data: &[u8]) -> io::Result<Vec<u8>> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: BROTLI_QUALITY,
        lgwin: BROTLI_WINDOW_BITS,
        size_hint: data.len(),
        ..Default::default()
    };
    let mut out = Vec::new();
    brotli::BrotliCompress(&mut &data[..], &mut out, &params)?;
    Ok(out)
}

/// gzip at level 9 with a zero timestamp, so equal inputs give equal bytes.
pub fn gzip(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    encoder.write_all(data)?;
    encoder.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::io::Read as _;

    use super::*;

    fn text(len: usize) -> Vec<u8> {
        b"export function quire() { return 'a page in a book'; }\n"
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect()
    }

    fn unbrotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        brotli::Decompressor::new(data, 4096)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn ungzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn writes_both_variants_that_decode_to_the_original() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("nested")).unwrap();
        let js = dir.path().join("nested/app-0123456789abcdef.js");
        fs::write(&js, text(10_000)).unwrap();
        let done = precompress_dir(dir.path()).unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].original, 10_000);
        let br = fs::read(sibling(&js, "br")).unwrap();
        let gz = fs::read(sibling(&js, "gz")).unwrap();
        assert_eq!(done[0].brotli, Some(br.len() as u64));
        assert_eq!(done[0].gzip, Some(gz.len() as u64));
        assert_eq!(unbrotli(&br), text(10_000));
        assert_eq!(ungzip(&gz), text(10_000));
    }

    #[test]
    fn skips_small_files_images_and_its_own_output() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("index.html"), text(100)).unwrap();
        fs::write(dir.path().join("icon.png"), text(5_000)).unwrap();
        fs::write(dir.path().join("app.css"), text(5_000)).unwrap();
        precompress_dir(dir.path()).unwrap();
        // A second run sees app.css.br and app.css.gz and leaves them alone.
        let again = precompress_dir(dir.path()).unwrap();
        assert_eq!(again.len(), 1);
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "app.css",
                "app.css.br",
                "app.css.gz",
                "icon.png",
                "index.html"
            ]
        );
    }

    #[test]
    fn drops_a_variant_that_is_not_smaller() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("random.wasm");
        // An xorshift stream does not compress.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let noise: Vec<u8> = (0..4096)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state.to_le_bytes()[0]
            })
            .collect();
        fs::write(&path, &noise).unwrap();
        fs::write(sibling(&path, "gz"), b"stale from an earlier build").unwrap();
        let done = precompress_file(&path).unwrap();
        assert_eq!(done.gzip, None);
        assert!(!sibling(&path, "gz").exists());
        assert!(!sibling(&path, "gz.partial").exists());
    }

    #[test]
    fn gzip_output_is_reproducible() {
        assert_eq!(gzip(&text(3_000)).unwrap(), gzip(&text(3_000)).unwrap());
    }
}
