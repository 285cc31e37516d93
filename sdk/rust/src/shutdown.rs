//! The opt-in shutdown hook: release held locks and resign leaderships on SIGTERM/SIGINT.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static INSTALL: Once = Once::new();

/// Installs handlers for SIGTERM and SIGINT that release every lock this process still
/// holds and resign every leadership (in parallel, each bounded by its client's request
/// timeout), then end the process as the signal would have (the default action is
/// restored and the signal raised again). Call it once, early in `main`; calling it again
/// does nothing. Opt-in because it replaces the process's own handlers for these signals;
/// a program with its own shutdown logic should instead release its leases itself
/// (`lease.release().await`, or drop them) when it stops.
///
/// ```no_run
/// #[tokio::main]
/// async fn main() {
///     octostore::release_on_shutdown().expect("signal handlers");
///     // ... locks and elections as usual: Ctrl-C or `kill` releases them.
/// }
/// ```
#[cfg(unix)]
pub fn release_on_shutdown() -> std::io::Result<()> {
    let mut result = Ok(());
    INSTALL.call_once(|| result = install());
    result
}

#[cfg(unix)]
fn install() -> std::io::Result<()> {
    let mut fds = [0i32; 2];
    // SAFETY: pipe(2) with a valid two-element array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let (read_fd, write_fd) = (fds[0], fds[1]);
    WRITE_FD.store(write_fd, Ordering::SeqCst);
    std::thread::Builder::new()
        .name("octostore-shutdown".into())
        .spawn(move || loop {
            let mut sig = 0u8;
            // SAFETY: read(2) of one byte into a local from the pipe this thread owns.
            let n = unsafe { libc::read(read_fd, (&mut sig as *mut u8).cast(), 1) };
            if n == 1 {
                crate::lease::release_all_held();
                // SAFETY: restoring the default action and re-raising a standard signal.
                unsafe {
                    libc::signal(i32::from(sig), libc::SIG_DFL);
                    libc::raise(i32::from(sig));
                }
            } else if n == 0 {
                return;
            }
        })?;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed sigaction with our async-signal-safe handler.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(i32) as libc::sighandler_t;
            sa.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut sa.sa_mask);
            if libc::sigaction(sig, &sa, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
        }
    }
    Ok(())
}

/// The handler: only write(2), which is async-signal-safe.
#[cfg(unix)]
extern "C" fn on_signal(sig: i32) {
    let fd = WRITE_FD.load(Ordering::SeqCst);
    let b = sig as u8;
    // SAFETY: write(2) of one byte from a local to our pipe.
    unsafe {
        libc::write(fd, (&b as *const u8).cast(), 1);
    }
}
