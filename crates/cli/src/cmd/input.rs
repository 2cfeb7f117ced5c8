//! Input files are read with their reader's size limit checked first, so a
//! huge (or endless) file is refused before it is held in memory. The limits
//! live beside the readers and are listed in docs/limits.md.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

/// The bytes of `path`, refused with a clear error when over `limit` bytes;
/// `what` names the kind of file ("a FIT file").
pub fn read_bounded(path: &Path, limit: usize, what: &str) -> anyhow::Result<Vec<u8>> {
    let name = path.display().to_string();
    let too_big = |n: String| {
        anyhow::anyhow!(
            "{name}: the file is {n} bytes, over the {limit}-byte limit for {what}; check that it is the right file (the limits are in docs/limits.md)"
        )
    };
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {name}"))?;
    let len = file
        .metadata()
        .with_context(|| format!("cannot read {name}"))?
        .len();
    if len > limit as u64 {
        return Err(too_big(len.to_string()));
    }
    // A pipe or device reports no length: stop one byte past the limit.
    let mut bytes = Vec::with_capacity(len as usize);
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {name}"))?;
    if bytes.len() > limit {
        return Err(too_big(format!("more than {limit}")));
    }
    Ok(bytes)
}

/// As [`read_bounded`], as UTF-8 text.
pub fn read_text_bounded(path: &Path, limit: usize, what: &str) -> anyhow::Result<String> {
    let bytes = read_bounded(path, limit, what)?;
    String::from_utf8(bytes)
        .map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "stream did not contain valid UTF-8",
            )
        })
        .with_context(|| format!("cannot read {}", path.display()))
}

/// A heart-rate recording's bytes: FIT by the `.fit` extension, else CSV.
pub fn read_recording(path: &Path) -> anyhow::Result<Vec<u8>> {
    let is_fit = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("fit"));
    if is_fit {
        read_bounded(path, rct_exercise::MAX_FIT_BYTES, "a FIT file")
    } else {
        read_bounded(path, rct_exercise::MAX_CSV_BYTES, "a heart-rate CSV file")
    }
}

/// A protocol file's text.
pub fn read_protocol(path: &Path) -> anyhow::Result<String> {
    read_text_bounded(
        path,
        rct_core::protocol::MAX_PROTOCOL_BYTES,
        "a protocol file",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::unwrap_used)]
    fn files_over_the_limit_are_refused_before_reading() {
        let dir = std::env::temp_dir().join(format!("rct-input-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("x.csv");
        std::fs::write(&f, b"0123456789").unwrap();
        assert_eq!(read_bounded(&f, 10, "a test file").unwrap().len(), 10);
        let e = read_bounded(&f, 9, "a test file").unwrap_err().to_string();
        assert!(
            e.ends_with("x.csv: the file is 10 bytes, over the 9-byte limit for a test file; check that it is the right file (the limits are in docs/limits.md)"),
            "{e}"
        );
        std::fs::write(&f, b"\xff").unwrap();
        let e = format!("{:#}", read_text_bounded(&f, 9, "a test file").unwrap_err());
        assert!(e.contains("valid UTF-8"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
