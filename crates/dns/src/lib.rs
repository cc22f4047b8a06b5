//! # gatehouse-dns: the DNS filter server
//!
//! The school's devices use Gatehouse as their DNS server. [`DnsServer::start`] listens
//! on UDP and TCP, serves only clients in the configured subnets (never an open
//! resolver), rate-limits each client, finds who is asking ([`identity`]), asks the
//! filter engine ([`gatehouse_filter::Engine::decide`]) and answers:
//!
//! - **blocked** (or warned) names: the block page address for A/AAAA, NODATA for other
//!   types, or NXDOMAIN for categories configured so ([`BlockMode`]);
//! - **safe-search** hosts: a CNAME to the enforcement host plus its addresses, or the
//!   enforcement address;
//! - **allowed** names: the upstream answer ([`Upstream`]: forwarding with a TTL cache,
//!   or a static address for benchmarks), replaced by the block answer when a CNAME
//!   target in it is blocked for this client.
//!
//! Each decision produces an [`ActivityEvent`] on a bounded queue ([`EventReceiver`]);
//! counters are in [`DnsStats`]. All DNS wire handling is in [`wire`], the only module
//! that uses `hickory-proto`. `docs/dns.md` describes configuration and behaviour.
//!
//! ```no_run
//! # async fn run(engine: std::sync::Arc<gatehouse_filter::EngineHandle>) -> Result<(), gatehouse_dns::DnsError> {
//! use std::sync::Arc;
//! use gatehouse_dns::{DnsConfig, DnsServer, NoIdentitySource};
//!
//! let config: DnsConfig = DnsConfig::default();
//! let (handle, mut events) = DnsServer::start(config, engine, Arc::new(NoIdentitySource)).await?;
//! tokio::spawn(async move {
//!     while let Some(batch) = events.recv_batch(500).await {
//!         // write the batch to the activity log
//!         drop(batch);
//!     }
//! });
//! println!("listening on {:?}", handle.udp_addrs());
//! handle.shutdown().await;
//! # Ok(()) }
//! ```

mod cache;
pub mod config;
pub mod events;
pub mod identity;
mod inflight;
mod limit;
pub mod server;
pub mod service;
mod upstream;
pub mod wire;

pub use config::{
    Binding, BlockMode, DnsConfig, DnsError, ForwardZone, LimitAction, RateLimit, Upstream,
};
pub use events::{ActivityEvent, DnsStats, EventReceiver, Transport};
/// Who is asking, as the filter engine knows them (re-exported for callers of
/// [`DnsService::handle_as`]).
pub use gatehouse_filter::Identity;
pub use identity::{IdentifiedBy, IdentityResolver, IdentitySource, NoIdentitySource};
pub use server::{DnsHandle, DnsServer};
pub use service::DnsService;
pub use wire::Rcode;
