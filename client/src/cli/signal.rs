//! SIGTERM and SIGINT for `up --daemon`: the first one sets the daemon's stop flag (the loop
//! finishes its step and returns); the handler is installed with `SA_RESETHAND`, so a second
//! signal gets the default action and ends the process at once.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by the handler; the daemon polls it.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_signal: libc::c_int) {
    // An atomic store is async-signal-safe.
    STOP.store(true, Ordering::SeqCst);
}

/// Installs the handler for SIGTERM and SIGINT and returns the flag it sets.
pub fn install_stop_handler() -> io::Result<&'static AtomicBool> {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: `action` is fully initialised (zeroed, then every field we rely on set);
        // the handler only performs an atomic store, which is async-signal-safe.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESETHAND | libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(&STOP)
}
