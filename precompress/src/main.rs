//! `quire-precompress <dir>`: see the library. Prints what it wrote, one line per file.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: quire-precompress <dir>");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    match quire_precompress::precompress_dir(&dir) {
        Ok(done) => {
            for file in done {
                let show = |size: Option<u64>| size.map_or("-".to_owned(), |s| s.to_string());
                println!(
                    "{}: {} bytes, br {}, gz {}",
                    file.path.strip_prefix(&dir).unwrap_or(&file.path).display(),
                    file.original,
                    show(file.brotli),
                    show(file.gzip),
                );
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("quire-precompress: {}: {error}", dir.display());
            ExitCode::FAILURE
        }
    }
}
