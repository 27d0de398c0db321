//! A tenant's device policy as stored: whether its users choose the device class or the
//! tenant decides.

use caresync_contract::auth::DeviceClass;

use crate::{
    db::{Connection, OptionalExtension as _},
    params,
};

/// The class as the database and the ETag spell it.
pub fn class_name(class: DeviceClass) -> &'static str {
    match class {
        DeviceClass::Personal => "personal",
        DeviceClass::Shared => "shared",
        DeviceClass::Either => "either",
    }
}

fn parse_class(name: &str) -> DeviceClass {
    match name {
        "personal" => DeviceClass::Personal,
        "shared" => DeviceClass::Shared,
        // The column's CHECK allows nothing else; the lenient answer is to let users choose.
        _ => DeviceClass::Either,
    }
}

/// A tenant's device class, or `None` for an unknown tenant.
pub fn device_class(conn: &Connection, tenant: &str) -> crate::db::Result<Option<DeviceClass>> {
    conn.query_row(
        "SELECT device_class FROM tenants WHERE id = ?1",
        [tenant],
        |r| r.get::<String>(0),
    )
    .optional()
    .map(|name| name.as_deref().map(parse_class))
}

/// Sets a tenant's device class (an operator's setting; tests use it to force one). Answers
/// whether the tenant exists.
pub fn set_device_class(
    conn: &Connection,
    tenant: &str,
    class: DeviceClass,
) -> crate::db::Result<bool> {
    let changed = conn.execute(
        "UPDATE tenants SET device_class = ?2 WHERE id = ?1",
        params![tenant, class_name(class)],
    )?;
    Ok(changed == 1)
}
