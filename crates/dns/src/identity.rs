//! Who is asking: mapping a client address to an [`Identity`].
//!
//! The order is (1) and (2) a pluggable [`IdentitySource`] (portal sign-in binding an IP
//! to a person, DoH device tokens; supplied by the integrator), then (3) the static
//! subnet → group [`Binding`]s of the configuration (most specific subnet wins), then (4)
//! the configured unidentified group.

use std::net::IpAddr;
use std::sync::Arc;

use gatehouse_filter::Identity;
use ipnet::IpNet;

use crate::config::Binding;

/// A dynamic source of identities, consulted before the static bindings.
pub trait IdentitySource: Send + Sync + 'static {
    /// The identity of `client`, if this source knows it.
    fn identify(&self, client: IpAddr) -> Option<Identity>;
}

/// A source that knows nobody (for deployments without sign-in yet).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoIdentitySource;

impl IdentitySource for NoIdentitySource {
    fn identify(&self, _client: IpAddr) -> Option<Identity> {
        None
    }
}

impl<F> IdentitySource for F
where
    F: Fn(IpAddr) -> Option<Identity> + Send + Sync + 'static,
{
    fn identify(&self, client: IpAddr) -> Option<Identity> {
        self(client)
    }
}

/// Which step of the order identified a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentifiedBy {
    /// Given by the caller of [`crate::DnsService::handle_as`] (e.g. a DoH device token).
    Caller,
    /// The pluggable [`IdentitySource`].
    Source,
    /// A static binding (its name, or its subnet when unnamed).
    Binding(Arc<str>),
    /// Nobody: the unidentified group.
    Unidentified,
}

impl std::fmt::Display for IdentifiedBy {
    /// `caller`, `source`, `binding:NAME` or `unidentified`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentifiedBy::Caller => f.write_str("caller"),
            IdentifiedBy::Source => f.write_str("source"),
            IdentifiedBy::Binding(name) => write!(f, "binding:{name}"),
            IdentifiedBy::Unidentified => f.write_str("unidentified"),
        }
    }
}

/// Resolves clients in the documented order.
pub struct IdentityResolver {
    source: Arc<dyn IdentitySource>,
    bindings: Vec<(IpNet, Arc<str>, Identity)>,
    unidentified: Identity,
}

impl std::fmt::Debug for IdentityResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityResolver")
            .field("bindings", &self.bindings)
            .field("unidentified", &self.unidentified)
            .finish_non_exhaustive()
    }
}

impl IdentityResolver {
    /// Build from the pluggable source, the static bindings and the unidentified group.
    pub fn new(
        source: Arc<dyn IdentitySource>,
        bindings: &[Binding],
        unidentified_group: &str,
    ) -> IdentityResolver {
        let mut bindings: Vec<(IpNet, Arc<str>, Identity)> = bindings
            .iter()
            .map(|b| {
                let net = b.subnet.trunc();
                let name = if b.name.is_empty() {
                    net.to_string()
                } else {
                    b.name.clone()
                };
                (net, Arc::from(name), Identity::group(&b.group))
            })
            .collect();
        // Most specific first; a stable sort keeps the configured order among equals.
        bindings.sort_by_key(|(net, _, _)| std::cmp::Reverse(net.prefix_len()));
        IdentityResolver {
            source,
            bindings,
            unidentified: Identity::group(unidentified_group),
        }
    }

    /// The group of clients nobody identified.
    pub fn unidentified_group(&self) -> &str {
        &self.unidentified.group
    }

    /// The identity of `client` and which step found it.
    pub fn resolve(&self, client: IpAddr) -> (Identity, IdentifiedBy) {
        let client = client.to_canonical();
        if let Some(id) = self.source.identify(client) {
            return (id, IdentifiedBy::Source);
        }
        for (net, name, id) in &self.bindings {
            if net.contains(&client) {
                return (id.clone(), IdentifiedBy::Binding(name.clone()));
            }
        }
        (self.unidentified.clone(), IdentifiedBy::Unidentified)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn binding(subnet: &str, group: &str) -> Binding {
        Binding {
            name: String::new(),
            subnet: subnet.parse().unwrap(),
            group: group.to_owned(),
        }
    }

    #[test]
    fn most_specific_binding_wins_and_mapped_v4_is_matched() {
        let r = IdentityResolver::new(
            Arc::new(NoIdentitySource),
            &[
                binding("10.0.0.0/8", "ks2"),
                binding("10.0.1.0/24", "staff"),
            ],
            "unidentified",
        );
        let (id, by) = r.resolve("10.0.1.7".parse().unwrap());
        assert_eq!(id.group, "staff");
        assert_eq!(by, IdentifiedBy::Binding(Arc::from("10.0.1.0/24")));
        let (id, _) = r.resolve("::ffff:10.0.2.7".parse().unwrap());
        assert_eq!(id.group, "ks2");
        let (id, by) = r.resolve("192.0.2.1".parse().unwrap());
        assert_eq!(id.group, "unidentified");
        assert_eq!(by, IdentifiedBy::Unidentified);
    }
}
