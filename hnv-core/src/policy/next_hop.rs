//! Next-hop selection, the question `Select-NetVirtualizationNextHop` answers: from a
//! source VSID and CA to a destination CA, where does the packet go?

use core::fmt;
use core::net::IpAddr;

use super::compile::{LookupEntry, LookupTable, RouteEntry, RouteTable, Tables};
use super::records::Rule;
use crate::ids::{MacAddr, Vsid};

/// Where a packet goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextHop {
    /// The customer route chosen (`None` when a GatewayWildcard record matched without one).
    pub route: Option<RouteEntry>,
    /// The CA whose record decides: the destination, or the gateway CA of the route.
    pub target_ca: IpAddr,
    /// The destination's VSID (written into the key or used to pick the local port).
    pub vsid: Vsid,
    /// The destination MAC (VM or gateway).
    pub mac: MacAddr,
    /// The destination's PA.
    pub pa: IpAddr,
    /// How to virtualize.
    pub rule: Rule,
    /// Local delivery to this port id, or `None` when the PA is remote.
    pub local_port: Option<usize>,
}

/// Why there is no next hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoNextHop {
    /// The source VSID is not known on this host.
    UnknownSourceVsid(Vsid),
    /// No customer route (and no GatewayWildcard record) covers the destination.
    NoRoute(IpAddr),
    /// The route's gateway CA is not on an on-link prefix.
    GatewayNotOnLink(IpAddr),
    /// No lookup record for the CA in the VSID; no L2Only PA to learn from.
    NoRecord {
        /// VSID searched.
        vsid: Vsid,
        /// CA searched.
        ca: IpAddr,
    },
    /// No record, but PAs with L2Only records can resolve it (dynamic learning).
    Learn {
        /// VSID searched.
        vsid: Vsid,
        /// CA searched.
        ca: IpAddr,
    },
    /// The record's VSID is in another routing domain than the source.
    CrossRoutingDomain(Vsid),
    /// The record is local but no port of this host has its MAC and VSID.
    NoLocalPort {
        /// VSID.
        vsid: Vsid,
        /// MAC.
        mac: MacAddr,
    },
}

impl fmt::Display for NoNextHop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnknownSourceVsid(v) => write!(f, "VSID {v} is not known on this host"),
            Self::NoRoute(a) => write!(f, "no customer route to {a}"),
            Self::GatewayNotOnLink(a) => write!(f, "gateway {a} is not on an on-link prefix"),
            Self::NoRecord { vsid, ca } => write!(f, "no lookup record for {ca} in VSID {vsid}"),
            Self::Learn { vsid, ca } => {
                write!(
                    f,
                    "{ca} in VSID {vsid} is unknown; L2Only PAs can resolve it"
                )
            }
            Self::CrossRoutingDomain(v) => write!(f, "VSID {v} is in another routing domain"),
            Self::NoLocalPort { vsid, mac } => {
                write!(f, "no local port with MAC {mac} in VSID {vsid}")
            }
        }
    }
}

impl Tables {
    /// Selects the next hop from `src_vsid` to `dst` (a CA).
    ///
    /// Route lookup in the source's routing domain; an on-link route names the destination
    /// VSID, a gateway route sends to the gateway CA's record; without a route, a
    /// GatewayWildcard record of the source VSID catches off-subnet traffic.
    pub fn select_next_hop(&self, src_vsid: Vsid, dst: IpAddr) -> Result<NextHop, NoNextHop> {
        let src = self
            .vsid(src_vsid)
            .ok_or(NoNextHop::UnknownSourceVsid(src_vsid))?;
        let rdid = src.rdid_index;
        let Some(route) = self.customer_route(rdid, dst).copied() else {
            let gw = src
                .gateways
                .first()
                .and_then(|&i| self.records().get(i as usize))
                .ok_or(NoNextHop::NoRoute(dst))?;
            return self.finish(None, dst, gw);
        };
        let (target_vsid, target_ca) = match route.next_hop {
            None => (route.vsid, dst),
            Some(gw) => match self.customer_route(rdid, gw) {
                Some(r) if r.next_hop.is_none() => (r.vsid, gw),
                _ => return Err(NoNextHop::GatewayNotOnLink(gw)),
            },
        };
        let target = self.vsid(target_vsid).ok_or(NoNextHop::NoRecord {
            vsid: target_vsid,
            ca: target_ca,
        })?;
        if target.rdid_index != rdid {
            return Err(NoNextHop::CrossRoutingDomain(target_vsid));
        }
        match self.by_ca(target_vsid, target_ca) {
            Some(rec) => self.finish(Some(route), target_ca, rec),
            None => match target
                .gateways
                .first()
                .and_then(|&i| self.records().get(i as usize))
            {
                Some(gw) => self.finish(Some(route), target_ca, gw),
                None if !target.l2only_pas.is_empty() => Err(NoNextHop::Learn {
                    vsid: target_vsid,
                    ca: target_ca,
                }),
                None => Err(NoNextHop::NoRecord {
                    vsid: target_vsid,
                    ca: target_ca,
                }),
            },
        }
    }

    fn finish(
        &self,
        route: Option<RouteEntry>,
        target_ca: IpAddr,
        rec: &LookupEntry,
    ) -> Result<NextHop, NoNextHop> {
        let local_port = if self.owns_pa(rec.pa) {
            let port = self
                .ports()
                .iter()
                .position(|p| p.mac == rec.mac && p.vsid == Some(rec.vsid))
                .ok_or(NoNextHop::NoLocalPort {
                    vsid: rec.vsid,
                    mac: rec.mac,
                })?;
            Some(port)
        } else {
            None
        };
        Ok(NextHop {
            route,
            target_ca,
            vsid: rec.vsid,
            mac: rec.mac,
            pa: rec.pa,
            rule: rec.rule,
            local_port,
        })
    }
}
