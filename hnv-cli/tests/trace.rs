//! `hnv trace` over the seed policy: the seed flows of HostA explained step by step, the
//! probe's checksums, the JSON form and the exit codes (0 forwarded, 3 dropped, 1 errors).

use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use hnv_core::nvgre;
use hnv_core::wire::checksum;
use hnv_core::wire::ethernet::{EtherType, EthernetFrame};
use hnv_core::wire::ipv4::Ipv4Packet;
use hnv_core::wire::ipv6::Ipv6Packet;
use serde_json::Value;

fn seed_policy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/examples/seed-policy.json")
}

/// `hnv trace --policy SEED --host HostA --from port:FROM --dst DST` plus `extra`.
fn trace(from: &str, dst: &str, extra: &[&str]) -> Output {
    let seed = seed_policy();
    let from = format!("port:{from}");
    Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args([
            "trace",
            "--policy",
            seed.to_str().unwrap(),
            "--host",
            "HostA",
        ])
        .args(["--from", &from, "--dst", dst])
        .args(extra)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The trace as JSON, with its exit code.
fn trace_json(from: &str, dst: &str, extra: &[&str]) -> (Option<i32>, Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = trace(from, dst, &args);
    assert_eq!(text(&out.stderr), "");
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout).unwrap(),
    )
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn step_kinds(v: &Value) -> Vec<String> {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap().to_string())
        .collect()
}

fn step<'a>(v: &'a Value, kind: &str) -> &'a Value {
    v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == kind)
        .unwrap_or_else(|| panic!("no {kind} step in {v:#}"))
}

#[test]
fn same_vsid_other_host_is_encapsulated_to_the_records_pa() {
    let out = trace("Contoso1", "10.0.0.7", &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with(
            "Probe from port Contoso1 on HostA: ICMP echo request 10.0.0.5 -> 10.0.0.7, 74 bytes\n"
        ),
        "{stdout}"
    );
    assert!(stdout.contains(
        "  1. ingress port Contoso1 (port 0): MAC 00-15-5D-00-00-01, VSID 5001, routing domain {11111111-2222-3333-4444-000000000000}\n"
    ), "{stdout}");
    assert!(stdout.contains(
        "  2. lookup record: CA 10.0.0.7, VSID 5001, MAC 00-15-5D-00-00-02, PA 192.168.4.22 (remote), TranslationMethodEncap, Static, VMName Contoso2\n"
    ), "{stdout}");
    assert!(stdout.contains(
        "  3. provider next hop for PA 192.168.4.22: 192.168.4.22 (on-link), MAC 02-00-00-00-0B-01\n"
    ), "{stdout}");
    assert!(
        stdout.contains("  4. action: NVGRE-encapsulate with VSID 5001"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\nVerdict: sent to the wire (uplink eth1)\n"),
        "{stdout}"
    );
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("Summary: "))
        .unwrap_or_else(|| panic!("no summary in {stdout}"));
    assert!(
        summary.starts_with("Summary: PA 192.168.4.11 -> 192.168.4.22, VSID 5001, FlowID 0x"),
        "{summary}"
    );
    assert!(
        summary.ends_with(", next-hop MAC 02-00-00-00-0B-01"),
        "{summary}"
    );
    assert!(
        stdout.contains("GRE       flags+version 0x2000, protocol 0x6558"),
        "{stdout}"
    );

    let (code, v) = trace_json("Contoso1", "10.0.0.7", &[]);
    assert_eq!(code, Some(0));
    assert_eq!(step_kinds(&v), ["port", "record", "next_hop", "action"]);
    assert_eq!(step(&v, "action")["action"], "encap");
    assert_eq!(v["verdict"]["verdict"], "to_wire");
    assert_eq!(v["forwarded"], true);
    let s = &v["summary"];
    assert_eq!(s["kind"], "encap");
    assert_eq!(s["src_pa"], "192.168.4.11");
    assert_eq!(s["dst_pa"], "192.168.4.22");
    assert_eq!(s["vsid"], 5001);
    assert_eq!(s["next_hop_mac"], "02-00-00-00-0B-01");

    // The wire frame carries the probe, untouched, behind the NVGRE headers.
    let probe = unhex(v["probe"]["hex"].as_str().unwrap());
    let wire = unhex(v["frame_hex"].as_str().unwrap());
    let n = nvgre::inspect(&wire).unwrap();
    assert_eq!(n.vsid().get(), 5001);
    assert_eq!(s["flow_id"], n.flow_id().to_string());
    assert_eq!(&wire[n.inner_offset()..], &probe[..]);
}

#[test]
fn other_vsid_other_host_is_routed_then_encapsulated_with_the_destination_vsid() {
    let (code, v) = trace_json(
        "Contoso1",
        "10.0.1.7",
        &["--proto", "tcp", "--dport", "443"],
    );
    assert_eq!(code, Some(0));
    assert_eq!(v["probe"]["dst_mac"], "02-00-5E-00-01-01");
    assert_eq!(v["probe"]["dst_mac_from"], "gateway");
    assert_eq!(
        step_kinds(&v),
        [
            "port",
            "routing_domain",
            "route",
            "record",
            "next_hop",
            "action"
        ]
    );
    let rd = step(&v, "routing_domain");
    assert_eq!(rd["rdid"], "{11111111-2222-3333-4444-000000000000}");
    assert_eq!(rd["index"], 0);
    let route = step(&v, "route");
    assert_eq!(route["prefix"], "10.0.1.0/24");
    assert_eq!(route["vsid"], 6001);
    assert_eq!(route["next_hop"], Value::Null);
    let rec = step(&v, "record");
    assert_eq!(rec["ca"], "10.0.1.7");
    assert_eq!(rec["mac"], "00-15-5D-00-00-05");
    assert_eq!(rec["vm_name"], "Contoso5");
    assert_eq!(v["summary"]["vsid"], 6001);
    assert_eq!(v["summary"]["dst_pa"], "192.168.4.22");

    // Routed: the inner frame goes from the gateway MAC to Contoso5.
    let wire = unhex(v["frame_hex"].as_str().unwrap());
    let n = nvgre::inspect(&wire).unwrap();
    assert_eq!(n.vsid().get(), 6001);
    let inner = EthernetFrame::parse(&wire[n.inner_offset()..]).unwrap();
    assert_eq!(inner.dst().to_string(), "00-15-5D-00-00-05");
    assert_eq!(inner.src().to_string(), "02-00-5E-00-01-01");

    let out = trace("Contoso1", "10.0.1.7", &[]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(
        "  2. destination MAC is the gateway: routed in routing domain {11111111-2222-3333-4444-000000000000} (index 0)\n"
    ), "{stdout}");
    assert!(
        stdout.contains("  3. customer route 10.0.1.0/24 in VSID 6001, on-link, metric 0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Summary: PA 192.168.4.11 -> 192.168.4.22, VSID 6001, FlowID 0x"),
        "{stdout}"
    );
}

#[test]
fn same_vsid_same_host_is_switched_to_the_local_port() {
    let out = trace("Contoso1", "10.0.0.6", &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("\nVerdict: delivered to port Contoso3 (port 1)\n"),
        "{stdout}"
    );
    assert!(stdout.contains(
        "Summary: local delivery to port Contoso3 (VSID 5001, MAC 00-15-5D-00-00-03), no encapsulation\n"
    ), "{stdout}");

    let (code, v) = trace_json("Contoso1", "10.0.0.6", &["--proto", "udp"]);
    assert_eq!(code, Some(0));
    assert_eq!(v["verdict"]["verdict"], "to_port");
    assert_eq!(v["verdict"]["port"], "Contoso3");
    assert_eq!(v["summary"]["kind"], "local");
    assert_eq!(v["probe"]["dst_mac"], "00-15-5D-00-00-03");
    assert_eq!(v["probe"]["hex"], v["frame_hex"]);
}

#[test]
fn ip_rewrite_replaces_the_cas_with_pas() {
    let (code, v) = trace_json("Fabrikam1", "10.0.0.7", &["--proto", "tcp"]);
    assert_eq!(code, Some(0));
    assert_eq!(step(&v, "record")["rule"], "TranslationMethodNat");
    assert_eq!(step(&v, "action")["action"], "rewrite");
    let s = &v["summary"];
    assert_eq!(s["kind"], "rewrite");
    assert_eq!(s["src_pa"], "192.168.4.51");
    assert_eq!(s["dst_pa"], "192.168.4.52");
    assert_eq!(s["next_hop_mac"], "02-00-00-00-0B-01");

    // No encapsulation: a plain IPv4 packet between the PAs with valid checksums.
    let wire = unhex(v["frame_hex"].as_str().unwrap());
    assert!(nvgre::inspect(&wire).is_err());
    let eth = EthernetFrame::parse(&wire[..]).unwrap();
    let ip = Ipv4Packet::parse(eth.payload()).unwrap();
    assert_eq!(ip.header().src(), Ipv4Addr::new(192, 168, 4, 51));
    assert_eq!(ip.header().dst(), Ipv4Addr::new(192, 168, 4, 52));
    assert!(ip.verify_checksum());
    let seg = ip.payload();
    let pseudo = checksum::pseudo_v4(ip.header().src(), ip.header().dst(), 6, seg.len() as u16);
    assert_eq!(pseudo.add_bytes(seg).sum(), 0xffff);

    let out = trace("Fabrikam1", "10.0.0.7", &[]);
    let stdout = text(&out.stdout);
    assert!(stdout.contains(
        "Summary: IP rewrite: PA 192.168.4.51 -> 192.168.4.52 (CA 10.0.0.5 -> 10.0.0.7), no encapsulation, next-hop MAC 02-00-00-00-0B-01\n"
    ), "{stdout}");
}

#[test]
fn no_route_is_dropped_with_exit_3_and_the_reason() {
    let out = trace("Contoso1", "10.9.9.9", &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains(
        "\nVerdict: dropped: no_route (no customer route to the destination in the sender's routing domain)\n"
    ), "{stdout}");
    assert!(!stdout.contains("Summary:"), "{stdout}");
    assert!(!stdout.contains("Resulting frame"), "{stdout}");

    let (code, v) = trace_json("Contoso1", "10.9.9.9", &[]);
    assert_eq!(code, Some(3));
    assert_eq!(v["verdict"]["verdict"], "drop");
    assert_eq!(v["verdict"]["reason"], "no_route");
    assert_eq!(v["forwarded"], false);
    assert_eq!(v["summary"], Value::Null);
    assert_eq!(step_kinds(&v), ["port", "routing_domain", "action"]);
}

#[test]
fn probes_carry_valid_checksums() {
    for proto in ["tcp", "udp", "icmp"] {
        let (_, v) = trace_json("Contoso1", "10.0.0.7", &["--proto", proto]);
        let frame = unhex(v["probe"]["hex"].as_str().unwrap());
        let eth = EthernetFrame::parse(&frame[..]).unwrap();
        assert_eq!(eth.src().to_string(), "00-15-5D-00-00-01");
        assert_eq!(eth.ethertype(), EtherType::IPV4);
        let ip = Ipv4Packet::parse(eth.payload()).unwrap();
        assert!(ip.verify_checksum(), "{proto}");
        assert!(ip.header().dont_fragment(), "{proto}");
        let l4 = ip.payload();
        let sum = match proto {
            "icmp" => checksum::Checksum::new(),
            _ => checksum::pseudo_v4(
                ip.header().src(),
                ip.header().dst(),
                ip.header().protocol,
                l4.len() as u16,
            ),
        };
        assert_eq!(sum.add_bytes(l4).sum(), 0xffff, "{proto}");
        match proto {
            "tcp" => assert_eq!(l4[13], 0x02, "SYN only"),
            "icmp" => assert_eq!(l4[0], 8, "echo request"),
            _ => assert_eq!(&l4[2..4], &53u16.to_be_bytes()),
        }
    }
}

#[test]
fn ipv6_probe_is_built_and_a_foreign_source_ca_is_refused() {
    for proto in ["tcp", "udp", "icmp"] {
        let (code, v) = trace_json(
            "Contoso1",
            "fd00::7",
            &["--src", "fd00::5", "--proto", proto],
        );
        assert_eq!(code, Some(3), "{proto}");
        assert_eq!(v["verdict"]["reason"], "spoofed_source_ca");
        let frame = unhex(v["probe"]["hex"].as_str().unwrap());
        let eth = EthernetFrame::parse(&frame[..]).unwrap();
        assert_eq!(eth.ethertype(), EtherType::IPV6);
        let ip = Ipv6Packet::parse(eth.payload()).unwrap();
        assert_eq!(ip.header().src(), "fd00::5".parse::<Ipv6Addr>().unwrap());
        let l4 = ip.payload();
        let sum = checksum::pseudo_v6(
            ip.header().src(),
            ip.header().dst(),
            ip.header().next_header,
            l4.len() as u32,
        );
        assert_eq!(sum.add_bytes(l4).sum(), 0xffff, "{proto}");
    }
}

#[test]
fn a_probe_too_big_for_the_uplink_gets_an_icmp_error() {
    let (code, v) = trace_json("Contoso1", "10.0.0.7", &["--payload", "1480"]);
    assert_eq!(code, Some(0));
    assert_eq!(step(&v, "action")["action"], "too_big");
    assert_eq!(v["verdict"]["verdict"], "reply");
}

#[test]
fn unknown_port_or_host_is_exit_1_naming_what_exists() {
    let out = trace("Contoso9", "10.0.0.7", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "hnv: error: no port named \"Contoso9\" on host HostA; its ports: \"Contoso1\", \
         \"Contoso3\", \"Contoso4\", \"Fabrikam1\"\n"
    );
    assert_eq!(text(&out.stdout), "");

    let seed = seed_policy();
    let out = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args([
            "trace",
            "--policy",
            seed.to_str().unwrap(),
            "--host",
            "HostC",
        ])
        .args(["--from", "port:Contoso1", "--dst", "10.0.0.7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no host named \"HostC\""),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("its hosts: \"HostA\", \"HostB\""));
}

#[test]
fn invalid_policy_and_bad_arguments_are_errors() {
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy/gateway-ca.json");
    let out = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args([
            "trace",
            "--policy",
            broken.to_str().unwrap(),
            "--host",
            "HostA",
        ])
        .args(["--from", "port:Contoso1", "--dst", "10.0.0.7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("gateway-ca.json: invalid (1 problem)"),
        "{err}"
    );
    assert!(
        err.starts_with("LookupRecords[2].CustomerAddress: 10.0.0.1 is the gateway"),
        "{err}"
    );

    let out = trace("Contoso1", "10.0.0.7", &["--dport", "80"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("--dport needs --proto tcp or --proto udp"));

    let out = trace("Contoso1", "fd00::7", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("has no IPv6 customer address"),
        "{}",
        text(&out.stderr)
    );

    let seed = seed_policy();
    let out = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args([
            "trace",
            "--policy",
            seed.to_str().unwrap(),
            "--host",
            "HostA",
        ])
        .args(["--from", "Contoso1", "--dst", "10.0.0.7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected port:NAME"));
}

#[test]
fn help_documents_every_argument_and_the_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args(["trace", "--help"])
        .output()
        .unwrap();
    let help = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    for arg in [
        "--policy <FILE>",
        "--host <NAME>",
        "--from <port:NAME>",
        "--dst <CA>",
        "--src <CA>",
        "--proto <PROTO>",
        "--dport <N>",
        "--payload <BYTES>",
        "--json",
        "Exit status:",
        "3  the switch dropped the probe",
        "hnv trace --policy docs/examples/seed-policy.json --host HostA --from port:Contoso1 --dst 10.0.0.7",
    ] {
        assert!(help.contains(arg), "{arg:?} missing from\n{help}");
    }
}
