//! Record's writes below its cassette folder, made relative to a handle on the folder that is
//! opened once ([`CassetteDir`]), never by path.
//!
//! Why a handle: checking a path for symbolic links and then writing to it by path leaves a
//! window in which a directory below the folder can be swapped for a link, and `mkdir`, the
//! exclusive create and the rename all follow a link in the middle of a path. On Unix every step
//! here is `openat`-style instead: each directory is created (`mkdirat`) and opened
//! (`openat` with `O_NOFOLLOW | O_DIRECTORY`) relative to the one above it, the temporary file
//! is created exclusively in the last one, and `renameat` puts it in place there. A link present
//! at any step is refused; one swapped in afterwards changes nothing, since the path is never
//! looked up again. Elsewhere the standard library has no `*at` calls, so the path is checked
//! (`confined_path`) again after the directories are created, which narrows the window without
//! closing it.
//!
//! The folder itself may be a link: the operator named it. It is opened once, on the first
//! write, and kept for the run.

use std::path::{Path, PathBuf};

#[cfg(not(unix))]
use super::confined_path;
use super::CassetteError;

/// A cassette folder, opened once; every save below it goes through this handle.
#[derive(Debug)]
pub struct CassetteDir {
    root: PathBuf,
    /// The folder's open descriptor, which later lookups start from instead of `root`.
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
}

impl CassetteDir {
    /// Opens the folder `root`, creating it (and its parents) when missing.
    pub fn open(root: &Path) -> Result<Self, CassetteError> {
        let io = |source| CassetteError::Io {
            path: root.to_owned(),
            source,
        };
        std::fs::create_dir_all(root).map_err(io)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            let dir = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
                .open(root)
                .map_err(io)?;
            Ok(Self {
                root: root.to_owned(),
                fd: dir.into(),
            })
        }
        #[cfg(not(unix))]
        Ok(Self {
            root: root.to_owned(),
        })
    }

    /// Writes `yaml` atomically to `relative` below the folder (a temporary dot-file created
    /// exclusively, then a rename), creating missing directories, and returns the file's path.
    /// `relative` must be made of plain names; a symbolic link at any part of it is refused, and
    /// so is a final name that is something other than a regular file.
    pub fn save(&self, relative: &Path, yaml: &str) -> Result<PathBuf, CassetteError> {
        self.save_with(relative, yaml.as_bytes(), &mut || {})
    }

    /// [`CassetteDir::save`], running `between` once the directories are open and before the
    /// file is written: the seam a test swaps a directory for a link in.
    pub(crate) fn save_with(
        &self,
        relative: &Path,
        bytes: &[u8],
        between: &mut dyn FnMut(),
    ) -> Result<PathBuf, CassetteError> {
        let target = self.root.join(relative);
        let mut names = Vec::new();
        for component in relative.components() {
            match component {
                std::path::Component::Normal(name) => names.push(name),
                _ => return Err(CassetteError::NotAFile { path: target }),
            }
        }
        let Some((file_name, dirs)) = names.split_last() else {
            return Err(CassetteError::NotAFile { path: target });
        };
        let io = |source| CassetteError::Io {
            path: target.clone(),
            source,
        };
        let symlink = |below: &[&std::ffi::OsStr]| CassetteError::Symlink {
            path: target.clone(),
            link: below.iter().fold(self.root.clone(), |p, n| p.join(n)),
            root: self.root.clone(),
        };
        #[cfg(unix)]
        {
            use std::io::Write;
            use std::os::fd::{AsFd, OwnedFd};
            let mut opened: Option<OwnedFd> = None;
            for (i, name) in dirs.iter().enumerate() {
                let parent = opened.as_ref().map_or(self.fd.as_fd(), |fd| fd.as_fd());
                let name = unix::c_name(name).map_err(io)?;
                match unix::mkdir_at(parent, &name) {
                    Err(err) if err.kind() != std::io::ErrorKind::AlreadyExists => {
                        return Err(io(err))
                    }
                    _ => {}
                }
                let next = match unix::open_dir_at(parent, &name) {
                    Ok(fd) => fd,
                    Err(_) if unix::is_link_at(parent, &name) => return Err(symlink(&dirs[..=i])),
                    Err(err) => return Err(io(err)),
                };
                opened = Some(next);
            }
            let dir = opened.as_ref().map_or(self.fd.as_fd(), |fd| fd.as_fd());
            let name = unix::c_name(file_name).map_err(io)?;
            match unix::kind_at(dir, &name) {
                Ok(unix::Kind::Link) => return Err(symlink(&names)),
                Ok(unix::Kind::Other) => return Err(CassetteError::NotAFile { path: target }),
                Ok(unix::Kind::File) => {}
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                Err(err) => return Err(io(err)),
            }
            between();
            let tmp_name = super::save::temp_path(Path::new(file_name))
                .into_os_string()
                .into_encoded_bytes();
            let tmp = std::ffi::CString::new(tmp_name)
                .map_err(|e| io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
            // Exclusive and not following a link: something planted at the name makes it fail.
            let mut file = std::fs::File::from(unix::create_new_at(dir, &tmp).map_err(io)?);
            let result = file
                .write_all(bytes)
                .and_then(|()| file.sync_all())
                .and_then(|()| unix::rename_at(dir, &tmp, &name));
            if let Err(err) = result {
                let _ = unix::unlink_at(dir, &tmp);
                return Err(io(err));
            }
            Ok(target)
        }
        #[cfg(not(unix))]
        {
            let _ = (file_name, dirs, symlink);
            let path = confined_path(&self.root, relative)?;
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(io)?;
            }
            // Checked again now the directories exist: a link swapped in before this is refused.
            let path = confined_path(&self.root, relative)?;
            between();
            super::save::write_atomically(&path, bytes).map_err(io)?;
            Ok(path)
        }
    }
}

/// The few `*at` calls the standard library does not have, over `libc` (already a dependency of
/// tokio): each takes a directory descriptor and a single name, never a path.
#[cfg(unix)]
mod unix {
    use std::ffi::{CStr, CString, OsStr};
    use std::io;
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
    use std::os::unix::ffi::OsStrExt;

    pub(super) fn c_name(name: &OsStr) -> io::Result<CString> {
        CString::new(name.as_bytes()).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))
    }

    fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
        if ret < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(ret)
        }
    }

    pub(super) fn mkdir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
        // SAFETY: `dir` is an open descriptor for the call's length and `name` a NUL-terminated
        // string; mkdirat reads nothing else and writes nothing we own.
        check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), 0o777) }).map(drop)
    }

    fn open_at(
        dir: BorrowedFd<'_>,
        name: &CStr,
        flags: libc::c_int,
        mode: libc::c_uint,
    ) -> io::Result<OwnedFd> {
        // SAFETY: as in `mkdir_at`; on success openat returns a new descriptor that nothing
        // else owns, so `OwnedFd` may take it (and close it once).
        let fd = check(unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode) })?;
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// The directory `name` in `dir`, refused (`ELOOP` or `ENOTDIR`) when it is a link.
    pub(super) fn open_dir_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        open_at(dir, name, flags, 0)
    }

    /// A new file `name` in `dir`: fails if anything, a link included, is already there.
    pub(super) fn create_new_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
        let flags =
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        open_at(dir, name, flags, 0o666)
    }

    pub(super) fn rename_at(dir: BorrowedFd<'_>, from: &CStr, to: &CStr) -> io::Result<()> {
        let fd = dir.as_raw_fd();
        // SAFETY: as in `mkdir_at`, with two names in the same directory.
        check(unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) }).map(drop)
    }

    pub(super) fn unlink_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
        // SAFETY: as in `mkdir_at`.
        check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), 0) }).map(drop)
    }

    /// What is at `name` in `dir`, links not followed.
    pub(super) enum Kind {
        File,
        Link,
        Other,
    }

    pub(super) fn kind_at(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Kind> {
        let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: as in `mkdir_at`; fstatat fills `stat` whole when it returns 0, and it is
        // read only then.
        check(unsafe {
            libc::fstatat(
                dir.as_raw_fd(),
                name.as_ptr(),
                stat.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        })?;
        let mode = unsafe { stat.assume_init() }.st_mode & libc::S_IFMT;
        Ok(match mode {
            libc::S_IFREG => Kind::File,
            libc::S_IFLNK => Kind::Link,
            _ => Kind::Other,
        })
    }

    pub(super) fn is_link_at(dir: BorrowedFd<'_>, name: &CStr) -> bool {
        matches!(kind_at(dir, name), Ok(Kind::Link))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// Finding 10 of the security issue: the folder was checked for links, then written by path,
    /// so a directory swapped for a link in between redirected the write. Here the swap happens
    /// exactly in between (the seam), and the file still lands in the directory that was
    /// checked, now renamed, and nothing is written where the link points.
    #[test]
    fn a_directory_swapped_for_a_link_after_the_check_does_not_redirect_the_write() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("team")).unwrap();
        let dir = CassetteDir::open(root.path()).unwrap();
        let written = dir.save_with(Path::new("team/flow.yaml"), b"format: 1\n", &mut || {
            std::fs::rename(root.path().join("team"), root.path().join("moved")).unwrap();
            std::os::unix::fs::symlink(outside.path(), root.path().join("team")).unwrap();
        });
        assert!(written.is_ok(), "{written:?}");
        let leaked: Vec<_> = std::fs::read_dir(outside.path()).unwrap().collect();
        assert!(leaked.is_empty(), "written through the link: {leaked:?}");
        assert_eq!(
            std::fs::read_to_string(root.path().join("moved/flow.yaml")).unwrap(),
            "format: 1\n"
        );
    }

    #[test]
    fn links_below_the_folder_are_refused_and_missing_directories_created() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dir = CassetteDir::open(&root.path().join("cassettes")).unwrap();
        dir.save(Path::new("a/b/flow.yaml"), "x").unwrap();
        assert_eq!(
            std::fs::read_to_string(root.path().join("cassettes/a/b/flow.yaml")).unwrap(),
            "x"
        );
        std::os::unix::fs::symlink(outside.path(), root.path().join("cassettes/link")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("target.yaml"),
            root.path().join("cassettes/a/file.yaml"),
        )
        .unwrap();
        for (relative, link) in [("link/flow.yaml", "link"), ("a/file.yaml", "a/file.yaml")] {
            match dir.save(Path::new(relative), "x") {
                Err(CassetteError::Symlink { link: got, .. }) => {
                    assert_eq!(got, root.path().join("cassettes").join(link), "{relative}")
                }
                other => panic!("{relative}: {other:?}"),
            }
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(matches!(
            dir.save(Path::new("a/b"), "x"),
            Err(CassetteError::NotAFile { .. })
        ));
        assert!(matches!(
            dir.save(Path::new("../flow.yaml"), "x"),
            Err(CassetteError::NotAFile { .. })
        ));
    }
}
