//! The DNS wire format: parsing client queries and upstream answers, encoding replies.
//!
//! Every `hickory-proto` type stays inside this module; the rest of the crate works with
//! the small types defined here ([`Query`], [`Question`], [`Rr`], [`Reply`], [`Rcode`],
//! [`UpstreamMessage`], whose hickory message is private). Nothing here panics on bad
//! input: parsing returns [`Parsed::Drop`] or an error reply, encoding returns `None`
//! when even an error reply cannot be encoded.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_proto::op::{
    Edns, Header, Message, MessageType, OpCode, Query as HQuery, ResponseCode,
};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};

/// Record type numbers used by the server.
pub mod rtype {
    /// IPv4 address.
    pub const A: u16 = 1;
    /// Canonical name.
    pub const CNAME: u16 = 5;
    /// Start of authority.
    pub const SOA: u16 = 6;
    /// IPv6 address.
    pub const AAAA: u16 = 28;
    /// EDNS pseudo-record (never a valid question).
    pub const OPT: u16 = 41;
    /// Incremental zone transfer.
    pub const IXFR: u16 = 251;
    /// Zone transfer.
    pub const AXFR: u16 = 252;
    /// HTTPS service binding.
    pub const HTTPS: u16 = 65;
}

/// The Internet class.
pub const CLASS_IN: u16 = 1;

/// Largest UDP reply sent to a client that advertises a bigger EDNS buffer (the DNS
/// flag day 2020 value, avoids IP fragmentation).
pub const MAX_UDP_REPLY: usize = 1232;
/// Largest UDP reply to a client without EDNS.
pub const MIN_UDP_REPLY: usize = 512;

/// A DNS response code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    /// No error.
    NoError,
    /// The query was malformed.
    FormErr,
    /// The server failed (e.g. no upstream answered).
    ServFail,
    /// The name does not exist.
    NxDomain,
    /// Not implemented (e.g. an opcode other than QUERY).
    NotImp,
    /// Refused (client not served, rate limited, unsupported class).
    Refused,
    /// Any other code.
    Other(u16),
}

impl Rcode {
    fn from_hickory(code: ResponseCode) -> Rcode {
        match code {
            ResponseCode::NoError => Rcode::NoError,
            ResponseCode::FormErr => Rcode::FormErr,
            ResponseCode::ServFail => Rcode::ServFail,
            ResponseCode::NXDomain => Rcode::NxDomain,
            ResponseCode::NotImp => Rcode::NotImp,
            ResponseCode::Refused => Rcode::Refused,
            other => Rcode::Other(u16::from(other)),
        }
    }

    fn to_hickory(self) -> ResponseCode {
        match self {
            Rcode::NoError => ResponseCode::NoError,
            Rcode::FormErr => ResponseCode::FormErr,
            Rcode::ServFail => ResponseCode::ServFail,
            Rcode::NxDomain => ResponseCode::NXDomain,
            Rcode::NotImp => ResponseCode::NotImp,
            Rcode::Refused => ResponseCode::Refused,
            Rcode::Other(n) => <ResponseCode as From<u16>>::from(n),
        }
    }
}

impl fmt::Display for Rcode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rcode::NoError => f.write_str("NOERROR"),
            Rcode::FormErr => f.write_str("FORMERR"),
            Rcode::ServFail => f.write_str("SERVFAIL"),
            Rcode::NxDomain => f.write_str("NXDOMAIN"),
            Rcode::NotImp => f.write_str("NOTIMP"),
            Rcode::Refused => f.write_str("REFUSED"),
            Rcode::Other(n) => write!(f, "RCODE{n}"),
        }
    }
}

/// The mnemonic of a record type (`A`, `AAAA`, `HTTPS`, or `TYPE1234`).
pub fn type_name(qtype: u16) -> String {
    RecordType::from(qtype).to_string()
}

/// A question: name (lower-case, presentation form, no trailing dot; empty for the
/// root), type and class. Used as the cache key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Question {
    /// The queried name.
    pub name: String,
    /// Record type number.
    pub qtype: u16,
    /// Class number.
    pub qclass: u16,
}

impl Question {
    /// A question of class IN.
    pub fn new(name: &str, qtype: u16) -> Question {
        Question {
            name: name.trim_end_matches('.').to_ascii_lowercase(),
            qtype,
            qclass: CLASS_IN,
        }
    }
}

fn name_string(name: &Name) -> String {
    let s = name.to_lowercase().to_ascii();
    s.trim_end_matches('.').to_owned()
}

fn to_name(s: &str) -> Option<Name> {
    if s.is_empty() {
        return Some(Name::root());
    }
    Name::from_ascii(format!("{}.", s.trim_end_matches('.'))).ok()
}

/// A parsed client query with exactly one question of class IN and opcode QUERY.
#[derive(Debug, Clone)]
pub struct Query {
    /// Message id.
    pub id: u16,
    /// The question.
    pub question: Question,
    /// Recursion desired flag.
    pub recursion_desired: bool,
    /// Checking disabled flag.
    pub checking_disabled: bool,
    /// The EDNS UDP payload size, when the query had an OPT record.
    pub edns_payload: Option<u16>,
    /// The question as sent (case kept, echoed in the reply).
    original: HQuery,
}

impl Query {
    /// Largest reply for this query over UDP.
    pub fn max_udp_reply(&self) -> usize {
        match self.edns_payload {
            Some(p) => usize::from(p).clamp(MIN_UDP_REPLY, MAX_UDP_REPLY),
            None => MIN_UDP_REPLY,
        }
    }
}

/// Why a packet was answered with an error instead of being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The message could not be parsed or had QDCOUNT != 1 (FORMERR).
    Malformed,
    /// An opcode other than QUERY (NOTIMP), a class other than IN or a zone transfer
    /// (REFUSED).
    Unsupported,
}

/// The result of [`parse_query`].
#[derive(Debug)]
pub enum Parsed {
    /// A query to serve.
    Query(Query),
    /// Answer with this pre-encoded error reply.
    Reject {
        /// Why.
        reason: RejectReason,
        /// The encoded reply (`None` if it could not be encoded: drop).
        reply: Option<Vec<u8>>,
    },
    /// Not worth an answer (shorter than a header, or a response rather than a query).
    Drop,
}

/// Parse a client's packet.
pub fn parse_query(bytes: &[u8]) -> Parsed {
    let Some(header) = read_header(bytes) else {
        return Parsed::Drop;
    };
    let meta = header.metadata;
    if meta.message_type != MessageType::Query {
        return Parsed::Drop;
    }
    if meta.op_code != OpCode::Query {
        return Parsed::Reject {
            reason: RejectReason::Unsupported,
            reply: error_message(
                meta.id,
                meta.op_code,
                meta.recursion_desired,
                None,
                None,
                Rcode::NotImp,
            ),
        };
    }
    let msg = match Message::from_vec(bytes) {
        Ok(m) => m,
        Err(_) => {
            return Parsed::Reject {
                reason: RejectReason::Malformed,
                reply: error_message(
                    meta.id,
                    meta.op_code,
                    meta.recursion_desired,
                    None,
                    None,
                    Rcode::FormErr,
                ),
            };
        }
    };
    let edns_payload = msg.edns.as_ref().map(Edns::max_payload);
    let [q] = msg.queries.as_slice() else {
        return Parsed::Reject {
            reason: RejectReason::Malformed,
            reply: error_message(
                meta.id,
                meta.op_code,
                meta.recursion_desired,
                None,
                edns_payload,
                Rcode::FormErr,
            ),
        };
    };
    let qtype = u16::from(q.query_type());
    let qclass = u16::from(q.query_class());
    if qclass != CLASS_IN || matches!(qtype, rtype::OPT | rtype::AXFR | rtype::IXFR) {
        return Parsed::Reject {
            reason: RejectReason::Unsupported,
            reply: error_message(
                meta.id,
                meta.op_code,
                meta.recursion_desired,
                Some(q),
                edns_payload,
                Rcode::Refused,
            ),
        };
    }
    Parsed::Query(Query {
        id: meta.id,
        question: Question {
            name: name_string(q.name()),
            qtype,
            qclass,
        },
        recursion_desired: meta.recursion_desired,
        checking_disabled: meta.checking_disabled,
        edns_payload,
        original: q.clone(),
    })
}

fn read_header(bytes: &[u8]) -> Option<Header> {
    if bytes.len() < 12 {
        return None;
    }
    let mut decoder = BinDecoder::new(bytes);
    Header::read(&mut decoder).ok()
}

/// An error reply (`rcode`, no records) to whatever `bytes` asked, echoing the question
/// when the message parses with exactly one; `None` for packets not worth an answer.
pub fn error_reply_for(bytes: &[u8], rcode: Rcode) -> Option<Vec<u8>> {
    let header = read_header(bytes)?;
    let meta = header.metadata;
    if meta.message_type != MessageType::Query {
        return None;
    }
    let parsed = Message::from_vec(bytes).ok();
    let question = parsed.as_ref().and_then(|m| match m.queries.as_slice() {
        [q] => Some(q.clone()),
        _ => None,
    });
    let edns = parsed
        .as_ref()
        .and_then(|m| m.edns.as_ref().map(Edns::max_payload));
    error_message(
        meta.id,
        meta.op_code,
        meta.recursion_desired,
        question.as_ref(),
        edns,
        rcode,
    )
}

fn error_message(
    id: u16,
    op: OpCode,
    rd: bool,
    question: Option<&HQuery>,
    edns_payload: Option<u16>,
    rcode: Rcode,
) -> Option<Vec<u8>> {
    let mut msg = Message::error_msg(id, op, rcode.to_hickory());
    msg.metadata.recursion_desired = rd;
    msg.metadata.recursion_available = true;
    if let Some(q) = question {
        msg.add_query(q.clone());
    }
    if edns_payload.is_some() {
        msg.set_edns(reply_edns());
    }
    msg.to_vec().ok()
}

fn reply_edns() -> Edns {
    let mut e = Edns::new();
    e.set_max_payload(MAX_UDP_REPLY as u16);
    e
}

/// Data of a record the server makes up itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RrData {
    /// IPv4 address.
    A(Ipv4Addr),
    /// IPv6 address.
    Aaaa(Ipv6Addr),
    /// Canonical name (presentation form).
    Cname(String),
}

/// A record the server makes up itself (block page, safe-search rewrite, static
/// upstream).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// Owner name.
    pub name: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// Data.
    pub data: RrData,
}

impl Rr {
    fn to_record(&self) -> Option<Record> {
        let name = to_name(&self.name)?;
        let data = match &self.data {
            RrData::A(a) => RData::A(A(*a)),
            RrData::Aaaa(a) => RData::AAAA(AAAA(*a)),
            RrData::Cname(t) => RData::CNAME(CNAME(to_name(t)?)),
        };
        Some(Record::from_rdata(name, self.ttl, data))
    }
}

/// What to answer a [`Query`] with.
#[derive(Debug)]
pub enum Reply<'a> {
    /// A locally made answer.
    Local {
        /// Response code.
        rcode: Rcode,
        /// Answer records.
        records: Vec<Rr>,
    },
    /// An upstream answer, with `prefix` records put before its answers (a safe-search
    /// CNAME) and `age` seconds taken off every TTL (time spent in the cache).
    Upstream {
        /// The upstream message.
        message: &'a UpstreamMessage,
        /// Records before the upstream answers.
        prefix: Vec<Rr>,
        /// Seconds in the cache.
        age: u32,
    },
}

/// Encode the reply to `query`; a reply longer than `max_size` is sent without records
/// and with the TC flag (the client retries over TCP). `None` only if nothing at all can
/// be encoded.
pub fn encode_reply(query: &Query, reply: &Reply<'_>, max_size: usize) -> Option<Vec<u8>> {
    let mut msg = Message::response(query.id, OpCode::Query);
    msg.metadata.recursion_desired = query.recursion_desired;
    msg.metadata.recursion_available = true;
    msg.metadata.checking_disabled = query.checking_disabled;
    msg.add_query(query.original.clone());
    if query.edns_payload.is_some() {
        msg.set_edns(reply_edns());
    }
    let built = match reply {
        Reply::Local { rcode, records } => {
            msg.metadata.response_code = rcode.to_hickory();
            records
                .iter()
                .map(Rr::to_record)
                .collect::<Option<Vec<_>>>()
                .map(|rs| {
                    msg.add_answers(rs);
                })
        }
        Reply::Upstream {
            message,
            prefix,
            age,
        } => {
            msg.metadata.response_code = message.msg.metadata.response_code;
            prefix
                .iter()
                .map(Rr::to_record)
                .collect::<Option<Vec<_>>>()
                .map(|rs| {
                    msg.add_answers(rs);
                    msg.add_answers(message.msg.answers.iter().map(|r| aged(r, *age)));
                    msg.add_authorities(message.msg.authorities.iter().map(|r| aged(r, *age)));
                })
        }
    };
    if built.is_none() {
        msg.answers.clear();
        msg.authorities.clear();
        msg.metadata.response_code = ResponseCode::ServFail;
    }
    let bytes = match msg.to_vec() {
        Ok(b) => b,
        Err(_) => {
            // A record that decodes but does not encode again: SERVFAIL, not silence.
            msg.answers.clear();
            msg.authorities.clear();
            msg.metadata.response_code = ResponseCode::ServFail;
            msg.to_vec().ok()?
        }
    };
    if bytes.len() <= max_size {
        return Some(bytes);
    }
    msg.answers.clear();
    msg.authorities.clear();
    msg.additionals.clear();
    msg.metadata.truncation = true;
    msg.to_vec().ok().filter(|b| b.len() <= max_size)
}

fn aged(r: &Record, age: u32) -> Record {
    let mut r = r.clone();
    r.ttl = r.ttl.saturating_sub(age);
    r
}

/// Encode a recursive query for `question` with message id `id`.
pub fn encode_upstream_query(
    id: u16,
    question: &Question,
    checking_disabled: bool,
) -> Option<Vec<u8>> {
    let name = to_name(&question.name)?;
    let mut q = HQuery::query(name, RecordType::from(question.qtype));
    q.set_query_class(DNSClass::from(question.qclass));
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.metadata.checking_disabled = checking_disabled;
    msg.add_query(q);
    msg.set_edns(reply_edns());
    msg.to_vec().ok()
}

/// A parsed upstream answer (kept in the cache).
#[derive(Debug, Clone)]
pub struct UpstreamMessage {
    msg: Message,
}

/// An upstream packet that is not a DNS response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a DNS response")]
pub struct NotAResponse;

/// Longest time any answer is cached (one day).
pub const MAX_CACHE_TTL: u32 = 86_400;
/// Longest time a negative answer is cached (RFC 2308 suggests one to three hours).
pub const MAX_NEGATIVE_TTL: u32 = 3 * 3600;

impl UpstreamMessage {
    /// Parse an upstream packet.
    pub fn parse(bytes: &[u8]) -> Result<UpstreamMessage, NotAResponse> {
        let msg = Message::from_vec(bytes).map_err(|_| NotAResponse)?;
        if msg.metadata.message_type != MessageType::Response {
            return Err(NotAResponse);
        }
        Ok(UpstreamMessage { msg })
    }

    /// Message id.
    pub fn id(&self) -> u16 {
        self.msg.metadata.id
    }

    /// Whether the TC flag is set.
    pub fn truncated(&self) -> bool {
        self.msg.metadata.truncation
    }

    /// Response code.
    pub fn rcode(&self) -> Rcode {
        Rcode::from_hickory(self.msg.metadata.response_code)
    }

    /// Whether the message echoes exactly `question` (name compared without case).
    pub fn answers(&self, question: &Question) -> bool {
        match self.msg.queries.as_slice() {
            [q] => {
                name_string(q.name()) == question.name
                    && u16::from(q.query_type()) == question.qtype
                    && u16::from(q.query_class()) == question.qclass
            }
            _ => false,
        }
    }

    /// Targets of the CNAME records in the answer section (lower-case, no trailing dot).
    pub fn cname_targets(&self) -> Vec<String> {
        self.msg
            .answers
            .iter()
            .filter_map(|r| match &r.data {
                RData::CNAME(c) => Some(name_string(&c.0)),
                _ => None,
            })
            .collect()
    }

    /// Number of answer records.
    pub fn answer_count(&self) -> usize {
        self.msg.answers.len()
    }

    /// How long this answer may be cached: the smallest answer TTL for a positive answer;
    /// for NXDOMAIN and NODATA the smaller of the SOA's TTL and its MINIMUM field (RFC 2308
    /// section 5); `None` (do not cache) for other codes, truncated answers, and negative
    /// answers without an SOA.
    pub fn cache_ttl(&self) -> Option<u32> {
        if self.truncated() {
            return None;
        }
        let rcode = self.rcode();
        let positive = rcode == Rcode::NoError && !self.msg.answers.is_empty();
        if positive {
            let ttl = self.msg.answers.iter().map(|r| r.ttl).min()?;
            return (ttl > 0).then_some(ttl.min(MAX_CACHE_TTL));
        }
        if !matches!(rcode, Rcode::NoError | Rcode::NxDomain) {
            return None;
        }
        let ttl = self
            .msg
            .authorities
            .iter()
            .filter_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .min()?;
        (ttl > 0).then_some(ttl.min(MAX_NEGATIVE_TTL))
    }
}

/// How long an encoded reply may be kept by an HTTP cache (RFC 8484 section 5.1): the
/// smallest TTL of its answer records, or for an answer without records the smaller of
/// its SOA record's TTL and MINIMUM field; `None` when it has neither (nothing to say how
/// long it holds) or does not parse.
pub fn reply_ttl(reply: &[u8]) -> Option<u32> {
    let msg = Message::from_vec(reply).ok()?;
    if let Some(ttl) = msg.answers.iter().map(|r| r.ttl).min() {
        return Some(ttl);
    }
    msg.authorities
        .iter()
        .filter_map(|r| match &r.data {
            RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
            _ => None,
        })
        .min()
}

/// Upstream messages for unit tests of other modules (which see no hickory type).
#[cfg(test)]
pub(crate) fn test_message(
    name: &str,
    rcode: Rcode,
    answer_ttls: &[u32],
    soa: Option<(u32, u32)>,
) -> UpstreamMessage {
    use hickory_proto::rr::rdata::SOA;
    let owner = to_name(name).unwrap_or_else(Name::root);
    let mut msg = Message::response(1, OpCode::Query);
    msg.metadata.response_code = rcode.to_hickory();
    msg.add_query(HQuery::query(owner.clone(), RecordType::A));
    for (i, ttl) in answer_ttls.iter().enumerate() {
        let a = Ipv4Addr::new(192, 0, 2, u8::try_from(i).unwrap_or(0));
        msg.add_answer(Record::from_rdata(owner.clone(), *ttl, RData::A(A(a))));
    }
    if let Some((ttl, minimum)) = soa {
        let soa = SOA::new(Name::root(), Name::root(), 1, 3600, 600, 86_400, minimum);
        msg.add_authority(Record::from_rdata(Name::root(), ttl, RData::SOA(soa)));
    }
    UpstreamMessage { msg }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cache_ttl_follows_rfc_2308() {
        let m = |rcode, ttls: &[u32], soa| test_message("a.example", rcode, ttls, soa);
        assert_eq!(m(Rcode::NoError, &[300, 60], None).cache_ttl(), Some(60));
        assert_eq!(m(Rcode::NoError, &[0], None).cache_ttl(), None);
        assert_eq!(
            m(Rcode::NoError, &[10 * MAX_CACHE_TTL], None).cache_ttl(),
            Some(MAX_CACHE_TTL)
        );
        // Negative: the smaller of the SOA's TTL and its MINIMUM.
        assert_eq!(
            m(Rcode::NxDomain, &[], Some((300, 120))).cache_ttl(),
            Some(120)
        );
        assert_eq!(
            m(Rcode::NoError, &[], Some((30, 120))).cache_ttl(),
            Some(30)
        );
        assert_eq!(
            m(Rcode::NxDomain, &[], Some((86_400, 86_400))).cache_ttl(),
            Some(MAX_NEGATIVE_TTL)
        );
        // No SOA: a negative answer is not cached; nor is SERVFAIL or REFUSED.
        assert_eq!(m(Rcode::NxDomain, &[], None).cache_ttl(), None);
        assert_eq!(m(Rcode::ServFail, &[], Some((300, 300))).cache_ttl(), None);
        assert_eq!(m(Rcode::Refused, &[300], None).cache_ttl(), None);
    }

    #[test]
    fn reply_ttl_is_the_smallest_answer_ttl_or_the_soa_minimum() {
        let bytes = |rcode, ttls: &[u32], soa| {
            test_message("a.example", rcode, ttls, soa)
                .msg
                .to_vec()
                .unwrap()
        };
        assert_eq!(
            reply_ttl(&bytes(Rcode::NoError, &[300, 60], None)),
            Some(60)
        );
        assert_eq!(
            reply_ttl(&bytes(Rcode::NxDomain, &[], Some((300, 120)))),
            Some(120)
        );
        assert_eq!(reply_ttl(&bytes(Rcode::NoError, &[], None)), None);
        assert_eq!(reply_ttl(b"not dns"), None);
    }

    #[test]
    fn upstream_message_must_echo_the_question() {
        let m = test_message("A.Example", Rcode::NoError, &[60], None);
        assert!(m.answers(&Question::new("a.example.", rtype::A)));
        assert!(!m.answers(&Question::new("b.example", rtype::A)));
        assert!(!m.answers(&Question::new("a.example", rtype::AAAA)));
    }

    #[test]
    fn local_reply_round_trips() {
        let Parsed::Query(q) = parse_query(
            &encode_upstream_query(7, &Question::new("x.example", rtype::A), false).unwrap(),
        ) else {
            panic!("query expected");
        };
        assert_eq!(q.question, Question::new("x.example", rtype::A));
        assert_eq!(q.edns_payload, Some(MAX_UDP_REPLY as u16));
        let reply = Reply::Local {
            rcode: Rcode::NoError,
            records: vec![Rr {
                name: "x.example".into(),
                ttl: 5,
                data: RrData::Cname("y.example".into()),
            }],
        };
        let bytes = encode_reply(&q, &reply, MAX_UDP_REPLY).unwrap();
        let back = Message::from_vec(&bytes).unwrap();
        assert_eq!(back.metadata.id, 7);
        assert_eq!(back.answers.len(), 1);
        assert_eq!(back.answers.first().map(|r| r.ttl), Some(5));
    }
}
