//! Writing cassettes atomically, walking cassette directories, and removing the temporary files
//! a killed recorder left behind.
//!
//! Symbolic links: a cassette folder may be shared, or filled by a checkout, so a link in it must
//! not make ivs-vcr read or write elsewhere. [`confined_path`] refuses a cassette path with a
//! link anywhere below the folder (record checks it before reading); record writes through
//! `CassetteDir` (`confined.rs`), relative to the folder opened once, so a link swapped in after
//! a check cannot redirect a write; the temporary file of a save is created exclusively
//! (`create_new`, which never follows a link at that name) under a name with 64 random bits; and
//! walks never enter a linked directory, so two links pointing at each other cannot hang a start.

use std::path::{Path, PathBuf};

use super::{Cassette, CassetteError, Limits};

impl Cassette {
    /// The cassette as YAML text, deterministic for the same content.
    ///
    /// A cassette holding an interaction of another service than IVS is written as format 2
    /// (see [`super::FORMAT_VERSION`]) even when its `format` says less, so that an older
    /// ivs-vcr refuses it with an upgrade message rather than misreads it.
    pub fn to_yaml(&self) -> String {
        let needed = self.needed_format();
        if self.format < needed {
            let mut upgraded = self.clone();
            upgraded.format = needed;
            return upgraded.to_yaml();
        }
        // Invariant: every type here serializes to YAML (string keys, no non-finite floats from JSON).
        quote_dates(&serde_yaml::to_string(self).expect("cassette serializes"))
    }

    /// Writes the cassette atomically: a temporary file in the same directory, then a rename.
    /// The path is taken as given, links included; record writes through `CassetteDir`
    /// instead, which refuses them.
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
        write_atomically(path, self.to_yaml().as_bytes()).map_err(io)
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory, then a rename.
pub(super) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_through_temp(path, bytes, false)
}

/// [`write_atomically`] for a file only its owner may read (mode 0600 on Unix, from the
/// temporary file's creation on), which then also syncs the directory, so that the rename itself
/// survives a crash: the emulator's state file (`emulator::state_file`), which holds a private key.
pub(crate) fn write_atomically_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_through_temp(path, bytes, true)?;
    #[cfg(unix)]
    {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
        std::fs::File::open(dir.unwrap_or(Path::new(".")))?.sync_all()?;
    }
    Ok(())
}

fn write_through_temp(path: &Path, bytes: &[u8], private: bool) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        use std::io::Write;
        // Exclusive: a file or link planted at the name makes the save fail, never follow.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        if private {
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        }
        #[cfg(not(unix))]
        let _ = private;
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The temporary file [`Cassette::save`] writes before renaming it over `path`:
/// `.<file>.<pid>.<16 random hex>.tmp`, so that nobody can plant something at its name in advance.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    use std::hash::{BuildHasher, Hasher};
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // `RandomState` is seeded from the OS's random source; hashing a counter and the time with
    // it gives 64 bits nobody outside the process can predict, without a dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(now.as_nanos());
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!(
        ".{file_name}.{}.{:016x}.tmp",
        std::process::id(),
        hasher.finish()
    ))
}

/// The file `relative` under `root`, refused when any part of it below `root` is a symbolic link,
/// or when it exists and is not a regular file. `relative` must be made of plain names (no `..`,
/// no root). Parts that do not exist yet are fine: a save creates them as real directories.
pub fn confined_path(root: &Path, relative: &Path) -> Result<PathBuf, CassetteError> {
    let mut path = root.to_path_buf();
    let target = root.join(relative);
    let mut components = relative.components().peekable();
    while let Some(component) = components.next() {
        let std::path::Component::Normal(part) = component else {
            return Err(CassetteError::NotAFile { path: target });
        };
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(CassetteError::Symlink {
                    path: target,
                    link: path,
                    root: root.to_owned(),
                })
            }
            Ok(meta) if components.peek().is_none() && !meta.is_file() => {
                return Err(CassetteError::NotAFile { path: target })
            }
            Ok(_) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => break,
            Err(source) => {
                return Err(CassetteError::Io {
                    path: target,
                    source,
                })
            }
        }
    }
    Ok(target)
}

/// The process id in the name of a [`Cassette::save`] temporary file
/// (`.<file>.yaml.<pid>.<random>.tmp`, or `.<file>.yaml.<pid>.tmp` from older versions), or
/// `None` for any other name.
fn temp_file_pid(name: &str) -> Option<u32> {
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (head, last) = inner.rsplit_once('.')?;
    let is_random = last.len() == 16 && last.bytes().all(|b| b.is_ascii_hexdigit());
    let inner = if is_random { head } else { inner };
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
            let entry = entry?;
            let path = entry.path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            // `file_type` does not follow links: a linked directory is never entered.
            if entry.file_type()?.is_dir() {
                if !name.starts_with('.') {
                    walk(&path, removed)?;
                }
                continue;
            }
            let Some(pid) = temp_file_pid(&name) else {
                continue;
            };
            if entry.file_type()?.is_symlink() {
                continue;
            }
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
    load_dir_with_progress(dir, &mut |_, _| {})
}

/// [`load_dir`], calling `progress` with each file and the number of its interactions read so
/// far, from time to time while a large file loads.
pub fn load_dir_with_progress(
    dir: &Path,
    progress: &mut dyn FnMut(&Path, usize),
) -> Result<(Vec<Cassette>, Vec<CassetteError>), CassetteError> {
    load_dir_limited(dir, Limits::DEFAULT, progress)
}

/// [`load_dir_with_progress`], holding each file to `limits` instead of the default ones.
pub(crate) fn load_dir_limited(
    dir: &Path,
    limits: Limits,
    progress: &mut dyn FnMut(&Path, usize),
) -> Result<(Vec<Cassette>, Vec<CassetteError>), CassetteError> {
    let files = yaml_files(dir)?;
    let mut cassettes = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match Cassette::load_limited(&file, limits, &mut |n| progress(&file, n)) {
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
        let entry = entry?;
        let path = entry.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        // `file_type` does not follow links: a linked directory is skipped, so links cannot
        // make a loop. A linked file is kept; `Cassette::load` reads only regular files.
        if entry.file_type()?.is_dir() {
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
    fn temp_names_are_unpredictable_and_recognized() {
        let path = Path::new("dir/recording.yaml");
        let (a, b) = (temp_path(path), temp_path(path));
        assert_ne!(a, b);
        for tmp in [a, b] {
            let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
            assert_eq!(temp_file_pid(&name), Some(std::process::id()), "{name}");
        }
    }

    #[test]
    fn temp_file_names_are_recognized() {
        let check = |name: &str, expected: Option<u32>| {
            assert_eq!(temp_file_pid(name), expected, "{name}");
        };
        check(".recording.yaml.4242.tmp", Some(4242));
        check(".recording.yaml.4242.0123456789abcdef.tmp", Some(4242));
        check(".recording.yaml.0123456789abcdef.tmp", None);
        check(".a.b.yml.7.tmp", Some(7));
        check(".recording.yaml.tmp", None);
        check(".recording.yaml.x1.tmp", None);
        check("recording.yaml.4242.tmp", None);
        check(".notes.txt.4242.tmp", None);
        check(".recording.yaml", None);
    }
}

/// Quotes every plain scalar that looks like a date or a time (`api_version: 2020-07-14`,
/// `recorded_on`, `startTime: 2020-05-05T21:55:38Z`). They are strings in the YAML 1.2 we read,
/// but YAML 1.1 readers (PyYAML, many CI tools) would turn them into dates.
fn quote_dates(yaml: &str) -> String {
    let mut out = String::with_capacity(yaml.len() + 64);
    // Inside a block scalar (`|`, `>`), lines are text, never to be touched.
    let mut block_indent: Option<usize> = None;
    for line in yaml.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let indent = body.len() - body.trim_start().len();
        if let Some(block) = block_indent {
            if body.trim().is_empty() || indent > block {
                out.push_str(line);
                continue;
            }
            block_indent = None;
        }
        let trimmed = body.trim_end();
        if ["|", "|-", "|+", ">", ">-", ">+"].iter().any(|marker| {
            trimmed.ends_with(&format!(": {marker}")) || trimmed.ends_with(&format!("- {marker}"))
        }) {
            block_indent = Some(indent);
            out.push_str(line);
            continue;
        }
        let value_at = body.find(": ").map(|i| i + 2).or_else(|| {
            body.trim_start()
                .starts_with("- ")
                .then(|| body.find("- ").unwrap_or(0) + 2)
        });
        match value_at {
            Some(at) if looks_like_date(&body[at..]) => {
                out.push_str(&body[..at]);
                // A JSON string is a valid YAML double-quoted scalar: quotes and backslashes in
                // the text are escaped, so it reads back as exactly what was written.
                out.push_str(&serde_json::Value::from(&body[at..]).to_string());
                out.push_str(newline);
            }
            _ => out.push_str(line),
        }
    }
    out
}

/// `YYYY-MM-DD`, optionally followed by `T` or a space and a time: what YAML 1.1 calls a timestamp.
fn looks_like_date(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        b.get(range)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b.len() == 10 || matches!(b[10], b'T' | b't' | b' '))
        && !value.contains(": ")
        // `: 2020-01-01:` opens a mapping whose key is the date (after a complex `? ` key).
        && !value.ends_with(':')
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn quoted_dates_read_back_as_written() {
        use crate::cassette::{
            Cassette, Interaction, Provenance, ProvenanceKind, RecordedRequest, RecordedResponse,
        };
        // Found in review: the quoting once left quotes and backslashes unescaped.
        for text in [
            r"2020-01-01 C:\new",
            r#"2020-01-01 say "hi""#,
            "2020-01-01T00:00:00Z",
            "2020-01-01",
        ] {
            let mut cassette = Cassette::new(
                "dates",
                Provenance {
                    kind: ProvenanceKind::Recorded,
                    source: "test".into(),
                    model: None,
                    recorded_on: Some("2026-11-26".into()),
                },
            );
            cassette.interactions.push(Interaction {
                request: RecordedRequest {
                    service: Default::default(),
                    method: "POST".into(),
                    path: "/CreateChannel".into(),
                    query: Default::default(),
                    region: "us-west-2".into(),
                    headers: Default::default(),
                    body: Some(serde_json::json!({"tags": {"when": text}})),
                },
                response: RecordedResponse {
                    status: 200,
                    headers: Default::default(),
                    body: Some(serde_json::json!({"note": text})),
                    body_text: None,
                },
            });
            let yaml = cassette.to_yaml();
            let back = Cassette::from_yaml(&yaml, "dates.yaml".as_ref())
                .unwrap_or_else(|e| panic!("{e}\n{yaml}"));
            assert_eq!(
                back.interactions[0].request.body, cassette.interactions[0].request.body,
                "{yaml}"
            );
            assert_eq!(
                back.interactions[0].response.body, cassette.interactions[0].response.body,
                "{yaml}"
            );
            assert_eq!(back.provenance.recorded_on.as_deref(), Some("2026-11-26"));
        }
    }

    #[test]
    fn dates_and_times_are_quoted_for_yaml_1_1_readers() {
        let yaml = "format: 1\napi_version: 2020-07-14\nprovenance:\n  recorded_on: 2026-11-26\n  source: x\nlist:\n- 2020-05-05T21:55:38Z\n- plain\nname: 2020-07-14-flow\ntext: |-\n  when: 2020-01-01\n  - 2020-01-01\nafter: 2020-01-02\n";
        assert_eq!(
            super::quote_dates(yaml),
            "format: 1\napi_version: \"2020-07-14\"\nprovenance:\n  recorded_on: \"2026-11-26\"\n  source: x\nlist:\n- \"2020-05-05T21:55:38Z\"\n- plain\nname: 2020-07-14-flow\ntext: |-\n  when: 2020-01-01\n  - 2020-01-01\nafter: \"2020-01-02\"\n"
        );
    }
}
