//! One run per run directory at a time.
//!
//! [`RunLock::acquire`] creates `<run dir>/.lock` holding this process's id, with
//! create-new semantics, so of two runs that start together exactly one gets it. The other
//! fails at once with "run directory is in use (pid N)" instead of failing mid-run when
//! the first renames files under it. A lock left by a process that no longer exists (a
//! killed run) is taken over. The lock file is removed when the run ends.

use crate::error::RunError;
use std::path::{Path, PathBuf};

/// The held lock; released on drop.
pub(crate) struct RunLock {
    path: PathBuf,
}

fn alive(pid: u32) -> bool {
    // kill(pid, 0) sends nothing; it fails with ESRCH only when no such process exists.
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 performs only the existence and permission check.
    let r = unsafe { libc::kill(pid, 0) };
    let exists = r == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    exists && !zombie(pid)
}

/// Whether `pid` has exited but is not reaped yet (Linux `/proc/<pid>/stat` state `Z` or
/// `X`). A killed run whose parent died is reparented to pid 1, which may reap it late; until
/// then `kill(pid, 0)` succeeds, and its lock must still count as stale.
fn zombie(pid: libc::pid_t) -> bool {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command name, which is in parentheses and may contain spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|st| st == "Z" || st == "X")
}

impl RunLock {
    /// Takes the lock of run directory `dir` (which must exist).
    pub(crate) fn acquire(dir: &Path) -> Result<RunLock, RunError> {
        let path = dir.join(".lock");
        let io = |e| RunError::Io {
            path: path.clone(),
            source: e,
        };
        // The pid is written to a private file first and linked into place: the lock
        // appears whole or not at all, so a process killed while taking it leaves no empty
        // lock behind (an empty one was read as "being written" and blocked the directory
        // for good).
        let tmp = dir.join(format!(".lock.{}", std::process::id()));
        std::fs::write(&tmp, std::process::id().to_string()).map_err(io)?;
        // Two attempts: the second after removing a stale lock.
        for _ in 0..2 {
            let linked = std::fs::hard_link(&tmp, &path);
            match linked {
                Ok(()) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Ok(RunLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = std::fs::read_to_string(&path).unwrap_or_default();
                    match text.trim().parse::<u32>() {
                        Ok(pid) if alive(pid) => {
                            let _ = std::fs::remove_file(&tmp);
                            return Err(RunError::InUse {
                                dir: dir.to_path_buf(),
                                pid,
                            });
                        }
                        // Locks appear whole (linked), so one without a pid is stale.
                        _ => {
                            tracing::warn!(lock = %path.display(), "Removing the lock of a run that no longer exists.");
                            let _ = std::fs::remove_file(&path);
                        }
                    }
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(io(e));
                }
            }
        }
        let _ = std::fs::remove_file(&tmp);
        Err(RunError::InUse {
            dir: dir.to_path_buf(),
            pid: 0,
        })
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exited_unreaped_process_is_not_alive() {
        let mut child = std::process::Command::new("true")
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let pid = child.id();
        // Not reaped: a zombie until `wait`.
        let t0 = std::time::Instant::now();
        while alive(pid) && t0.elapsed() < std::time::Duration::from_secs(5) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(!alive(pid), "a zombie holds no lock");
        assert!(alive(std::process::id()));
        let _ = child.wait();
    }

    #[test]
    fn a_second_lock_on_the_same_directory_fails_with_the_pid() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = RunLock::acquire(d.path()).unwrap_or_else(|e| panic!("{e}"));
        let err = RunLock::acquire(d.path()).err().map(|e| e.to_string());
        assert_eq!(
            err,
            Some(format!(
                "{}: run directory is in use (pid {})",
                d.path().display(),
                std::process::id()
            ))
        );
        drop(first);
        assert!(RunLock::acquire(d.path()).is_ok(), "released on drop");
    }

    #[test]
    fn a_stale_lock_is_taken_over() {
        let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        // No process has pid u32::MAX - 1 (above the kernel's pid_max).
        std::fs::write(d.path().join(".lock"), format!("{}", u32::MAX - 1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(RunLock::acquire(d.path()).is_ok());
    }

    #[test]
    fn an_empty_lock_is_stale_and_taking_a_lock_leaves_no_private_file() {
        let d = tempfile::tempdir().unwrap();
        // What a process killed between creating and writing the lock used to leave.
        std::fs::write(d.path().join(".lock"), "").unwrap();
        let l = RunLock::acquire(d.path()).expect("an empty lock is taken over");
        let pid = std::fs::read_to_string(d.path().join(".lock")).unwrap();
        assert_eq!(pid, std::process::id().to_string());
        let names: Vec<String> = std::fs::read_dir(d.path())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [".lock"]);
        // Refused while held; still no private file left.
        assert!(RunLock::acquire(d.path()).is_err());
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
        drop(l);
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 0);
    }
}
