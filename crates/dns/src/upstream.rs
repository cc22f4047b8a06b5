//! Forwarding allowed queries to upstream resolvers.
//!
//! Each attempt sends the query over UDP from a fresh socket (a new random source port)
//! with a random message id, accepts only a response with the same id and question, and
//! retries over TCP to the same resolver when the answer is truncated. An attempt that
//! times out, fails or answers SERVFAIL moves on to the next resolver; the resolver that
//! answered last is tried first next time.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout_at};

use crate::wire::{self, Question, Rcode, UpstreamMessage};

/// Why no upstream answer was had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UpstreamError {
    /// Every resolver timed out, failed or answered SERVFAIL.
    #[error("no upstream resolver answered")]
    AllFailed,
    /// The question cannot be encoded.
    #[error("question cannot be encoded")]
    Encode,
}

/// A list of resolvers tried in order.
#[derive(Debug)]
pub struct Forwarder {
    servers: Vec<SocketAddr>,
    timeout: Duration,
    preferred: AtomicUsize,
}

/// Largest UDP answer accepted from a resolver.
const UDP_BUFFER: usize = 4096;

impl Forwarder {
    /// Forward to `servers`, waiting at most `timeout` for each.
    pub fn new(servers: Vec<SocketAddr>, timeout: Duration) -> Forwarder {
        Forwarder {
            servers,
            timeout,
            preferred: AtomicUsize::new(0),
        }
    }

    /// Resolve `q`; counts each attempt in `attempts` (for statistics).
    pub async fn resolve(
        &self,
        q: &Question,
        checking_disabled: bool,
        attempts: &std::sync::atomic::AtomicU64,
    ) -> Result<UpstreamMessage, UpstreamError> {
        let n = self.servers.len();
        let start = self.preferred.load(Ordering::Relaxed);
        for i in 0..n {
            let idx = (start + i) % n;
            let Some(server) = self.servers.get(idx) else {
                continue;
            };
            attempts.fetch_add(1, Ordering::Relaxed);
            let id: u16 = rand::random();
            let packet = wire::encode_upstream_query(id, q, checking_disabled)
                .ok_or(UpstreamError::Encode)?;
            let deadline = Instant::now() + self.timeout;
            match exchange(*server, &packet, id, q, deadline).await {
                Some(m) if m.rcode() != Rcode::ServFail => {
                    if idx != start {
                        self.preferred.store(idx, Ordering::Relaxed);
                    }
                    return Ok(m);
                }
                Some(_) | None => {
                    tracing::debug!(%server, name = %q.name, "upstream failed, trying the next");
                }
            }
        }
        Err(UpstreamError::AllFailed)
    }
}

async fn exchange(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    q: &Question,
    deadline: Instant,
) -> Option<UpstreamMessage> {
    let m = timeout_at(deadline, udp_exchange(server, packet, id, q))
        .await
        .ok()??;
    if !m.truncated() {
        return Some(m);
    }
    timeout_at(deadline, tcp_exchange(server, packet, id, q))
        .await
        .ok()?
}

async fn udp_exchange(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    q: &Question,
) -> Option<UpstreamMessage> {
    let local = match server.ip() {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    };
    let sock = UdpSocket::bind(local).await.ok()?;
    sock.connect(server).await.ok()?;
    sock.send(packet).await.ok()?;
    let mut buf = vec![0u8; UDP_BUFFER];
    loop {
        // A send error (e.g. ICMP port unreachable) ends the attempt; a stray or spoofed
        // packet is ignored and we keep waiting until the deadline.
        let n = sock.recv(&mut buf).await.ok()?;
        let Some(bytes) = buf.get(..n) else {
            continue;
        };
        if let Ok(m) = UpstreamMessage::parse(bytes)
            && m.id() == id
            && m.answers(q)
        {
            return Some(m);
        }
    }
}

async fn tcp_exchange(
    server: SocketAddr,
    packet: &[u8],
    id: u16,
    q: &Question,
) -> Option<UpstreamMessage> {
    let mut stream = TcpStream::connect(server).await.ok()?;
    let len = u16::try_from(packet.len()).ok()?;
    let mut framed = Vec::with_capacity(packet.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(packet);
    stream.write_all(&framed).await.ok()?;
    let mut len = [0u8; 2];
    stream.read_exact(&mut len).await.ok()?;
    let mut buf = vec![0u8; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buf).await.ok()?;
    let m = UpstreamMessage::parse(&buf).ok()?;
    (m.id() == id && m.answers(q)).then_some(m)
}
