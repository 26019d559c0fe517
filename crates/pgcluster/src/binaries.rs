use std::path::{Path, PathBuf};
use std::process::Command;

/// Finds the directory that contains `initdb`, `postgres` and `pg_ctl`: `SIGSTACK_PG_BIN` when set,
/// else `pg_config --bindir`, else the newest `/usr/lib/postgresql/<version>/bin` (Debian's
/// layout, where the server binaries are not on `PATH`).
pub(crate) fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SIGSTACK_PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let debian = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(debian)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("postgres").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    let output = Command::new("pg_config").arg("--bindir").output().ok()?;
    let dir = PathBuf::from(String::from_utf8(output.stdout).ok()?.trim());
    dir.join("postgres").exists().then_some(dir)
}

/// Looks up the user and group ids of an unprivileged account to run PostgreSQL as, read from
/// `/etc/passwd`: `postgres` if present, else `nobody`.
pub(crate) fn unprivileged_account() -> Option<(u32, u32)> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    let lookup = |name: &str| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() >= 4 && fields[0] == name {
                Some((fields[2].parse().ok()?, fields[3].parse().ok()?))
            } else {
                None
            }
        })
    };
    lookup("postgres").or_else(|| lookup("nobody"))
}
