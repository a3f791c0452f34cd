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

/// Advice for memory just allocated and not yet written: back `[addr, addr + len)`
/// (rounded inwards to whole pages) with transparent huge pages, `madvise(MADV_HUGEPAGE)`.
/// The hook `hnv run` gives `Tables::compile_advised`: with large policies the record
/// arrays are tens of megabytes, and lookups that miss the TLB wait for page walks too
/// (the switch bench's batched encapsulation at 1M records: 64–66 ns per packet advised,
/// 73–80 without). Advice only: a kernel that refuses it (THP disabled) changes nothing.
pub fn advise_huge_pages(addr: usize, len: usize) {
    let page = 4096;
    let start = addr.next_multiple_of(page);
    let end = (addr + len) / page * page;
    if end > start {
        madvise_huge(start, end - start);
    }
}

#[allow(unsafe_code)]
fn madvise_huge(start: usize, len: usize) {
    // SAFETY: the caller passes memory it has just allocated and not yet referenced, and
    // the range is whole pages inside it; MADV_HUGEPAGE changes how the kernel backs
    // those pages, never their contents. The result is ignored: it is advice.
    let _ = unsafe { libc::madvise(start as *mut libc::c_void, len, libc::MADV_HUGEPAGE) };
}

#[cfg(test)]
mod tests {
    use super::advise_huge_pages;

    /// The `VmFlags` line of the mapping of `/proc/self/smaps` that holds `addr`.
    fn vm_flags_at(addr: usize) -> String {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let mut inside = false;
        for line in smaps.lines() {
            if let Some((range, _)) = line.split_once(' ') {
                if let Some((lo, hi)) = range.split_once('-') {
                    if let (Ok(lo), Ok(hi)) =
                        (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                    {
                        inside = (lo..hi).contains(&addr);
                        continue;
                    }
                }
            }
            if inside {
                if let Some(flags) = line.strip_prefix("VmFlags:") {
                    return flags.to_owned();
                }
            }
        }
        panic!("no mapping holds {addr:#x}");
    }

    #[test]
    fn advised_memory_is_marked_for_huge_pages_and_keeps_its_contents() {
        // 8 MiB: the allocator maps it on its own, so the advice covers its own mapping.
        let mut v = vec![0u8; 8 << 20];
        let addr = v.as_ptr() as usize;
        assert!(!vm_flags_at(addr + (4 << 20)).contains(" hg"));
        advise_huge_pages(addr, v.len());
        assert!(
            vm_flags_at(addr + (4 << 20)).contains(" hg"),
            "MADV_HUGEPAGE shows as `hg` in VmFlags"
        );
        v[1234] = 7;
        assert_eq!(v.iter().map(|&b| u64::from(b)).sum::<u64>(), 7);
        // Ranges smaller than a page, or empty, are left alone.
        advise_huge_pages(addr + 1, 100);
        advise_huge_pages(addr, 0);
    }
}
