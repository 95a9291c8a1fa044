//! Writing cassettes atomically, walking cassette directories, and removing the temporary files
//! a killed recorder left behind.

use std::path::{Path, PathBuf};

use super::{Cassette, CassetteError};

impl Cassette {
    /// The cassette as YAML text, deterministic for the same content.
    pub fn to_yaml(&self) -> String {
        // Invariant: every type here serializes to YAML (string keys, no non-finite floats from JSON).
        serde_yaml::to_string(self).expect("cassette serializes")
    }

    /// Writes the cassette atomically: a temporary file in the same directory, then a rename.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), CassetteError> {
        let path = path.as_ref();
        let io = |source| CassetteError::Io {
            path: path.to_owned(),
            source,
        };
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(dir) = dir {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = temp_path(path);
        let result = (|| {
            use std::io::Write;
            let mut file = std::fs::File::create(&tmp)?;
            file.write_all(self.to_yaml().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result.map_err(io)
    }
}

/// The temporary file [`Cassette::save`] writes before renaming it over `path`.
fn temp_path(path: &Path) -> PathBuf {
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(".{file_name}.{}.tmp", std::process::id()))
}

/// The process id in the name of a [`Cassette::save`] temporary file (`.<file>.yaml.<pid>.tmp`),
/// or `None` for any other name.
fn temp_file_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, pid) = inner.rsplit_once('.')?;
    let is_cassette = target.ends_with(".yaml") || target.ends_with(".yml");
    let is_number = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    if is_cassette && is_number {
        pid.parse().ok()
    } else {
        None
    }
}

/// Removes the temporary files that [`Cassette::save`] left under `dir` (recursively) because its
/// process was killed between writing and renaming, and returns their paths. A missing `dir` has
/// none.
///
/// Files of this process, and on Linux of any process still running, are kept: they may be a
/// write in progress of another recorder sharing the directory.
pub fn remove_stale_temp_files(dir: &Path) -> Result<Vec<PathBuf>, CassetteError> {
    fn walk(dir: &Path, removed: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(err),
        };
        let proc = Path::new("/proc/self").exists();
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if path.is_dir() {
                if !name.starts_with('.') {
                    walk(&path, removed)?;
                }
                continue;
            }
            let Some(pid) = temp_file_pid(&name) else {
                continue;
            };
            let running = pid == std::process::id()
                || (proc && Path::new("/proc").join(pid.to_string()).exists());
            if !running {
                std::fs::remove_file(&path)?;
                removed.push(path);
            }
        }
        Ok(())
    }
    let mut removed = Vec::new();
    walk(dir, &mut removed).map_err(|source| CassetteError::Io {
        path: dir.to_owned(),
        source,
    })?;
    Ok(removed)
}

/// Loads every cassette under `dir` (recursively, `*.yaml` and `*.yml`), sorted by path.
///
/// A file that fails to load is returned in the error list and the rest still load, so one bad
/// file does not hide the others; the caller decides whether any error is fatal.
pub fn load_dir(dir: &Path) -> Result<(Vec<Cassette>, Vec<CassetteError>), CassetteError> {
    let files = yaml_files(dir)?;
    let mut cassettes = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match Cassette::load(&file) {
            Ok(cassette) => cassettes.push(cassette),
            Err(err) => errors.push(err),
        }
    }
    Ok((cassettes, errors))
}

/// The cassette files under `dir`, recursively: `*.yaml` and `*.yml`, skipping hidden files and
/// directories (temporary files of interrupted writes among them), sorted by path.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, CassetteError> {
    let mut files = Vec::new();
    collect_yaml_files(dir, &mut files).map_err(|source| CassetteError::Io {
        path: dir.to_owned(),
        source,
    })?;
    files.sort();
    Ok(files)
}

fn collect_yaml_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_yaml_files(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_file_names_are_recognized() {
        let check = |name: &str, expected: Option<u32>| {
            assert_eq!(temp_file_pid(name), expected, "{name}");
        };
        check(".recording.yaml.4242.tmp", Some(4242));
        check(".a.b.yml.7.tmp", Some(7));
        check(".recording.yaml.tmp", None);
        check(".recording.yaml.x1.tmp", None);
        check("recording.yaml.4242.tmp", None);
        check(".notes.txt.4242.tmp", None);
        check(".recording.yaml", None);
    }
}
