//! The demo's clock. In `gatehouse demo` the head may move time forward to see what
//! happens later — a sanction ends, an agreement falls overdue, a breach's 72 hours run
//! out — without waiting for it. What the scheduled upkeep would have done meanwhile is
//! done at once. A real installation has no such clock: there, time is the computer's.

use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_domain::clock::{Clock, ShiftedClock};
use gatehouse_domain::permissions::{Action, Resource};
use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use std::sync::Arc;

/// What the demo's clock shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoTime {
    /// The demo's "now".
    pub now: Timestamp,
    /// How far ahead of the computer's clock that is.
    pub ahead: SignedDuration,
}

/// What moving the clock did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advanced {
    /// The clock after the move.
    pub time: DemoTime,
    /// Incident sanctions that ended on the way.
    pub sanctions_ended: usize,
}

impl Gatehouse {
    /// Run on `clock`, which the head may move forward: the demo's clock.
    #[must_use]
    pub fn with_demo_clock(mut self, clock: Arc<ShiftedClock>) -> Self {
        self.clock = clock.clone();
        self.demo_clock = Some(clock);
        self
    }

    /// What the demo's clock shows; `None` when this is not the demo.
    pub fn demo_time(&self, actor: &Actor) -> Result<Option<DemoTime>> {
        actor.require(Action::View, Resource::DemoClock)?;
        Ok(self.demo_clock.as_ref().map(|c| DemoTime {
            now: c.now(),
            ahead: c.ahead(),
        }))
    }

    /// Move the demo's clock forward by `hours`, then do what the upkeep would have done
    /// meanwhile: end the sanctions whose date has come and bring the filter up to date.
    pub async fn advance_demo_clock(&self, actor: &Actor, hours: i64) -> Result<Advanced> {
        actor.require(Action::Edit, Resource::DemoClock)?;
        let clock = self
            .demo_clock
            .as_ref()
            .ok_or_else(|| ServiceError::NotFound("the demo's clock".into()))?;
        if !clock.advance_hours(hours) {
            return Err(ServiceError::Invalid(format!(
                "hours: a whole number from 1 to {}",
                ShiftedClock::MAX_HOURS
            )));
        }
        let now = clock.now();
        self.store
            .append_audit(
                now,
                actor.event(
                    "demo.clock_advanced",
                    None,
                    json!({ "hours": hours, "now": now.to_string() }),
                ),
            )
            .await?;
        let sanctions_ended = self.end_expired_sanctions().await?;
        if self.filter.is_some() {
            self.refresh_filter().await?;
        }
        Ok(Advanced {
            time: DemoTime {
                now,
                ahead: clock.ahead(),
            },
            sanctions_ended,
        })
    }
}
