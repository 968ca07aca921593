//! Where data files live: a data root (config, environment, or `datasets/`), and checksums.

use crate::DataError;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Resolve `path` against `root`; absolute paths are used as they are.
pub fn resolve(root: &str, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() { p.to_path_buf() } else { Path::new(root).join(p) }
}

/// Resolve and check that the file exists (and matches its checksum when one is given).
pub fn locate(root: &str, path: &str, sha256: Option<&str>) -> Result<PathBuf, DataError> {
    let full = resolve(root, path);
    if !full.is_file() {
        return Err(DataError::NotFound { path: full, root: PathBuf::from(root) });
    }
    if let Some(expected) = sha256 {
        let found = sha256_file(&full)?;
        if !found.eq_ignore_ascii_case(expected.trim()) {
            return Err(DataError::Checksum { path: full, expected: expected.trim().to_string(), found });
        }
    }
    Ok(full)
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut file = std::fs::File::open(path)
        .map_err(|e| DataError::Read { path: path.to_path_buf(), message: e.to_string() })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::Read { path: path.to_path_buf(), message: e.to_string() })?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_checked() {
        let dir = std::env::temp_dir().join(format!("seqlab-source-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("abc.txt"), b"abc").expect("write");
        let root = dir.to_string_lossy().to_string();
        // sha256("abc"), a standard test vector.
        let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert!(locate(&root, "abc.txt", Some(good)).is_ok());
        let err = locate(&root, "abc.txt", Some("00")).expect_err("mismatch").to_string();
        assert!(err.contains("checksum mismatch") && err.contains("abc.txt"), "{err}");
        let err = locate(&root, "missing.csv", None).expect_err("missing").to_string();
        assert!(err.contains("missing.csv") && err.contains("SEQLAB_DATA_ROOT"), "{err}");
    }
}
