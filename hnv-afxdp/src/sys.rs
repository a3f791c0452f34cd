//! The few system calls this crate makes directly.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// Most descriptors [`wait_readable`] watches at once (ports beyond are not waited on but
/// are still polled by the worker on every round).
pub const MAX_POLL_FDS: usize = 64;

/// Blocks until one of `fds` is readable or `timeout` passes; returns how many are
/// readable (0 on timeout or when interrupted by a signal).
pub fn wait_readable(fds: &[RawFd], timeout: Duration) -> io::Result<usize> {
    let mut set = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; MAX_POLL_FDS];
    let n = fds.len().min(MAX_POLL_FDS);
    for (p, &fd) in set.iter_mut().zip(fds) {
        p.fd = fd;
        p.events = libc::POLLIN;
    }
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    let ret = poll(&mut set[..n], ms);
    if ret < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            return Ok(0);
        }
        return Err(e);
    }
    Ok(usize::try_from(ret).unwrap_or(0))
}

#[allow(unsafe_code)]
fn poll(set: &mut [libc::pollfd], ms: libc::c_int) -> libc::c_int {
    // SAFETY: `set` is a live, exclusively borrowed array of `pollfd` of exactly the
    // length passed; poll(2) only writes the `revents` fields within it.
    unsafe { libc::poll(set.as_mut_ptr(), set.len() as libc::nfds_t, ms) }
}

/// The index of the network interface `name` in this network namespace.
pub fn if_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    let idx = if_nametoindex(&c);
    (idx != 0).then_some(idx)
}

#[allow(unsafe_code)]
fn if_nametoindex(name: &std::ffi::CStr) -> u32 {
    // SAFETY: `name` is a valid NUL-terminated string that outlives the call, which only
    // reads it.
    unsafe { libc::if_nametoindex(name.as_ptr()) }
}
