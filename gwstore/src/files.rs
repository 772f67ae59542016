//! Files that may hold secrets: created readable by their owner alone, and written whole or
//! not at all, so a backup interrupted half-way never replaces the last good one.

use std::io::Write;
use std::path::Path;

/// Writes `text` to `path` with mode 0600, through a file beside it that is renamed into
/// place once complete: whatever `path` was before (a file of mode 0644, say), what is
/// there afterwards is readable by its owner alone.
pub fn write_private(path: &Path, text: &str) -> Result<(), String> {
    let cannot = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let name = path
        .file_name()
        .ok_or_else(|| format!("cannot write {}: it names no file", path.display()))?;
    let mut partial_name = std::ffi::OsString::from(".");
    partial_name.push(name);
    partial_name.push(format!(".{}.partial", std::process::id()));
    let partial = path.with_file_name(partial_name);
    let written = create_private(&partial)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&partial, path));
    if let Err(error) = written {
        let _ = std::fs::remove_file(&partial);
        return Err(cannot(error));
    }
    Ok(())
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_file_that_was_world_readable_is_replaced_by_one_only_its_owner_reads() {
        let path = std::env::temp_dir().join(format!("gwstore-private-{}", std::process::id()));
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, "secret").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "secret");
        std::fs::remove_file(&path).unwrap();
    }
}

/// A file format of this tool: what its first line names, and the command that reads it.
pub struct Format {
    pub name: &'static str,
    pub version: u64,
    pub reader: &'static str,
}

/// `gwstore export`'s typed configuration.
pub const EXPORT: Format = Format {
    name: "gwstore-export",
    version: 1,
    reader: "gwstore import",
};

/// `gwstore backup`'s records as stored.
pub const BACKUP: Format = Format {
    name: "gwstore-backup",
    version: 1,
    reader: "gwstore restore",
};

/// What [`read_records`] read: the format the header named, the header, and the records.
pub struct Read<'a, T> {
    pub format: &'a Format,
    pub header: serde_json::Value,
    pub records: Vec<T>,
}

/// Every line of `input` (`-`: standard input) after a header naming one of `formats`,
/// parsed with `parse` (given the format). All of it is read and checked before any of it
/// is used: one bad line, and the error lists every bad line by number.
pub fn read_records<'a, T>(
    input: &Path,
    formats: &[&'a Format],
    mut parse: impl FnMut(&Format, &str) -> Result<T, String>,
) -> Result<Read<'a, T>, String> {
    use std::io::BufRead;
    let reader: Box<dyn std::io::Read> = if input.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(
            std::fs::File::open(input)
                .map_err(|e| format!("cannot read {}: {e}", input.display()))?,
        )
    };
    let mut lines = std::io::BufReader::new(reader).lines();
    let header = lines
        .next()
        .ok_or_else(|| format!("{} is empty: expected a gwstore file", input.display()))?
        .map_err(|e| e.to_string())?;
    let header: serde_json::Value = serde_json::from_str(&header)
        .map_err(|_| format!("{}: line 1 is not a gwstore header", input.display()))?;
    let named = header["format"].as_str().unwrap_or_default();
    let Some(format) = formats.iter().copied().find(|f| f.name == named) else {
        return Err(
            match [&EXPORT, &BACKUP].into_iter().find(|f| f.name == named) {
                Some(other) => format!(
                    "{} is a {} file: read it with `{}`",
                    input.display(),
                    other.name,
                    other.reader
                ),
                None => format!("{}: line 1 names no gwstore format", input.display()),
            },
        );
    };
    match header["version"].as_u64() {
        Some(version) if version == format.version => {}
        Some(other) => {
            return Err(format!(
                "{} format version {other}; this gwstore reads version {}",
                format.name, format.version
            ))
        }
        None => return Err("line 1 has no format version".to_owned()),
    }
    let mut records = Vec::new();
    let mut errors = Vec::new();
    for (number, line) in lines.enumerate() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            continue;
        }
        match parse(format, &line) {
            Ok(record) => records.push(record),
            Err(error) => errors.push(format!("line {}: {error}", number + 2)),
        }
    }
    if !errors.is_empty() {
        return Err(format!(
            "{} has {}:\n  {}",
            input.display(),
            crate::terminal::plural(errors.len(), "invalid line", "invalid lines"),
            errors.join("\n  ")
        ));
    }
    Ok(Read {
        format,
        header,
        records,
    })
}
