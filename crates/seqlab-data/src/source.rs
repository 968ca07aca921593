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
    locate_with(root, path, sha256, None, &cache_dir())
}

/// The cache for files fetched from a mirror: `SEQLAB_CACHE_DIR`, else `~/.cache/seqlab/data`.
pub fn cache_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("SEQLAB_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var("HOME").unwrap_or_else(|_| ".".into());
    Path::new(&home).join(".cache").join("seqlab").join("data")
}

/// Find `path` under the data root; failing that in the cache; failing that under `mirror`
/// (another folder, e.g. a shared network drive), from which it is copied into the cache once.
/// The checksum, when given, is checked on the file that is returned.
pub fn locate_with(
    root: &str,
    path: &str,
    sha256: Option<&str>,
    mirror: Option<&str>,
    cache: &Path,
) -> Result<PathBuf, DataError> {
    // An empty checksum (e.g. `--set data.sha256=""`) means "do not check".
    let sha256 = sha256.filter(|s| !s.trim().is_empty());
    let mut full = resolve(root, path);
    if !full.is_file() && Path::new(path).is_relative() {
        let cached = cache.join(path);
        if cached.is_file() {
            full = cached;
        } else if let Some(m) = mirror {
            let source = resolve(m, path);
            if source.is_file() {
                if let Some(expected) = sha256 {
                    check(&source, expected)?;
                }
                if let Some(parent) = cached.parent() {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| DataError::Read { path: parent.to_path_buf(), message: e.to_string() })?;
                }
                // Copy to a temporary name first so an interrupted copy is never taken for the file.
                let partial = cached.with_extension("partial");
                std::fs::copy(&source, &partial)
                    .and_then(|_| std::fs::rename(&partial, &cached))
                    .map_err(|e| DataError::Read { path: cached.clone(), message: e.to_string() })?;
                full = cached;
            }
        }
    }
    if !full.is_file() {
        return Err(DataError::NotFound { path: resolve(root, path), root: PathBuf::from(root) });
    }
    if let Some(expected) = sha256 {
        check(&full, expected)?;
    }
    Ok(full)
}

fn check(path: &Path, expected: &str) -> Result<(), DataError> {
    let found = sha256_file(path)?;
    if found.eq_ignore_ascii_case(expected.trim()) {
        Ok(())
    } else {
        Err(DataError::Checksum { path: path.to_path_buf(), expected: expected.trim().to_string(), found })
    }
}

/// Hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> Result<String, DataError> {
    let mut file =
        std::fs::File::open(path).map_err(|e| DataError::Read { path: path.to_path_buf(), message: e.to_string() })?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n =
            file.read(&mut buf).map_err(|e| DataError::Read { path: path.to_path_buf(), message: e.to_string() })?;
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

    #[test]
    fn mirrors_fill_the_cache_once() {
        let base = std::env::temp_dir().join(format!("seqlab-mirror-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let (root, mirror, cache) = (base.join("root"), base.join("mirror"), base.join("cache"));
        std::fs::create_dir_all(mirror.join("sub")).expect("dir");
        std::fs::write(mirror.join("sub/abc.txt"), b"abc").expect("write");
        let good = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        let s = |p: &Path| p.to_string_lossy().to_string();
        let got = locate_with(&s(&root), "sub/abc.txt", Some(good), Some(&s(&mirror)), &cache).expect("from mirror");
        assert_eq!(got, cache.join("sub/abc.txt"));
        // The cached copy serves later runs even when the mirror is gone.
        std::fs::remove_dir_all(&mirror).expect("remove mirror");
        let again = locate_with(&s(&root), "sub/abc.txt", Some(good), Some(&s(&mirror)), &cache).expect("from cache");
        assert_eq!(again, got);
        // A bad checksum on the mirror is refused before anything is cached.
        std::fs::create_dir_all(&mirror).expect("dir");
        std::fs::write(mirror.join("other.txt"), b"abd").expect("write");
        let err = locate_with(&s(&root), "other.txt", Some(good), Some(&s(&mirror)), &cache).expect_err("bad");
        assert!(err.to_string().contains("checksum mismatch"));
        assert!(!cache.join("other.txt").exists());
    }
}
