//! The UDP and TCP listeners.
//!
//! [`DnsServer::start`] binds every configured address (port 0 picks a free port; the
//! bound addresses are in the returned [`DnsHandle`]). Each UDP socket has a receiving
//! task per core; a query whose answer is ready at once (blocked, cached, the static
//! upstream) is answered by that task, and one that waits for an upstream continues in
//! a task of its own, at most `max_in_flight` at once (more are dropped and counted), so
//! a slow upstream never stalls the listener. TCP has one accepting task; connections (at most
//! `max_tcp_connections`) carry length-prefixed messages answered in order and are
//! closed after `tcp_idle_ms` without a complete message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gatehouse_filter::EngineHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::timeout;

use crate::config::{DnsConfig, DnsError};
use crate::events::{DnsStats, EventReceiver, Transport};
use crate::identity::IdentitySource;
use crate::service::DnsService;

/// Starts the DNS listeners.
#[derive(Debug, Clone, Copy)]
pub struct DnsServer;

/// The running server: its addresses, counters and shutdown. Dropping the handle also
/// stops the listeners (without waiting for them).
#[derive(Debug)]
pub struct DnsHandle {
    udp: Vec<SocketAddr>,
    tcp: Vec<SocketAddr>,
    service: Arc<DnsService>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl DnsServer {
    /// Bind every listener of `config` and start serving; must be called inside a tokio
    /// runtime.
    pub async fn start(
        config: DnsConfig,
        engine: Arc<EngineHandle>,
        identity: Arc<dyn IdentitySource>,
    ) -> Result<(DnsHandle, EventReceiver), DnsError> {
        let (service, events) = DnsService::new(&config, engine, identity)?;
        let service = Arc::new(service);
        let (stop, stop_rx) = watch::channel(false);
        let in_flight = Arc::new(Semaphore::new(config.max_in_flight));
        let connections = Arc::new(Semaphore::new(config.max_tcp_connections));
        let idle = Duration::from_millis(config.tcp_idle_ms.max(1));
        let mut udp = Vec::new();
        let mut tcp = Vec::new();
        let mut sockets = Vec::new();
        let mut listeners = Vec::new();
        for addr in &config.udp {
            let bind = |source| DnsError::Bind {
                transport: "udp",
                addr: *addr,
                source,
            };
            let sock = UdpSocket::bind(addr).await.map_err(bind)?;
            udp.push(sock.local_addr().map_err(bind)?);
            sockets.push(sock);
        }
        for addr in &config.tcp {
            let bind = |source| DnsError::Bind {
                transport: "tcp",
                addr: *addr,
                source,
            };
            let listener = TcpListener::bind(addr).await.map_err(bind)?;
            tcp.push(listener.local_addr().map_err(bind)?);
            listeners.push(listener);
        }
        let mut tasks = Vec::new();
        // a receiving loop per core on each socket: each answers what it receives
        let loops = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        for sock in sockets {
            let sock = Arc::new(sock);
            for _ in 0..loops {
                tasks.push(tokio::spawn(udp_loop(
                    sock.clone(),
                    service.clone(),
                    in_flight.clone(),
                    stop_rx.clone(),
                )));
            }
        }
        for listener in listeners {
            tasks.push(tokio::spawn(tcp_loop(
                listener,
                service.clone(),
                connections.clone(),
                idle,
                stop_rx.clone(),
            )));
        }
        tracing::info!(?udp, ?tcp, "DNS filter listening");
        Ok((
            DnsHandle {
                udp,
                tcp,
                service,
                stop,
                tasks,
            },
            events,
        ))
    }
}

impl DnsHandle {
    /// The bound UDP addresses, in configuration order.
    pub fn udp_addrs(&self) -> &[SocketAddr] {
        &self.udp
    }

    /// The bound TCP addresses, in configuration order.
    pub fn tcp_addrs(&self) -> &[SocketAddr] {
        &self.tcp
    }

    /// The counters so far.
    pub fn stats(&self) -> DnsStats {
        self.service.stats()
    }

    /// The query handler (e.g. for a DoH endpoint).
    pub fn service(&self) -> Arc<DnsService> {
        self.service.clone()
    }

    /// Stop every listener and wait until their sockets are closed; queries in flight
    /// are abandoned.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for DnsHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

async fn udp_loop(
    sock: Arc<UdpSocket>,
    service: Arc<DnsService>,
    in_flight: Arc<Semaphore>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buf = vec![0u8; 65_535];
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            r = sock.recv_from(&mut buf) => {
                let (n, peer) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        tracing::debug!(error = %e, "udp receive failed");
                        continue;
                    }
                };
                let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                    service.count_overloaded();
                    continue;
                };
                let packet = buf.get(..n).unwrap_or_default().to_vec();
                let mut job = Box::pin(answer_udp(
                    sock.clone(),
                    service.clone(),
                    packet,
                    peer,
                    permit,
                ));
                // Most answers need no wait (blocked, cached, the static upstream): they
                // are finished here, without a task of their own; an answer that waits for
                // an upstream goes on as a task.
                let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
                if job.as_mut().poll(&mut cx).is_pending() {
                    tasks.spawn(job);
                }
            }
        }
    }
    tasks.shutdown().await;
}

/// Answer one UDP query and send the reply; `permit` is held until then.
async fn answer_udp(
    sock: Arc<UdpSocket>,
    service: Arc<DnsService>,
    packet: Vec<u8>,
    peer: SocketAddr,
    permit: OwnedSemaphorePermit,
) {
    let _permit = permit;
    if let Some(reply) = service.handle(&packet, peer.ip(), Transport::Udp).await
        && let Err(e) = sock.send_to(&reply, peer).await
    {
        tracing::debug!(error = %e, %peer, "udp send failed");
    }
}

async fn tcp_loop(
    listener: TcpListener,
    service: Arc<DnsService>,
    connections: Arc<Semaphore>,
    idle: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tasks = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            r = listener.accept() => {
                let (stream, peer) = match r {
                    Ok(x) => x,
                    Err(e) => {
                        // e.g. out of file descriptors: back off instead of spinning.
                        tracing::warn!(error = %e, "tcp accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(permit) = connections.clone().try_acquire_owned() else {
                    service.count_overloaded();
                    continue;
                };
                tasks.spawn(serve_connection(stream, peer, service.clone(), idle, permit));
            }
        }
    }
    tasks.shutdown().await;
}

async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    service: Arc<DnsService>,
    idle: Duration,
    _permit: OwnedSemaphorePermit,
) {
    loop {
        let mut len = [0u8; 2];
        if !matches!(timeout(idle, stream.read_exact(&mut len)).await, Ok(Ok(_))) {
            return;
        }
        let mut packet = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if !matches!(
            timeout(idle, stream.read_exact(&mut packet)).await,
            Ok(Ok(_))
        ) {
            return;
        }
        let Some(reply) = service.handle(&packet, peer.ip(), Transport::Tcp).await else {
            continue;
        };
        let Ok(n) = u16::try_from(reply.len()) else {
            continue;
        };
        let mut framed = Vec::with_capacity(reply.len() + 2);
        framed.extend_from_slice(&n.to_be_bytes());
        framed.extend_from_slice(&reply);
        if !matches!(timeout(idle, stream.write_all(&framed)).await, Ok(Ok(()))) {
            return;
        }
    }
}
