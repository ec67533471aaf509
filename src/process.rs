//! Process set-up and exit shared by both binaries (`mavuno`, `mavuno-torch`).
//!
//! Logging is quiet by default: the terminal (stderr) gets warnings and errors only
//! (`-q`: errors only; `-v`: also info; `-vv`: debug), while info lines (`Stage finished …`)
//! go to the run's log file (`<run>/run.log`) once a command knows its run directory
//! ([`log_to`]). Lines logged before that are buffered and written at the top of the file.
//! `MAVUNO_LOG` (an `EnvFilter` spec) overrides the terminal's level.

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// How much the terminal shows, from the global `-q` / `-v` flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verbosity {
    /// `-q`: errors only; no progress bars, no summaries.
    Quiet,
    /// Warnings and errors, progress bars on a terminal, summaries.
    Normal,
    /// `-v`: info log lines too (`-vv`: debug).
    Verbose(u8),
}

impl Verbosity {
    /// From the flags' values.
    pub fn from_flags(quiet: bool, verbose: u8) -> Verbosity {
        match (quiet, verbose) {
            (true, _) => Verbosity::Quiet,
            (false, 0) => Verbosity::Normal,
            (false, n) => Verbosity::Verbose(n),
        }
    }

    fn terminal_level(self) -> &'static str {
        match self {
            Verbosity::Quiet => "error",
            Verbosity::Normal => "warn",
            Verbosity::Verbose(1) => "info",
            Verbosity::Verbose(_) => "debug",
        }
    }
}

static VERBOSITY: OnceLock<Verbosity> = OnceLock::new();

/// Whether `-q` was given: commands then print no progress and no summary.
pub fn quiet() -> bool {
    VERBOSITY.get() == Some(&Verbosity::Quiet)
}

/// Whether to draw progress bars: stderr is a terminal and `-q` was not given.
pub fn progress() -> bool {
    !quiet() && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// Where info lines go: a buffer until the run directory is known, then the run's log.
enum LogSink {
    Buffer(Vec<u8>),
    File(File),
}

/// Lines buffered before [`log_to`] are capped so a command that never names a run
/// directory cannot grow it without bound.
const BUFFER_CAP: usize = 1 << 20;

static SINK: Mutex<LogSink> = Mutex::new(LogSink::Buffer(Vec::new()));

/// The file layer's writer: a handle on [`SINK`].
struct RunLog;

impl Write for RunLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut g = SINK.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *g {
            LogSink::Buffer(v) => {
                if v.len() + buf.len() <= BUFFER_CAP {
                    v.extend_from_slice(buf);
                }
                Ok(buf.len())
            }
            LogSink::File(f) => f.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut *SINK.lock().unwrap_or_else(|p| p.into_inner()) {
            LogSink::Buffer(_) => Ok(()),
            LogSink::File(f) => f.flush(),
        }
    }
}

/// Sends the log file layer's lines to `path` from now on (appending: a resumed run keeps
/// the earlier runs' lines), after the lines buffered so far. A file that cannot be
/// opened leaves logging to the terminal only, with a warning.
pub fn log_to(path: &Path) {
    let opened = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| File::options().create(true).append(true).open(path));
    match opened {
        Ok(mut f) => {
            let mut g = SINK.lock().unwrap_or_else(|p| p.into_inner());
            if let LogSink::Buffer(v) = &*g {
                let _ = f.write_all(v);
            }
            *g = LogSink::File(f);
        }
        Err(e) => tracing::warn!(path = %path.display(), error = %e, "Could not open the run log."),
    }
}

/// Installs the terminal and run-log layers (see the module docs).
pub fn init_logging(v: Verbosity) {
    let _ = VERBOSITY.set(v);
    let terminal = EnvFilter::try_from_env("MAVUNO_LOG")
        .unwrap_or_else(|_| EnvFilter::new(v.terminal_level()));
    let file_level = if matches!(v, Verbosity::Verbose(n) if n > 1) {
        "debug"
    } else {
        "info"
    };
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .with_filter(terminal);
    let file = tracing_subscriber::fmt::layer()
        .with_writer(|| RunLog)
        .with_ansi(false)
        .with_target(false)
        .with_filter(EnvFilter::new(file_level));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
}

/// Commands that return nothing special exit 0 on success.
pub fn ok(r: anyhow::Result<()>) -> anyhow::Result<i32> {
    r.map(|()| 0)
}

/// Piping into `head` must end the command quietly, as for any Unix tool: Rust ignores
/// SIGPIPE by default, which turns every later `println!` into a panic.
pub fn restore_sigpipe() {
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Exits with the command's code, or 1 after printing its error chain.
pub fn exit(result: anyhow::Result<i32>) -> ! {
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
