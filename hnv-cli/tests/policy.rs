//! `hnv policy check` and `hnv policy show`: exit codes, the exact problem lines for a corpus
//! of broken files, and the compiled per-host view of the seed policy.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn seed_policy() -> PathBuf {
    repo_root().join("docs/examples/seed-policy.json")
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/policy")
}

fn hnv(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hnv"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// A scratch directory of this test process.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hnv-policy-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn check_accepts_the_seed_policy() {
    let seed = seed_policy();
    let out = hnv(&["policy", "check", seed.to_str().unwrap()], &repo_root());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
    assert_eq!(
        stdout,
        format!(
            "{}: valid (7 lookup records, 3 customer routes, 4 provider addresses, \
             1 provider route, 2 hosts, 7 ports)\n",
            seed.display()
        )
    );
}

#[test]
fn check_accepts_the_small_corpus_base() {
    let out = hnv(&["policy", "check", "valid-small.json"], &corpus());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "valid-small.json: valid (4 lookup records, 2 customer routes, 2 provider addresses, \
         1 provider route, 1 host, 2 ports)\n"
    );
}

/// Every broken file of the corpus, with the exact lines `check` must print for it.
const BROKEN: &[(&str, &[&str])] = &[
    (
        "vsid-below-4096.json",
        &[r#"LookupRecords[3].VirtualSubnetID: 4095 is below 4096 (CA 10.0.1.7, VSID 4095, VMName "Contoso5")"#],
    ),
    (
        "duplicate-ca.json",
        &[r#"LookupRecords[2].CustomerAddress: 10.0.0.6 is already used in this routing domain by LookupRecords[1] (CA 10.0.0.6, VSID 5001, VMName "Contoso2")"#],
    ),
    (
        "l2only-with-ca.json",
        &[r#"LookupRecords[4].CustomerAddress: 10.0.0.9: L2Only and GatewayWildcard records use 0.0.0.0 or :: (CA 10.0.0.9, VSID 5001, VMName "Learner")"#],
    ),
    (
        "bad-mac.json",
        &[r#"LookupRecords[1].MACAddress: MAC address must look like 00-15-5D-00-00-01, 00155D000001 or 00:15:5d:00:00:01, got "00-15-5D-00-03" (line 15, column 36)"#],
    ),
    (
        "unknown-field.json",
        &["Hosts[0].Ports[0].VlanID: unknown field `VlanID`, expected one of `Name`, `MACAddress`, `VirtualSubnetID`, `Interface` (line 102, column 18)"],
    ),
    (
        "wrong-type.json",
        &[r#"LookupRecords[0].VirtualSubnetID: invalid type: string "5001", expected u32 (line 5, column 31)"#],
    ),
    (
        "syntax-error.json",
        &["LookupRecords[1]: expected `,` or `}` (line 14, column 7)"],
    ),
    (
        "truncated.json",
        &["LookupRecords[2].CustomerAddress: EOF while parsing a string (line 22, column 30)"],
    ),
    (
        "empty.json",
        &["EOF while parsing a value (line 1, column 0)"],
    ),
    (
        "not-an-object.json",
        &["invalid type: sequence, expected a JSON object (line 1, column 0)"],
    ),
    (
        "port-without-record.json",
        &[r#"Hosts[0].Ports[2].VirtualSubnetID: no lookup record with VirtualSubnetID 5001 and MACAddress 00-15-5D-00-00-09 for a provider address of this host (host "HostA", port "Contoso9")"#],
    ),
    (
        "gateway-ca.json",
        &[r#"LookupRecords[2].CustomerAddress: 10.0.0.1 is the gateway (first address) of 10.0.0.0/24, reserved for HNV (CA 10.0.0.1, VSID 5001, VMName "Contoso2")"#],
    ),
    (
        "several-problems.json",
        &[
            r#"LookupRecords[1].UseVmMACAddress: true is only allowed with Rule TranslationMethodNat (CA 10.0.0.6, VSID 5001, VMName "Contoso3")"#,
            r#"LookupRecords[2].CustomerAddress: 10.0.0.1 is the gateway (first address) of 10.0.0.0/24, reserved for HNV (CA 10.0.0.1, VSID 5001, VMName "Contoso2")"#,
            r#"LookupRecords[3].VirtualSubnetID: 4095 is below 4096 (CA 10.0.1.7, VSID 4095, VMName "Contoso5")"#,
            "ProviderAddresses[1].VlanID: 4095 is above 4094 (PA 192.168.4.22)",
            "ProviderRoutes[0].NextHop: 172.16.0.1 is not inside any on-link prefix (0.0.0.0/0 via 172.16.0.1)",
            r#"Hosts[0].Uplink.MTU: 500 is too small (host "HostA")"#,
            r#"Hosts[0].Ports[1].MACAddress: 01-00-5E-00-00-01 is not a unicast MAC address (host "HostA", port "Contoso3")"#,
            r#"Hosts[0].Ports[1].VirtualSubnetID: no lookup record with VirtualSubnetID 5001 and MACAddress 01-00-5E-00-00-01 for a provider address of this host (host "HostA", port "Contoso3")"#,
        ],
    ),
];

#[test]
fn check_prints_every_problem_of_each_broken_file() {
    for (file, expected) in BROKEN {
        let out = hnv(&["policy", "check", file], &corpus());
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
        assert_eq!(text(&out.stdout), "", "{file}");
        let mut want: Vec<String> = expected.iter().map(|l| (*l).to_string()).collect();
        let n = expected.len();
        want.push(format!(
            "{file}: invalid ({n} {})",
            if n == 1 { "problem" } else { "problems" }
        ));
        let got: Vec<&str> = stderr.lines().collect();
        assert_eq!(got, want, "{file}");
    }
}

#[test]
fn the_corpus_covers_every_file_in_the_directory() {
    let listed: BTreeSet<&str> = BROKEN.iter().map(|(f, _)| *f).collect();
    for entry in std::fs::read_dir(corpus()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name != "valid-small.json" {
            assert!(listed.contains(name.as_str()), "{name} has no expectations");
        }
    }
}

#[test]
fn check_json_reports_paths_problems_and_records() {
    let out = hnv(
        &["policy", "check", "--json", "several-problems.json"],
        &corpus(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stderr), "");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["file"], "several-problems.json");
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 8);
    let p = &problems[2];
    assert_eq!(p["kind"], "policy");
    assert_eq!(p["path"], "LookupRecords[3].VirtualSubnetID");
    assert_eq!(p["problem"], "4095 is below 4096");
    assert_eq!(p["record"], r#"CA 10.0.1.7, VSID 4095, VMName "Contoso5""#);
    assert_eq!(
        p["text"],
        r#"LookupRecords[3].VirtualSubnetID: 4095 is below 4096 (CA 10.0.1.7, VSID 4095, VMName "Contoso5")"#
    );
    assert_eq!(problems[5]["path"], "Hosts[0].Uplink.MTU");
    assert_eq!(problems[5]["record"], r#"host "HostA""#);

    let out = hnv(&["policy", "check", "--json", "bad-mac.json"], &corpus());
    assert_eq!(out.status.code(), Some(2));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    let p = &v["problems"][0];
    assert_eq!(p["kind"], "file");
    assert_eq!(p["path"], "LookupRecords[1].MACAddress");
    assert_eq!(
        (p["line"].as_u64(), p["column"].as_u64()),
        (Some(15), Some(36))
    );
    assert!(p["problem"]
        .as_str()
        .unwrap()
        .starts_with("MAC address must look like"));
}

#[test]
fn check_json_of_a_valid_file_has_counts() {
    let seed = seed_policy();
    let out = hnv(
        &["policy", "check", "--json", seed.to_str().unwrap()],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    assert_eq!(v["counts"]["lookup_records"], 7);
    assert_eq!(v["counts"]["hosts"], 2);
    assert_eq!(v["counts"]["ports"], 7);
}

#[test]
fn check_of_a_missing_file_is_exit_1() {
    let out = hnv(
        &["policy", "check", "/nonexistent-dir/policy.json"],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("hnv: error: reading /nonexistent-dir/policy.json: "),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn check_reads_utf16_as_windows_powershell_writes_it() {
    let dir = scratch("utf16");
    let seed = std::fs::read_to_string(seed_policy()).unwrap();
    let mut bytes = vec![0xff, 0xfe];
    for unit in seed.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    std::fs::write(dir.join("seed-utf16.json"), bytes).unwrap();
    let out = hnv(&["policy", "check", "seed-utf16.json"], &dir);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    std::fs::write(
        dir.join("latin1.json"),
        b"{\"Hosts\": [{\"Name\": \"H\xf6st\"}]}",
    )
    .unwrap();
    let out = hnv(&["policy", "check", "latin1.json"], &dir);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr),
        "not UTF-8 text: invalid byte 0xF6 (line 1, column 23)\nlatin1.json: invalid (1 problem)\n"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn show_lists_host_a_ports_vsids_and_pas() {
    let seed = seed_policy();
    let out = hnv(
        &["policy", "show", seed.to_str().unwrap(), "--host", "HostA"],
        &repo_root(),
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(stdout.starts_with("Host HostA\n"), "{stdout}");
    assert!(!stdout.contains("Host HostB"), "{stdout}");
    assert!(
        stdout.contains("  Provider addresses  192.168.4.11/24, 192.168.4.51/24\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  Uplink              eth1, MAC 02-00-00-00-0A-01, MTU 1500\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("  Gateway MAC         02-00-5E-00-01-01"),
        "{stdout}"
    );
    for port in [
        "    0   Contoso1   00-15-5D-00-00-01  5001  vm-contoso1\n",
        "    1   Contoso3   00-15-5D-00-00-03  5001  vm-contoso3\n",
        "    2   Contoso4   00-15-5D-00-00-04  6001  vm-contoso4\n",
        "    3   Fabrikam1  00-15-5D-00-01-01  7001  vm-fabrikam1\n",
    ] {
        assert!(stdout.contains(port), "{port:?} missing from\n{stdout}");
    }
    assert!(stdout.contains(
        "    {11111111-2222-3333-4444-000000000000} (index 0): VSIDs 5001, 6001; ports Contoso1, Contoso3, Contoso4\n"
    ), "{stdout}");
    assert!(
        stdout.contains(
            "    {22222222-2222-3333-4444-000000000000} (index 1): VSIDs 7001; ports Fabrikam1\n"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("      10.0.1.0/24  6001  on-link   0\n"),
        "{stdout}"
    );
    assert!(stdout.contains(
        "    10.0.0.7  5001  00-15-5D-00-00-02  192.168.4.22  TranslationMethodEncap  Static  Contoso2   remote\n"
    ), "{stdout}");
    assert!(
        stdout.contains("    0.0.0.0/0       192.168.4.1  0\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("    192.168.4.22  02-00-00-00-0B-01\n"),
        "{stdout}"
    );
}

#[test]
fn show_json_has_the_compiled_view() {
    let seed = seed_policy();
    let out = hnv(
        &[
            "policy",
            "show",
            seed.to_str().unwrap(),
            "--host",
            "HostA",
            "--json",
        ],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let hosts = v["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 1);
    let h = &hosts[0];
    assert_eq!(h["name"], "HostA");
    let pas: Vec<&str> = h["provider_addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["address"].as_str().unwrap())
        .collect();
    assert_eq!(pas, ["192.168.4.11", "192.168.4.51"]);
    assert_eq!(h["provider_addresses"][0]["prefix_length"], 24);
    assert_eq!(h["uplink"]["interface"], "eth1");
    assert_eq!(h["uplink"]["mac"], "02-00-00-00-0A-01");
    assert_eq!(h["uplink"]["mtu"], 1500);
    assert_eq!(h["gateway_mac"], "02-00-5E-00-01-01");

    let ports = h["ports"].as_array().unwrap();
    let names: Vec<&str> = ports.iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Contoso1", "Contoso3", "Contoso4", "Fabrikam1"]);
    let vsids: BTreeSet<u64> = ports.iter().map(|p| p["vsid"].as_u64().unwrap()).collect();
    assert_eq!(vsids, BTreeSet::from([5001, 6001, 7001]));
    assert_eq!(ports[3]["mac"], "00-15-5D-00-01-01");
    assert_eq!(ports[3]["interface"], "vm-fabrikam1");

    let domains = h["routing_domains"].as_array().unwrap();
    assert_eq!(domains.len(), 2);
    assert_eq!(domains[0]["rdid"], "{11111111-2222-3333-4444-000000000000}");
    assert_eq!(domains[0]["vsids"], serde_json::json!([5001, 6001]));
    assert_eq!(domains[1]["vsids"], serde_json::json!([7001]));
    let route = &domains[0]["routes"][1];
    assert_eq!(route["prefix"], "10.0.1.0/24");
    assert_eq!(route["vsid"], 6001);
    assert_eq!(route["next_hop"], Value::Null);
    assert_eq!(route["metric"], 0);

    let records = h["lookup_records"].as_array().unwrap();
    assert_eq!(records.len(), 7);
    let contoso2 = records.iter().find(|r| r["vm_name"] == "Contoso2").unwrap();
    assert_eq!(contoso2["ca"], "10.0.0.7");
    assert_eq!(contoso2["pa"], "192.168.4.22");
    assert_eq!(contoso2["rule"], "TranslationMethodEncap");
    assert_eq!(contoso2["type"], "Static");
    assert_eq!(contoso2["local"], false);
    let fabrikam1 = records
        .iter()
        .find(|r| r["vm_name"] == "Fabrikam1")
        .unwrap();
    assert_eq!(fabrikam1["rule"], "TranslationMethodNat");
    assert_eq!(fabrikam1["port"], "Fabrikam1");

    let routes = h["provider_routes"].as_array().unwrap();
    assert_eq!(routes[0]["prefix"], "192.168.4.0/24");
    assert_eq!(routes[0]["next_hop"], Value::Null);
    assert_eq!(routes[1]["prefix"], "0.0.0.0/0");
    assert_eq!(routes[1]["next_hop"], "192.168.4.1");
    assert_eq!(h["neighbors"].as_array().unwrap().len(), 3);
}

#[test]
fn show_without_host_shows_every_host() {
    let seed = seed_policy();
    let out = hnv(&["policy", "show", seed.to_str().unwrap()], &repo_root());
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout.contains("Host HostA\n"), "{stdout}");
    assert!(stdout.contains("Host HostB\n"), "{stdout}");
    let out = hnv(
        &["policy", "show", seed.to_str().unwrap(), "--json"],
        &repo_root(),
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["HostA", "HostB"]);
    assert_eq!(v["hosts"][1]["ports"].as_array().unwrap().len(), 3);
}

#[test]
fn show_of_an_unknown_host_names_the_hosts() {
    let seed = seed_policy();
    let out = hnv(
        &["policy", "show", seed.to_str().unwrap(), "--host", "HostC"],
        &repo_root(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "hnv: error: no host named \"HostC\" in {}; its hosts: \"HostA\", \"HostB\"\n",
            seed.display()
        )
    );
}

#[test]
fn show_of_an_invalid_file_lists_the_problems() {
    let out = hnv(&["policy", "show", "vsid-below-4096.json"], &corpus());
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(text(&out.stdout), "");
    assert_eq!(
        text(&out.stderr),
        "LookupRecords[3].VirtualSubnetID: 4095 is below 4096 (CA 10.0.1.7, VSID 4095, VMName \"Contoso5\")\n\
         vsid-below-4096.json: invalid (1 problem)\n"
    );
}

#[test]
fn help_documents_arguments_exit_codes_and_examples() {
    let out = hnv(&["policy", "check", "--help"], &repo_root());
    let help = text(&out.stdout);
    assert!(help.contains("Exit status: 0 valid; 2 invalid"), "{help}");
    assert!(
        help.contains("hnv policy check docs/examples/seed-policy.json"),
        "{help}"
    );
    assert!(help.contains("--json"), "{help}");
    let out = hnv(&["policy", "show", "--help"], &repo_root());
    let help = text(&out.stdout);
    assert!(help.contains("--host <NAME>"), "{help}");
    assert!(
        help.contains("hnv policy show docs/examples/seed-policy.json --host HostA"),
        "{help}"
    );
}
