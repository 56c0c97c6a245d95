//! Files that hold secrets (the development TLS key, the master key): written whole or
//! not at all, readable by the owner only from their first byte.
//!
//! Each write goes to a new temporary file in the same directory (tempfile creates it
//! with mode 0600 and `O_EXCL`), is synced, then renamed over the target. So a file that
//! already exists with a looser mode is replaced, not rewritten in place with that mode;
//! a crash leaves the old file or the new one, never half a key; and a symlink planted at
//! the target is replaced, not followed.

use std::io::Write as _;
use std::path::Path;

/// Replaces `path` with `contents`, mode 0600.
pub fn replace(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let file = written(path, contents)?;
    file.persist(path).map_err(|e| e.error)?;
    sync_dir(path)
}

/// Creates `path` with `contents`, mode 0600; `AlreadyExists` when something is there
/// (another process won the race: use its file).
pub fn create_new(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let file = written(path, contents)?;
    file.persist_noclobber(path).map_err(|e| e.error)?;
    sync_dir(path)
}

fn written(path: &Path, contents: &[u8]) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut file = tempfile::Builder::new()
        .prefix(".rampart-")
        .tempfile_in(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.as_file().sync_all()?;
    Ok(file)
}

/// The rename is durable once the directory is synced.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    #[cfg(unix)]
    fn a_world_readable_file_is_replaced_with_an_owner_only_one() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.pem");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        replace(&path, b"new").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(mode(&path), 0o600);
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
    }

    #[test]
    #[cfg(unix)]
    fn a_symlink_at_the_target_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let path = dir.path().join("key.pem");
        std::os::unix::fs::symlink(&victim, &path).unwrap();
        replace(&path, b"secret").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&path).unwrap(), b"secret");
        assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
    }

    #[test]
    fn create_new_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        create_new(&path, b"first").unwrap();
        let second = create_new(&path, b"second").unwrap_err();
        assert_eq!(second.kind(), std::io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&path).unwrap(), b"first");
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }
}
