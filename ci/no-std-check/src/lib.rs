//! Links hnv-core and hnv-offload into a `#![no_std]` static library with its own panic
//! handler. If either crate (or a dependency) pulled in `std`, the build would fail with a
//! duplicate `panic_impl` lang item or a missing `std` crate for the target.
#![no_std]

use hnv_core::buf::{FrameBuf, PacketBuf};
use hnv_core::ids::{MacAddr, Vsid};
use hnv_core::nvgre::{self, EncapParams, Underlay};

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

/// Encapsulates and decapsulates a frame in a caller-provided buffer: exercises the data
/// path so it is really linked. Returns the decapsulated VSID, or 0 on error.
#[no_mangle]
pub extern "C" fn hnv_no_std_roundtrip(
    mem: *mut u8,
    cap: usize,
    headroom: usize,
    len: usize,
) -> u32 {
    if mem.is_null() {
        return 0;
    }
    // SAFETY: the C caller passes a valid, exclusive buffer of `cap` bytes.
    #[allow(unsafe_code)]
    let mem = unsafe { core::slice::from_raw_parts_mut(mem, cap) };
    let Ok(mut f) = FrameBuf::new(mem, headroom, len) else {
        return 0;
    };
    let Ok(vsid) = Vsid::new(5001) else { return 0 };
    let p = EncapParams::new(
        vsid,
        MacAddr([2, 0, 0, 0, 0, 1]),
        MacAddr([2, 0, 0, 0, 0, 2]),
        Underlay::V4 {
            src: [192, 168, 4, 11].into(),
            dst: [192, 168, 4, 22].into(),
        },
    );
    if nvgre::encap(&mut f, &p).is_err() {
        return 0;
    }
    let _ = hnv_offload::NAME;
    match nvgre::decap(&mut f) {
        Ok(n) if f.len() == len => n.vsid.get(),
        _ => 0,
    }
}
