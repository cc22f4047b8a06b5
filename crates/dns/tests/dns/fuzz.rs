//! Property test of the packet handler: arbitrary bytes, and valid queries with bytes
//! changed, never panic and produce either nothing or a well-formed response.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, OnceLock};

use gatehouse_dns::{DnsService, NoIdentitySource, Transport};
use hickory_proto::op::{Message, MessageType};
use hickory_proto::rr::RecordType;
use proptest::prelude::*;

use crate::support::{config, engine, query_bytes};

fn check(
    service: &DnsService,
    rt: &tokio::runtime::Runtime,
    packet: &[u8],
) -> Result<(), TestCaseError> {
    let client = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for transport in [Transport::Udp, Transport::Tcp] {
        let reply = rt.block_on(service.handle(packet, client, transport));
        if let Some(bytes) = reply {
            let m = Message::from_vec(&bytes)
                .map_err(|e| TestCaseError::fail(format!("unparsable reply: {e}")))?;
            prop_assert_eq!(m.metadata.message_type, MessageType::Response);
            prop_assert_eq!(Some(&m.metadata.id.to_be_bytes()[..]), packet.get(..2));
            if transport == Transport::Udp {
                prop_assert!(bytes.len() <= 1232);
            }
        }
    }
    Ok(())
}

/// One handler and runtime for every case (building the engine per case is slow).
fn setup() -> &'static (DnsService, tokio::runtime::Runtime) {
    static SETUP: OnceLock<(DnsService, tokio::runtime::Runtime)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (service, _events) =
            DnsService::new(&config(), engine(), Arc::new(NoIdentitySource)).unwrap();
        (service, rt)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(packet in proptest::collection::vec(any::<u8>(), 0..600)) {
        let (service, rt) = setup();
        check(service, rt, &packet)?;
    }

    #[test]
    fn mutated_queries_never_panic(
        name in "[a-z]{1,10}\\.(example|bet\\.example|google\\.com)\\.",
        rtype in prop_oneof![Just(RecordType::A), Just(RecordType::AAAA), Just(RecordType::HTTPS), Just(RecordType::MX)],
        flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
        cut in any::<usize>(),
    ) {
        let mut packet = query_bytes(0x4242, &name, rtype);
        for (i, b) in flips {
            let n = packet.len();
            packet[i % n] = b;
        }
        let keep = packet.len() - cut % 4;
        packet.truncate(keep);
        let (service, rt) = setup();
        check(service, rt, &packet)?;
    }
}
