//! Time is injected: domain and service code ask a [`Clock`], never the system directly.

use jiff::Timestamp;
use std::sync::Mutex;

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until moved; for tests.
#[derive(Debug)]
pub struct FixedClock(Mutex<Timestamp>);

impl FixedClock {
    /// A clock showing `at`.
    pub fn new(at: Timestamp) -> Self {
        Self(Mutex::new(at))
    }

    /// Move the clock to `at`.
    pub fn set(&self, at: Timestamp) {
        if let Ok(mut t) = self.0.lock() {
            *t = at;
        }
    }

    /// Move the clock forward by `span`.
    pub fn advance(&self, span: jiff::SignedDuration) {
        if let Ok(mut t) = self.0.lock() {
            *t = t.saturating_add(span).unwrap_or(*t);
        }
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        self.0
            .lock()
            .map(|t| *t)
            .unwrap_or_else(|e| *e.into_inner())
    }
}

/// The computer's clock moved forward by an offset that only grows: the demo's clock,
/// which the head moves on to see what happens later (a sanction ends, a deadline
/// passes) without waiting for it.
#[derive(Debug, Default)]
pub struct ShiftedClock {
    /// Seconds ahead of the computer's clock.
    ahead: std::sync::atomic::AtomicI64,
}

impl ShiftedClock {
    /// The longest move at once: a school term.
    pub const MAX_HOURS: i64 = 24 * 7 * 16;

    /// How far ahead of the computer's clock it is.
    pub fn ahead(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_secs(self.ahead.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Move the clock forward by `hours` (1 to [`Self::MAX_HOURS`]); returns false
    /// and leaves it alone otherwise.
    pub fn advance_hours(&self, hours: i64) -> bool {
        if !(1..=Self::MAX_HOURS).contains(&hours) {
            return false;
        }
        self.ahead
            .fetch_add(hours * 3600, std::sync::atomic::Ordering::Relaxed);
        true
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        let now = Timestamp::now();
        now.saturating_add(self.ahead()).unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shifted_clock_moves_forward_only_by_whole_hours_within_a_term() {
        let c = ShiftedClock::default();
        assert_eq!(c.ahead(), jiff::SignedDuration::ZERO);
        let before = Timestamp::now();
        assert!(c.advance_hours(73));
        assert!(!c.advance_hours(0));
        assert!(!c.advance_hours(-5));
        assert!(!c.advance_hours(ShiftedClock::MAX_HOURS + 1));
        assert_eq!(c.ahead(), jiff::SignedDuration::from_hours(73));
        let shown = c.now();
        assert!(shown >= before + jiff::SignedDuration::from_hours(73));
        assert!(shown < Timestamp::now() + jiff::SignedDuration::from_hours(74));
    }
}
