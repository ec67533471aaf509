//! Process set-up and exit shared by both binaries (`mavuno`, `mavuno-torch`).

/// Logs go to stderr; `MAVUNO_LOG` overrides the level (`warn` under `--quiet`).
pub fn init_logging(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MAVUNO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
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
