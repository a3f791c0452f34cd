//! The JSON policy file: [`from_json`], [`to_json`] and [`load`] (parse, then [`validate`]).
//!
//! The file uses the PowerShell property names of the `New-NetVirtualization*` cmdlets (see
//! `docs/examples/seed-policy.json`). Parsing is strict: unknown fields, wrong types,
//! out-of-range numbers and malformed addresses are [`FileError`]s that name the path of the
//! offending value (`LookupRecords[3].MACAddress`) and its line and column. A file that parses
//! can still break a policy rule; [`load`] reports those too, one line per problem.
//!
//! ```
//! use hnv_core::policy::file;
//! let p = file::load(r#"{"ProviderRoutes": [{"DestinationPrefix": "0.0.0.0/0",
//!     "InterfaceIndex": 2, "NextHop": "0.0.0.0"}]}"#).unwrap();
//! assert_eq!(p.provider_routes[0].metric, 0); // optional fields have defaults
//! assert_eq!(file::from_json(&file::to_json(&p)).unwrap(), p);
//! ```

use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::marker::PhantomData;
use core::net::IpAddr;
use core::str::FromStr;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_path_to_error::Segment;

use super::error::{Array, HostArray, PolicyError};
use super::prefix::{Prefix, Rdid};
use super::records::{
    CustomerRoute, Host, LookupRecord, Neighbor, Policy, Port, ProviderAddress, ProviderRoute,
    RecordType, Rule, Uplink,
};
use super::validate::validate;
use crate::ids::MacAddr;

/// Uplink MTU when a host's `Uplink` has no `MTU`.
const DEFAULT_MTU: u16 = 1500;

/// Longest piece of a rejected value quoted back in an error message, in characters.
const QUOTE_MAX: usize = 40;

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

/// Why a text is not a policy file: bad JSON syntax, an unknown or missing field, a value of
/// the wrong type or range, or a malformed address.
///
/// ```
/// use hnv_core::policy::file::from_json;
/// let e = from_json(r#"{"Hosts": [{"Name": "HostA", "Colour": "blue"}]}"#).unwrap_err();
/// assert_eq!(e.path, "Hosts[0].Colour");
/// assert!(e.message.starts_with("unknown field `Colour`"));
/// assert_eq!((e.line, e.column), (1, 37));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileError {
    /// Where in the document: `LookupRecords[3].MACAddress`; empty for the document itself
    /// (a syntax error, trailing characters, a top level that is not an object).
    pub path: String,
    /// What is wrong, without the position.
    pub message: String,
    /// 1-based line of the error; 0 when unknown.
    pub line: usize,
    /// 1-based column (in bytes) of the error; 0 when unknown.
    pub column: usize,
}

impl FileError {
    fn new(path: String, err: &serde_json::Error) -> Self {
        let (line, column) = (err.line(), err.column());
        let full = err.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full
            .strip_suffix(suffix.as_str())
            .unwrap_or(&full)
            .to_string();
        Self {
            path,
            message,
            line,
            column,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)?;
        if self.line > 0 {
            write!(f, " (line {}, column {})", self.line, self.column)?;
        }
        Ok(())
    }
}

impl std::error::Error for FileError {}

/// Why [`load`] refused a text: it is not a policy file, or it is one whose policy breaks
/// rules of [`validate`]. Displayed as one line per problem.
///
/// ```
/// use hnv_core::policy::file::{load, LoadError};
/// let text = r#"{"ProviderAddresses": [
///     {"ProviderAddress": "0.0.0.0", "InterfaceIndex": 2, "PrefixLength": 24},
///     {"ProviderAddress": "192.168.4.22", "InterfaceIndex": 2, "PrefixLength": 24,
///      "VlanID": 4095}]}"#;
/// let err = load(text).unwrap_err();
/// assert!(matches!(&err, LoadError::Invalid { problems, .. } if problems.len() == 2));
/// assert_eq!(
///     err.to_string(),
///     "ProviderAddresses[0].ProviderAddress: 0.0.0.0 cannot be a provider address \
///      (PA 0.0.0.0)\n\
///      ProviderAddresses[1].VlanID: 4095 is above 4094 (PA 192.168.4.22)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The text is not a policy file; nothing was validated.
    File(FileError),
    /// The file parsed but the policy is invalid.
    Invalid {
        /// Every broken rule, in file order.
        problems: Vec<PolicyError>,
        /// The parsed (invalid) policy, to describe the records the problems name.
        policy: Box<Policy>,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(e) => write!(f, "{e}"),
            Self::Invalid { problems, policy } => {
                for (n, e) in problems.iter().enumerate() {
                    if n > 0 {
                        f.write_str("\n")?;
                    }
                    write!(f, "{e}")?;
                    if let Some(key) = record_key(policy, e) {
                        write!(f, " ({key})")?;
                    }
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

impl From<FileError> for LoadError {
    fn from(e: FileError) -> Self {
        Self::File(e)
    }
}

/// The key fields of the record a problem names, so a line can be found in a large file.
fn record_key(policy: &Policy, err: &PolicyError) -> Option<String> {
    let index = err.at.index;
    Some(match err.at.array {
        Array::LookupRecords => {
            let rec = policy.lookup_records.get(index)?;
            let mut key = format!(
                "CA {}, VSID {}",
                rec.customer_address, rec.virtual_subnet_id
            );
            if !rec.vm_name.is_empty() {
                key.push_str(", VMName ");
                key.push_str(&quoted(&rec.vm_name));
            }
            key
        }
        Array::CustomerRoutes => {
            let route = policy.customer_routes.get(index)?;
            format!(
                "RDID {}, VSID {}, {}",
                route.routing_domain_id, route.virtual_subnet_id, route.destination_prefix
            )
        }
        Array::ProviderAddresses => {
            format!(
                "PA {}",
                policy.provider_addresses.get(index)?.provider_address
            )
        }
        Array::ProviderRoutes => {
            let route = policy.provider_routes.get(index)?;
            format!("{} via {}", route.destination_prefix, route.next_hop)
        }
        Array::Hosts => {
            let host = policy.hosts.get(index)?;
            let name = format!("host {}", quoted(&host.name));
            match err.at.nested {
                Some((HostArray::Ports, nested)) => {
                    format!("{name}, port {}", quoted(&host.ports.get(nested)?.name))
                }
                Some((HostArray::Neighbors, nested)) => {
                    format!(
                        "{name}, neighbor {}",
                        host.neighbors.get(nested)?.ip_address
                    )
                }
                Some((HostArray::ProviderAddresses, _)) | None => name,
            }
        }
    })
}

/// `s` in double quotes with escapes, shortened to [`QUOTE_MAX`] characters.
fn quoted(s: &str) -> String {
    match s.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("{:?}…", s.get(..cut).unwrap_or(s)),
        None => format!("{s:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------

/// Parses a policy file. Only the syntax, the field names, the types and ranges of numbers
/// and the format of addresses are checked here; [`load`] also checks the policy rules.
///
/// A leading UTF-8 byte-order mark (as written by Windows PowerShell) is ignored.
///
/// ```
/// use hnv_core::policy::file::from_json;
/// let p = from_json(r#"{"LookupRecords": [{"CustomerAddress": "10.0.0.5",
///     "VirtualSubnetID": 5001, "MACAddress": "00155D000001",
///     "ProviderAddress": "192.168.4.11", "Rule": "TranslationMethodEncap"}]}"#).unwrap();
/// assert_eq!(p.lookup_records[0].mac_address.to_string(), "00-15-5D-00-00-01");
///
/// let e = from_json(r#"{"LookupRecords": [{"MACAddress": "00-15-5D"}]}"#).unwrap_err();
/// assert_eq!(e.path, "LookupRecords[0].MACAddress");
/// assert_eq!(
///     e.to_string(),
///     "LookupRecords[0].MACAddress: MAC address must look like 00-15-5D-00-00-01, \
///      00155D000001 or 00:15:5d:00:00:01, got \"00-15-5D\" (line 1, column 45)"
/// );
/// ```
pub fn from_json(text: &str) -> Result<Policy, FileError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut de = serde_json::Deserializer::from_str(text);
    let Obj(file): Obj<FileDto> = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = path_string(e.path());
        FileError::new(path, e.inner())
    })?;
    de.end().map_err(|e| FileError::new(String::new(), &e))?;
    Ok(file.into())
}

/// Writes a policy file: pretty-printed, PowerShell property names, every field present,
/// MACs as `00-15-5D-00-00-01`, GUIDs as `{XXXXXXXX-…}`, enums by name, ending in a newline.
///
/// [`from_json`] of the result gives back `p`, and the text is a fixed point
/// (`to_json(&from_json(&to_json(p))?) == to_json(p)`).
///
/// ```
/// use hnv_core::policy::file::{from_json, to_json};
/// let p = from_json(r#"{"Hosts": [{"Name": "HostA", "GatewayMACAddress": "02:00:5e:00:01:01",
///     "Uplink": {"Interface": "eth1", "MACAddress": "020000000A01"}}]}"#).unwrap();
/// let text = to_json(&p);
/// assert!(text.contains(r#""GatewayMACAddress": "02-00-5E-00-01-01""#));
/// assert!(text.contains(r#""MTU": 1500"#));
/// assert_eq!(from_json(&text).unwrap(), p);
/// ```
pub fn to_json(p: &Policy) -> String {
    // Serializing these DTOs cannot fail: every map key is a string and every value a
    // string, number, bool or array of them.
    let mut text = serde_json::to_string_pretty(&FileDto::from(p)).unwrap_or_default();
    text.push('\n');
    text
}

/// Parses a policy file and checks every rule of [`validate`]: the policy, or everything
/// wrong with the text. Nothing of an invalid file should be applied.
///
/// ```
/// use hnv_core::policy::file::{load, LoadError};
/// assert_eq!(load("{}").unwrap(), Default::default());
/// let err = load(r#"{"LookupRecords": [{"CustomerAddress": "10.0.0.5",
///     "VirtualSubnetID": 4095, "MACAddress": "00155D000001",
///     "ProviderAddress": "192.168.4.11", "Rule": "TranslationMethodEncap",
///     "VMName": "Contoso1"}]}"#).unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "LookupRecords[0].VirtualSubnetID: 4095 is below 4096 \
///      (CA 10.0.0.5, VSID 4095, VMName \"Contoso1\")"
/// );
/// assert!(matches!(load("{").unwrap_err(), LoadError::File(_)));
/// ```
pub fn load(text: &str) -> Result<Policy, LoadError> {
    let policy = from_json(text)?;
    match validate(&policy) {
        Ok(()) => Ok(policy),
        Err(problems) => Err(LoadError::Invalid {
            problems,
            policy: Box::new(policy),
        }),
    }
}

/// `Array[index].Field.Nested`, empty for the root.
fn path_string(path: &serde_path_to_error::Path) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Segment::Seq { index } => {
                s.push('[');
                s.push_str(&index.to_string());
                s.push(']');
            }
            Segment::Map { key } => push_name(&mut s, key),
            Segment::Enum { variant } => push_name(&mut s, variant),
            // Inside a map whose key was not read yet (a syntax error): nothing to name.
            Segment::Unknown => {}
        }
    }
    s
}

fn push_name(s: &mut String, name: &str) {
    if !s.is_empty() {
        s.push('.');
    }
    s.push_str(name);
}

// ---------------------------------------------------------------------------------------
// Values written as strings: addresses, prefixes, GUIDs
// ---------------------------------------------------------------------------------------

/// A value written as a JSON string, parsed with its `FromStr` and written with `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Text<T>(T);

impl<'de, T> Deserialize<'de> for Text<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map(Text)
            .map_err(|e| D::Error::custom(format_args!("{e}, got {}", quoted(&s))))
    }
}

impl<T: fmt::Display> Serialize for Text<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

type Ip = Text<IpAddr>;
type Mac = Text<MacAddr>;

/// A record: only a JSON object is accepted (serde's derive would also take an array of
/// the field values in order, which is not the file format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ObjVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }
        d.deserialize_map(ObjVisitor(PhantomData)).map(Obj)
    }
}

impl<T: Serialize> Serialize for Obj<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

/// An enum written as the name of its PowerShell value (a JSON string, exact case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Named<T>(T);

/// The enums of the file and their PowerShell names.
trait ByName: Sized + Copy + 'static {
    const ALL: &'static [Self];
    fn name(self) -> &'static str;
}

impl ByName for Rule {
    const ALL: &'static [Self] = &[Self::Encap, Self::Nat, Self::None];
    fn name(self) -> &'static str {
        Rule::name(self)
    }
}

impl ByName for RecordType {
    const ALL: &'static [Self] = &[
        Self::Static,
        Self::Dynamic,
        Self::L2Only,
        Self::GatewayWildcard,
    ];
    fn name(self) -> &'static str {
        RecordType::name(self)
    }
}

impl<'de, T: ByName> Deserialize<'de> for Named<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if let Some(&v) = T::ALL.iter().find(|v| v.name() == s) {
            return Ok(Named(v));
        }
        let mut expected = String::new();
        for (k, v) in T::ALL.iter().enumerate() {
            expected.push_str(if k == 0 { "" } else { ", " });
            expected.push_str(v.name());
        }
        Err(D::Error::custom(format_args!(
            "expected one of {expected}, got {}",
            quoted(&s)
        )))
    }
}

impl<T: ByName> Serialize for Named<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0.name())
    }
}

/// An optional informational string: absent or `null` (as ConvertTo-Json writes) is empty.
fn null_as_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Option::<String>::deserialize(d).map(Option::unwrap_or_default)
}

const fn default_mtu() -> u16 {
    DEFAULT_MTU
}

// ---------------------------------------------------------------------------------------
// The file, field for field
// ---------------------------------------------------------------------------------------

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct FileDto {
    #[serde(rename = "LookupRecords", default)]
    lookup_records: Vec<Obj<LookupRecordDto>>,
    #[serde(rename = "CustomerRoutes", default)]
    customer_routes: Vec<Obj<CustomerRouteDto>>,
    #[serde(rename = "ProviderAddresses", default)]
    provider_addresses: Vec<Obj<ProviderAddressDto>>,
    #[serde(rename = "ProviderRoutes", default)]
    provider_routes: Vec<Obj<ProviderRouteDto>>,
    #[serde(rename = "Hosts", default)]
    hosts: Vec<Obj<HostDto>>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct LookupRecordDto {
    #[serde(rename = "CustomerAddress")]
    customer_address: Ip,
    #[serde(rename = "VirtualSubnetID")]
    virtual_subnet_id: u32,
    #[serde(rename = "MACAddress")]
    mac_address: Mac,
    #[serde(rename = "ProviderAddress")]
    provider_address: Ip,
    #[serde(rename = "Rule")]
    rule: Named<Rule>,
    #[serde(rename = "Type", default)]
    record_type: Named<RecordType>,
    #[serde(rename = "VMName", default, deserialize_with = "null_as_empty")]
    vm_name: String,
    #[serde(rename = "CustomerID", default, deserialize_with = "null_as_empty")]
    customer_id: String,
    #[serde(rename = "Context", default, deserialize_with = "null_as_empty")]
    context: String,
    #[serde(rename = "UseVmMACAddress", default)]
    use_vm_mac_address: bool,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CustomerRouteDto {
    #[serde(rename = "RoutingDomainID")]
    routing_domain_id: Text<Rdid>,
    #[serde(rename = "VirtualSubnetID")]
    virtual_subnet_id: u32,
    #[serde(rename = "DestinationPrefix")]
    destination_prefix: Text<Prefix>,
    #[serde(rename = "NextHop")]
    next_hop: Ip,
    #[serde(rename = "Metric", default)]
    metric: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ProviderAddressDto {
    #[serde(rename = "ProviderAddress")]
    provider_address: Ip,
    #[serde(rename = "InterfaceIndex")]
    interface_index: u32,
    #[serde(rename = "PrefixLength")]
    prefix_length: u8,
    #[serde(rename = "VlanID", default)]
    vlan_id: u16,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ProviderRouteDto {
    #[serde(rename = "DestinationPrefix")]
    destination_prefix: Text<Prefix>,
    #[serde(rename = "InterfaceIndex")]
    interface_index: u32,
    #[serde(rename = "NextHop")]
    next_hop: Ip,
    #[serde(rename = "Metric", default)]
    metric: u32,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct HostDto {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "ProviderAddresses", default)]
    provider_addresses: Vec<Ip>,
    #[serde(rename = "Uplink")]
    uplink: Obj<UplinkDto>,
    #[serde(rename = "GatewayMACAddress")]
    gateway_mac_address: Mac,
    #[serde(rename = "Neighbors", default)]
    neighbors: Vec<Obj<NeighborDto>>,
    #[serde(rename = "Ports", default)]
    ports: Vec<Obj<PortDto>>,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct UplinkDto {
    #[serde(rename = "Interface")]
    interface: String,
    #[serde(rename = "MACAddress")]
    mac_address: Mac,
    #[serde(rename = "MTU", default = "default_mtu")]
    mtu: u16,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct NeighborDto {
    #[serde(rename = "IPAddress")]
    ip_address: Ip,
    #[serde(rename = "MACAddress")]
    mac_address: Mac,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct PortDto {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "MACAddress")]
    mac_address: Mac,
    #[serde(rename = "VirtualSubnetID")]
    virtual_subnet_id: u32,
    #[serde(rename = "Interface", default, deserialize_with = "null_as_empty")]
    interface: String,
}

// ---------------------------------------------------------------------------------------
// DTO → model
// ---------------------------------------------------------------------------------------

impl From<FileDto> for Policy {
    fn from(f: FileDto) -> Self {
        Self {
            lookup_records: f.lookup_records.into_iter().map(|o| o.0.into()).collect(),
            customer_routes: f.customer_routes.into_iter().map(|o| o.0.into()).collect(),
            provider_addresses: f
                .provider_addresses
                .into_iter()
                .map(|o| o.0.into())
                .collect(),
            provider_routes: f.provider_routes.into_iter().map(|o| o.0.into()).collect(),
            hosts: f.hosts.into_iter().map(|o| o.0.into()).collect(),
        }
    }
}

impl From<LookupRecordDto> for LookupRecord {
    fn from(r: LookupRecordDto) -> Self {
        Self {
            customer_address: r.customer_address.0,
            virtual_subnet_id: r.virtual_subnet_id,
            mac_address: r.mac_address.0,
            provider_address: r.provider_address.0,
            rule: r.rule.0,
            record_type: r.record_type.0,
            vm_name: r.vm_name,
            customer_id: r.customer_id,
            context: r.context,
            use_vm_mac_address: r.use_vm_mac_address,
        }
    }
}

impl From<CustomerRouteDto> for CustomerRoute {
    fn from(r: CustomerRouteDto) -> Self {
        Self {
            routing_domain_id: r.routing_domain_id.0,
            virtual_subnet_id: r.virtual_subnet_id,
            destination_prefix: r.destination_prefix.0,
            next_hop: r.next_hop.0,
            metric: r.metric,
        }
    }
}

impl From<ProviderAddressDto> for ProviderAddress {
    fn from(a: ProviderAddressDto) -> Self {
        Self {
            provider_address: a.provider_address.0,
            interface_index: a.interface_index,
            prefix_length: a.prefix_length,
            vlan_id: a.vlan_id,
        }
    }
}

impl From<ProviderRouteDto> for ProviderRoute {
    fn from(r: ProviderRouteDto) -> Self {
        Self {
            destination_prefix: r.destination_prefix.0,
            interface_index: r.interface_index,
            next_hop: r.next_hop.0,
            metric: r.metric,
        }
    }
}

impl From<HostDto> for Host {
    fn from(h: HostDto) -> Self {
        let uplink = h.uplink.0;
        Self {
            name: h.name,
            provider_addresses: h.provider_addresses.into_iter().map(|a| a.0).collect(),
            uplink: Uplink {
                interface: uplink.interface,
                mac_address: uplink.mac_address.0,
                mtu: uplink.mtu,
            },
            gateway_mac_address: h.gateway_mac_address.0,
            neighbors: h
                .neighbors
                .into_iter()
                .map(|Obj(n)| Neighbor {
                    ip_address: n.ip_address.0,
                    mac_address: n.mac_address.0,
                })
                .collect(),
            ports: h
                .ports
                .into_iter()
                .map(|Obj(p)| Port {
                    name: p.name,
                    mac_address: p.mac_address.0,
                    virtual_subnet_id: p.virtual_subnet_id,
                    interface: p.interface,
                })
                .collect(),
        }
    }
}

// ---------------------------------------------------------------------------------------
// model → DTO
// ---------------------------------------------------------------------------------------

impl From<&Policy> for FileDto {
    fn from(p: &Policy) -> Self {
        Self {
            lookup_records: p.lookup_records.iter().map(|r| Obj(r.into())).collect(),
            customer_routes: p.customer_routes.iter().map(|r| Obj(r.into())).collect(),
            provider_addresses: p.provider_addresses.iter().map(|r| Obj(r.into())).collect(),
            provider_routes: p.provider_routes.iter().map(|r| Obj(r.into())).collect(),
            hosts: p.hosts.iter().map(|r| Obj(r.into())).collect(),
        }
    }
}

impl From<&LookupRecord> for LookupRecordDto {
    fn from(r: &LookupRecord) -> Self {
        Self {
            customer_address: Text(r.customer_address),
            virtual_subnet_id: r.virtual_subnet_id,
            mac_address: Text(r.mac_address),
            provider_address: Text(r.provider_address),
            rule: Named(r.rule),
            record_type: Named(r.record_type),
            vm_name: r.vm_name.clone(),
            customer_id: r.customer_id.clone(),
            context: r.context.clone(),
            use_vm_mac_address: r.use_vm_mac_address,
        }
    }
}

impl From<&CustomerRoute> for CustomerRouteDto {
    fn from(r: &CustomerRoute) -> Self {
        Self {
            routing_domain_id: Text(r.routing_domain_id),
            virtual_subnet_id: r.virtual_subnet_id,
            destination_prefix: Text(r.destination_prefix),
            next_hop: Text(r.next_hop),
            metric: r.metric,
        }
    }
}

impl From<&ProviderAddress> for ProviderAddressDto {
    fn from(a: &ProviderAddress) -> Self {
        Self {
            provider_address: Text(a.provider_address),
            interface_index: a.interface_index,
            prefix_length: a.prefix_length,
            vlan_id: a.vlan_id,
        }
    }
}

impl From<&ProviderRoute> for ProviderRouteDto {
    fn from(r: &ProviderRoute) -> Self {
        Self {
            destination_prefix: Text(r.destination_prefix),
            interface_index: r.interface_index,
            next_hop: Text(r.next_hop),
            metric: r.metric,
        }
    }
}

impl From<&Host> for HostDto {
    fn from(h: &Host) -> Self {
        Self {
            name: h.name.clone(),
            provider_addresses: h.provider_addresses.iter().copied().map(Text).collect(),
            uplink: Obj(UplinkDto {
                interface: h.uplink.interface.clone(),
                mac_address: Text(h.uplink.mac_address),
                mtu: h.uplink.mtu,
            }),
            gateway_mac_address: Text(h.gateway_mac_address),
            neighbors: h
                .neighbors
                .iter()
                .map(|n| {
                    Obj(NeighborDto {
                        ip_address: Text(n.ip_address),
                        mac_address: Text(n.mac_address),
                    })
                })
                .collect(),
            ports: h
                .ports
                .iter()
                .map(|p| {
                    Obj(PortDto {
                        name: p.name.clone(),
                        mac_address: Text(p.mac_address),
                        virtual_subnet_id: p.virtual_subnet_id,
                        interface: p.interface.clone(),
                    })
                })
                .collect(),
        }
    }
}
