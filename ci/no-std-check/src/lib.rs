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
    // Describe a checksum offload of the encapsulated frame and run it on the software NIC.
    let req = hnv_offload::TxRequest::checksums(hnv_offload::Checksums::OUTER_IPV4);
    if let Ok(d) = hnv_offload::TxOffload::new(f.data(), &req) {
        // The outer checksum is recomputed over the same bytes: the frame is unchanged.
        let _ = hnv_offload::soft::csum::fill_checksums(
            f.data_mut(),
            &d,
            hnv_offload::soft::csum::ChecksumMode::Hardware,
        );
    }
    match nvgre::decap(&mut f) {
        Ok(n) if f.len() == len => n.vsid().get(),
        _ => 0,
    }
}

/// Fills fixed-capacity policy tables without allocation and looks a record up through the
/// data-plane traits, so `FixedTables` is linked. Returns the found record's VSID, or 0.
#[no_mangle]
pub extern "C" fn hnv_no_std_fixed_tables(last_octet: u8) -> u32 {
    use hnv_core::policy::{LookupEntry, LookupTable, RecordType, RouteTable, Rule};
    use hnv_core::table::fixed::FixedTables;

    let mut t: FixedTables<16, 4, 1, 4, 4> = FixedTables::new();
    let (Ok(vsid), Ok(rdid), Ok(prefix)) = (
        Vsid::new(5001),
        "{11111111-2222-3333-4444-000000000000}".parse(),
        "10.0.0.0/24".parse(),
    ) else {
        return 0;
    };
    let rec = LookupEntry {
        ca: [10, 0, 0, last_octet].into(),
        vsid,
        mac: MacAddr([0, 0x15, 0x5d, 0, 0, last_octet]),
        pa: [192, 168, 4, 22].into(),
        rule: Rule::Encap,
        record_type: RecordType::Static,
        use_vm_mac: false,
    };
    if t.add_customer_route(rdid, vsid, prefix, None, 0).is_err() || t.add_record(rec) != Ok(true)
    {
        return 0;
    }
    match (t.customer_route(0, rec.ca), t.by_ca(vsid, rec.ca)) {
        (Some(_), Some(found)) => found.vsid.get(),
        _ => 0,
    }
}

/// Tables for a tiny host: 8 record slots, 4 subnets, 2 routing domains, 4 routes, 4 PAs.
type Tiny = hnv_core::table::fixed::FixedTables<8, 4, 2, 4, 4>;

/// Fills fixed tables by hand (no allocator, no policy file) for HostA of the seed: one
/// port (Contoso1, VSID 5001) and the remote Contoso2 at PA 192.168.4.22.
fn tiny_host_a() -> Option<Tiny> {
    use hnv_core::policy::{LookupEntry, Prefix, Rdid, RecordType, Rule};
    let vsid = Vsid::new(5001).ok()?;
    let mut t = Tiny::new();
    t.add_own_pa([192, 168, 4, 11].into()).ok()?;
    let prefix = Prefix::new([10, 0, 0, 0].into(), 24).ok()?;
    t.add_customer_route(Rdid(1), vsid, prefix, None, 0).ok()?;
    let vm = |ca: [u8; 4], mac: u8, pa: [u8; 4]| LookupEntry {
        ca: ca.into(),
        vsid,
        mac: MacAddr([0x00, 0x15, 0x5d, 0, 0, mac]),
        pa: pa.into(),
        rule: Rule::Encap,
        record_type: RecordType::Static,
        use_vm_mac: false,
    };
    t.add_record(vm([10, 0, 0, 5], 1, [192, 168, 4, 11])).ok()?;
    t.add_record(vm([10, 0, 0, 7], 2, [192, 168, 4, 22])).ok()?;
    t.add_neighbor([192, 168, 4, 22].into(), MacAddr([2, 0, 0, 0, 0x0b, 1]))
        .ok()?;
    t.set_uplink(MacAddr([2, 0, 0, 0, 0x0a, 1]), 1500);
    t.set_gateway_mac(MacAddr([2, 0, 0x5e, 0, 1, 1]));
    t.add_port(MacAddr([0x00, 0x15, 0x5d, 0, 0, 1]), Some(vsid)).ok()?;
    Some(t)
}

/// Runs the caller's frame (from Contoso1's port) through the switch over fixed tables:
/// links the whole switch into the no_std build. Returns 1 when it went to the wire, 2 for
/// a reply, 3 for any other forwarding, 0 for a drop or an error.
#[no_mangle]
pub extern "C" fn hnv_no_std_switch(mem: *mut u8, cap: usize, headroom: usize, len: usize) -> u32 {
    use hnv_core::switch::{PortId, Switch, Verdict};
    if mem.is_null() {
        return 0;
    }
    // SAFETY: the C caller passes a valid, exclusive buffer of `cap` bytes.
    #[allow(unsafe_code)]
    let mem = unsafe { core::slice::from_raw_parts_mut(mem, cap) };
    let Ok(mut f) = FrameBuf::new(mem, headroom, len) else {
        return 0;
    };
    let Some(tables) = tiny_host_a() else {
        return 0;
    };
    let mut switch = Switch::new(tables);
    match switch.from_port(PortId(0), &mut f, &mut ()) {
        Verdict::ToWire => 1,
        Verdict::Reply => 2,
        Verdict::Drop(_) => 0,
        _ => 3,
    }
}
