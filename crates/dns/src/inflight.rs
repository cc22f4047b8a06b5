//! Coalescing of identical upstream queries in flight.
//!
//! When many clients ask the same uncached question at once (every laptop in a class
//! opening the same site), only the first query goes upstream; the others wait for its
//! outcome. If the first is abandoned before it finishes, the waiting ones ask upstream
//! themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::wire::{Question, UpstreamMessage};

/// The outcome shared with waiting queries: the answer, or `None` when no upstream
/// answered.
pub type Outcome = Option<Arc<UpstreamMessage>>;

type Slot = watch::Receiver<Option<Outcome>>;

/// Questions being resolved right now.
#[derive(Debug, Default)]
pub struct InFlight {
    map: Mutex<HashMap<Question, Slot>>,
}

/// Whether this query resolves the question or waits for another.
pub enum Role<'a> {
    /// Resolve, then [`Leader::finish`].
    Leader(Leader<'a>),
    /// Wait with [`wait`].
    Follower(Slot),
}

/// The query that resolves a question; dropping it (finished or not) frees the slot.
pub struct Leader<'a> {
    inflight: &'a InFlight,
    question: Question,
    tx: watch::Sender<Option<Outcome>>,
}

impl InFlight {
    /// Join the resolution of `q`.
    pub fn join(&self, q: &Question) -> Role<'_> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = map.get(q) {
            return Role::Follower(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        map.insert(q.clone(), rx);
        Role::Leader(Leader {
            inflight: self,
            question: q.clone(),
            tx,
        })
    }

    /// Questions in flight.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

impl Leader<'_> {
    /// Hand the outcome to every waiting query.
    pub fn finish(self, outcome: Outcome) {
        self.tx.send_replace(Some(outcome));
    }
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        let mut map = self.inflight.map.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&self.question);
    }
}

/// Wait for the leader's outcome; `None` if the leader was abandoned without one.
pub async fn wait(mut slot: Slot) -> Option<Outcome> {
    match slot.wait_for(Option::is_some).await {
        Ok(v) => v.clone(),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::wire::{Rcode, rtype, test_message};

    #[tokio::test]
    async fn followers_get_the_leaders_outcome_and_the_slot_is_freed() {
        let f = InFlight::default();
        let q = Question::new("a.example", rtype::A);
        let Role::Leader(leader) = f.join(&q) else {
            panic!("first is the leader")
        };
        let Role::Follower(slot) = f.join(&q) else {
            panic!("second follows")
        };
        let msg = Arc::new(test_message("a.example", Rcode::NoError, &[60], None));
        leader.finish(Some(msg.clone()));
        assert_eq!(f.len(), 0);
        let got = wait(slot).await.unwrap().unwrap();
        assert!(Arc::ptr_eq(&got, &msg));
        assert!(matches!(f.join(&q), Role::Leader(_)));
    }

    #[tokio::test]
    async fn an_abandoned_leader_releases_its_followers() {
        let f = InFlight::default();
        let q = Question::new("a.example", rtype::A);
        let leader = f.join(&q);
        let Role::Follower(slot) = f.join(&q) else {
            panic!("second follows")
        };
        drop(leader);
        assert!(wait(slot).await.is_none());
        assert_eq!(f.len(), 0);
    }
}
