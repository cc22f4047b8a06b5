//! School devices that use the DNS filter over HTTPS from outside the school's network.
//!
//! An IT administrator registers a device and is shown its DNS-over-HTTPS token once; only
//! the token's SHA-256 is stored. Each DoH query carrying the token is filtered as the
//! device's assigned person (their group by key stage, [`filter_group`]) or assigned
//! group, and logged with the device. Revoking a device stops its token at once.

use crate::secrets::{random_hex, sha256_hex};
use crate::{Actor, Gatehouse, Result, ServiceError};
use gatehouse_domain::devices::{DeviceKind, DeviceName, parse_asset_tag, parse_group_name};
use gatehouse_domain::filtering::filter_group;
use gatehouse_domain::permissions::{Action, Resource};
use gatehouse_store::{Device, DeviceAssignment, NewDevice, StoreError};
use jiff::SignedDuration;

/// Bytes of randomness in a device token (shown as 64 hex digits).
pub const TOKEN_BYTES: usize = 32;

/// How often a device's "last seen" time is written (at most once in this long).
const SEEN_EVERY: SignedDuration = SignedDuration::from_mins(5);

/// Whom a device is to be assigned to, as given in a form or on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// Nobody: the policy for unidentified devices applies.
    Nobody,
    /// A person by id.
    PersonId(i64),
    /// The person of this sign-in account.
    Username(String),
    /// A filtering group (policy name).
    Group(String),
}

/// A device to register.
#[derive(Debug, Clone)]
pub struct DeviceRequest {
    /// Its name, e.g. "Laptop 14".
    pub name: String,
    /// What sort of device.
    pub kind: DeviceKind,
    /// Serial number or asset tag (may be empty).
    pub asset_tag: String,
    /// Whom it is assigned to.
    pub assignee: Assignee,
}

/// A device just registered: its token is shown once and never again.
#[derive(Debug, Clone)]
pub struct RegisteredDevice {
    /// The device's id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The DNS-over-HTTPS token (the last part of the device's DoH address).
    pub token: String,
}

/// Who a valid device token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// The device's id.
    pub device_id: i64,
    /// The device's name (what the activity log records).
    pub device_name: String,
    /// The assigned person, if any.
    pub person_id: Option<i64>,
    /// The filtering group: the assigned group, or the assigned person's; `None` when
    /// nobody is assigned or the person has no group (a leaver, a pupil without a year
    /// group): the policy for unidentified devices applies.
    pub group: Option<String>,
}

/// Whether `token` has the shape of a device token (64 hex digits), so that anything
/// else is turned away without a database lookup.
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == TOKEN_BYTES * 2 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

fn store_error(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(what) => ServiceError::Invalid(format!(
            "name: {what} is already used by another device; choose another name or revoke that device first"
        )),
        StoreError::NotFound(what) => ServiceError::NotFound(what),
        StoreError::Refused(why) => ServiceError::Invalid(why),
        other => ServiceError::Store(other),
    }
}

impl Gatehouse {
    /// The assignment `assignee` stands for: usernames are looked up, people must be of
    /// the school and not have left.
    async fn assignment(&self, school: i64, assignee: &Assignee) -> Result<DeviceAssignment> {
        let person = match assignee {
            Assignee::Nobody => return Ok(DeviceAssignment::Nobody),
            Assignee::Group(g) => return Ok(DeviceAssignment::Group(parse_group_name(g)?)),
            Assignee::PersonId(id) => *id,
            Assignee::Username(u) => {
                let account = self
                    .store
                    .account_by_username(u.trim())
                    .await?
                    .filter(|a| a.school_id == school)
                    .ok_or_else(|| {
                        ServiceError::Invalid(format!("person: there is no account '{}'", u.trim()))
                    })?;
                account.person_id.ok_or_else(|| {
                    ServiceError::Invalid(format!(
                        "person: the account '{}' is not linked to a person; give a person id or a group",
                        account.username
                    ))
                })?
            }
        };
        match self.store.person(school, person).await? {
            Some(r) if r.person.active => Ok(DeviceAssignment::Person(person)),
            Some(_) => Err(ServiceError::Invalid(format!(
                "person: person {person} has left the school"
            ))),
            None => Err(ServiceError::Invalid(format!(
                "person: there is no person {person}"
            ))),
        }
    }

    /// Register a device; returns its token, to be shown once.
    pub async fn register_device(
        &self,
        actor: &Actor,
        req: &DeviceRequest,
    ) -> Result<RegisteredDevice> {
        actor.require(Action::Edit, Resource::Devices)?;
        let school = self.school().await?;
        let name = DeviceName::parse(&req.name)?;
        let asset_tag = parse_asset_tag(&req.asset_tag)?;
        let assignment = self.assignment(school.id, &req.assignee).await?;
        let token = random_hex(TOKEN_BYTES);
        let event = actor.event(
            "device.register",
            None,
            serde_json::json!({
                "name": name.as_str(),
                "kind": req.kind,
                "asset_tag": asset_tag,
                "assigned": assignment,
            }),
        );
        let new = NewDevice {
            school_id: school.id,
            name: name.as_str().to_owned(),
            kind: req.kind,
            asset_tag,
            assignment,
            token_hash: sha256_hex(&token),
        };
        let id = self
            .store
            .register_device(&new, self.clock.now(), event)
            .await
            .map_err(store_error)?;
        Ok(RegisteredDevice {
            id,
            name: new.name,
            token,
        })
    }

    /// The school's devices (revoked ones last, when asked for).
    pub async fn devices(&self, actor: &Actor, include_revoked: bool) -> Result<Vec<Device>> {
        actor.require(Action::View, Resource::Devices)?;
        let school = self.school().await?;
        Ok(self.store.devices(school.id, include_revoked).await?)
    }

    /// Revoke a device: its token stops working at once.
    pub async fn revoke_device(&self, actor: &Actor, id: i64) -> Result<Device> {
        actor.require(Action::Edit, Resource::Devices)?;
        let school = self.school().await?;
        let device = self
            .store
            .device(school.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("device {id}")))?;
        let event = actor.event(
            "device.revoke",
            Some(format!("device:{id}")),
            serde_json::json!({ "name": device.name }),
        );
        self.store
            .revoke_device(school.id, id, self.clock.now(), event)
            .await
            .map_err(store_error)?;
        Ok(device)
    }

    /// Assign a device to someone else, a group, or nobody.
    pub async fn reassign_device(&self, actor: &Actor, id: i64, assignee: &Assignee) -> Result<()> {
        actor.require(Action::Edit, Resource::Devices)?;
        let school = self.school().await?;
        let device = self
            .store
            .device(school.id, id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("device {id}")))?;
        let assignment = self.assignment(school.id, assignee).await?;
        let event = actor.event(
            "device.reassign",
            Some(format!("device:{id}")),
            serde_json::json!({
                "name": device.name,
                "from": device.assignment,
                "to": assignment,
            }),
        );
        self.store
            .reassign_device(school.id, id, &assignment, self.clock.now(), event)
            .await
            .map_err(store_error)
    }

    /// Who the device with this DNS-over-HTTPS token is filtered as; `None` for a token
    /// that is unknown or revoked. The token itself is the credential, so there is no
    /// actor; notes when the device was last seen.
    pub async fn device_identity(&self, token: &str) -> Result<Option<DeviceIdentity>> {
        if !is_token_shaped(token) {
            return Ok(None);
        }
        let hash = sha256_hex(&token.to_ascii_lowercase());
        let Some(device) = self.store.device_by_token_hash(&hash).await? else {
            return Ok(None);
        };
        if device.revoked_at.is_some() {
            return Ok(None);
        }
        let (person_id, group) = match &device.assignment {
            DeviceAssignment::Nobody => (None, None),
            DeviceAssignment::Group(g) => (None, Some(g.clone())),
            DeviceAssignment::Person(p) => {
                let group = match self.store.person(device.school_id, *p).await? {
                    Some(r) if r.person.active => {
                        let d = &r.person.details;
                        filter_group(d.kind, d.year_group).map(str::to_owned)
                    }
                    _ => None,
                };
                (Some(*p), group)
            }
        };
        let now = self.clock.now();
        let stale = device
            .last_seen_at
            .is_none_or(|t| now.duration_since(t) >= SEEN_EVERY);
        if stale && let Err(e) = self.store.device_seen(device.id, now).await {
            tracing::warn!(device = device.id, error = %e, "could not note when a device was seen");
        }
        Ok(Some(DeviceIdentity {
            device_id: device.id,
            device_name: device.name,
            person_id,
            group,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_64_hex_digits_look_like_a_token() {
        assert!(is_token_shaped(&"a1".repeat(32)));
        assert!(is_token_shaped(&"A1".repeat(32)));
        assert!(!is_token_shaped(&"a1".repeat(31)));
        assert!(!is_token_shaped(&"g1".repeat(32)));
        assert!(!is_token_shaped(""));
    }
}
