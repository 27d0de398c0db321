//! Demo data, created on first start: two tenants, their users, threads and messages.
//! Every demo password is `demo`.

use crate::{db::Connection, params};

use crate::{auth::hash_password, db::DbError, time::now_ms};

const HOUR: i64 = 3600 * 1000;

struct DemoUser {
    id: &'static str,
    tenant: &'static str,
    username: &'static str,
    name: &'static str,
    role: &'static str,
}

const USERS: &[DemoUser] = &[
    DemoUser {
        id: "usr-north-patient1",
        tenant: "north-clinic",
        username: "patient1",
        name: "Alex Morgan",
        role: "patient",
    },
    DemoUser {
        id: "usr-north-nurse1",
        tenant: "north-clinic",
        username: "nurse1",
        name: "Nurse Kim",
        role: "ward_staff",
    },
    DemoUser {
        id: "usr-north-dr-lee",
        tenant: "north-clinic",
        username: "dr-lee",
        name: "Dr. Lee",
        role: "provider",
    },
    DemoUser {
        id: "usr-south-patient2",
        tenant: "south-clinic",
        username: "patient2",
        name: "Sam Rivera",
        role: "patient",
    },
    DemoUser {
        id: "usr-south-dr-ng",
        tenant: "south-clinic",
        username: "dr-ng",
        name: "Dr. Ng",
        role: "provider",
    },
];

/// (tenant, patient, provider, subject, status, messages as (from patient?, text))
type DemoThread = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [(bool, &'static str)],
);

const THREADS: &[DemoThread] = &[
    (
        "north-clinic",
        "usr-north-patient1",
        "usr-north-dr-lee",
        "Follow-up after your visit",
        "open",
        &[
            (
                false,
                "Hello Alex, how are you feeling after Tuesday's visit?",
            ),
            (true, "Much better, thank you. The cough is almost gone."),
            (
                false,
                "Good to hear. Keep taking the medicine until Friday.",
            ),
        ],
    ),
    (
        "north-clinic",
        "usr-north-patient1",
        "usr-north-dr-lee",
        "Prescription renewal",
        "archived",
        &[
            (true, "Could you renew my inhaler prescription?"),
            (false, "Done. You can collect it at the pharmacy."),
        ],
    ),
    (
        "south-clinic",
        "usr-south-patient2",
        "usr-south-dr-ng",
        "Lab results",
        "open",
        &[(false, "Your blood test results are in and look normal.")],
    ),
    (
        "south-clinic",
        "usr-south-patient2",
        "usr-south-dr-ng",
        "Billing question",
        "archived",
        &[
            (true, "Is the telehealth visit covered?"),
            (false, "Yes, it is fully covered."),
        ],
    ),
];

/// Every part of the demo data, each made once.
pub fn ensure_all(conn: &mut Connection) -> Result<(), DbError> {
    ensure_demo_data(conn)?;
    ensure_facility_demo(conn)?;
    ensure_ward_staff_demo(conn)?;
    ensure_sessions_demo(conn)?;
    ensure_templates_demo(conn)
}

/// Creates the demo data once; a database that has tenants is left alone.
pub fn ensure_demo_data(conn: &mut Connection) -> Result<(), DbError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM tenants", params![], |r| r.get(0))?;
    if count > 0 {
        return Ok(());
    }
    let password =
        hash_password("demo").map_err(|_| DbError::Seed("could not hash the demo password"))?;
    let tx = conn.transaction()?;
    tx.execute("INSERT INTO tenants (id, name) VALUES ('north-clinic', 'North Clinic'), ('south-clinic', 'South Clinic')", params![])?;
    for u in USERS {
        tx.execute(
            "INSERT INTO users (id, tenant_id, username, display_name, role, password_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![u.id, u.tenant, u.username, u.name, u.role, password],
        )?;
    }
    let start = now_ms() - 72 * HOUR;
    for (i, (tenant, patient, provider, subject, status, messages)) in THREADS.iter().enumerate() {
        let thread_id = uuid::Uuid::now_v7().to_string();
        let mut at = start + i as i64 * HOUR;
        tx.execute(
            "INSERT INTO threads (id, tenant_id, subject, status, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![thread_id, tenant, subject, status, at + messages.len() as i64 * HOUR],
        )?;
        for member in [patient, provider] {
            tx.execute(
                "INSERT INTO thread_members (thread_id, user_id) VALUES (?1, ?2)",
                params![thread_id, member],
            )?;
        }
        for (from_patient, text) in messages.iter() {
            at += HOUR;
            let sender = if *from_patient { patient } else { provider };
            tx.execute(
                "INSERT INTO messages (id, tenant_id, thread_id, sender_id, body, sent_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![uuid::Uuid::now_v7().to_string(), tenant, thread_id, sender, text, at],
            )?;
        }
    }
    tx.commit()?;
    tracing::info!("created the demo tenants north-clinic and south-clinic (password: demo)");
    Ok(())
}

/// The tenant the demo facility belongs to.
pub const FACILITY_TENANT: &str = "north-clinic";

/// A demo bed: id, location, label (all in [`FACILITY_TENANT`]).
pub type DemoBed = (&'static str, &'static str, &'static str);

pub const DEMO_BEDS: &[DemoBed] = &[
    ("bed-a1-1", "loc-a-1", "A1-1"),
    ("bed-a1-2", "loc-a-1", "A1-2"),
    ("bed-a2-1", "loc-a-2", "A2-1"),
    ("bed-b1-1", "loc-b-1", "B1-1"),
];

/// A demo bed as first created: available and clean, both stamped two hours ago, so any
/// change a tablet makes now wins.
pub fn insert_demo_bed(conn: &Connection, bed: &DemoBed, now: i64) -> crate::db::Result<()> {
    let (id, location, label) = bed;
    conn.execute(
        "INSERT INTO beds (id, tenant_id, location_id, label, status, status_updated_at, housekeeping_status, housekeeping_updated_at) \
         VALUES (?1, ?2, ?3, ?4, 'available', ?5, 'clean', ?5)",
        params![id, FACILITY_TENANT, location, label, now - 2 * HOUR],
    )?;
    Ok(())
}

/// The ward board's staff, added to a demo database made before them too: a charge nurse
/// who manages Ward A (the membership role `ward_manager` makes ward staff a reviewer of held
/// bed changes) and a nurse of Ward B.
const WARD_STAFF: &[(DemoUser, &str, &str)] = &[
    (
        DemoUser {
            id: "usr-north-ward-manager1",
            tenant: "north-clinic",
            username: "ward-manager1",
            name: "Charge Nurse Patel",
            role: "ward_staff",
        },
        "node-ward-a",
        "ward_manager",
    ),
    (
        DemoUser {
            id: "usr-north-nurse2",
            tenant: "north-clinic",
            username: "nurse2",
            name: "Nurse Okafor",
            role: "ward_staff",
        },
        "node-ward-b",
        "ward_staff",
    ),
];

pub fn ensure_ward_staff_demo(conn: &mut Connection) -> Result<(), DbError> {
    let missing: Vec<&(DemoUser, &str, &str)> = WARD_STAFF
        .iter()
        .filter(|(u, node, _)| {
            let known = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1) \
                 OR NOT EXISTS (SELECT 1 FROM facility_nodes WHERE id = ?2 AND tenant_id = ?3)",
                params![u.id, node, u.tenant],
                |r| r.get::<bool>(0),
            );
            // Unreadable counts as present: nothing is inserted over what may be there.
            !known.unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let password =
        hash_password("demo").map_err(|_| DbError::Seed("could not hash the demo password"))?;
    let tx = conn.transaction()?;
    for (u, node, membership) in missing {
        tx.execute(
            "INSERT INTO users (id, tenant_id, username, display_name, role, password_hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![u.id, u.tenant, u.username, u.name, u.role, password],
        )?;
        tx.execute(
            "INSERT INTO memberships (user_id, node_id, role) VALUES (?1, ?2, ?3)",
            params![u.id, node, membership],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The demo facility: a hospital with two wards, rooms and beds; staff memberships.
pub fn ensure_facility_demo(conn: &mut Connection) -> Result<(), DbError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM facility_nodes", params![], |r| {
        r.get(0)
    })?;
    if count > 0 {
        return Ok(());
    }
    let now = now_ms();
    let tx = conn.transaction()?;
    for (id, parent, name, kind) in [
        (
            "node-north-hospital",
            None,
            "North Clinic Hospital",
            "hospital",
        ),
        ("node-ward-a", Some("node-north-hospital"), "Ward A", "ward"),
        ("node-ward-b", Some("node-north-hospital"), "Ward B", "ward"),
    ] {
        tx.execute(
            "INSERT INTO facility_nodes (id, tenant_id, parent_id, name, kind) VALUES (?1, 'north-clinic', ?2, ?3, ?4)",
            params![id, parent, name, kind],
        )?;
    }
    for (id, node, name) in [
        ("loc-a-1", "node-ward-a", "Room A1"),
        ("loc-a-2", "node-ward-a", "Room A2"),
        ("loc-b-1", "node-ward-b", "Room B1"),
    ] {
        tx.execute(
            "INSERT INTO locations (id, tenant_id, node_id, name) VALUES (?1, 'north-clinic', ?2, ?3)",
            params![id, node, name],
        )?;
    }
    for bed in DEMO_BEDS {
        insert_demo_bed(&tx, bed, now)?;
    }
    for (user, node, role) in [
        ("usr-north-nurse1", "node-ward-a", "ward_staff"),
        ("usr-north-dr-lee", "node-north-hospital", "provider"),
    ] {
        tx.execute(
            "INSERT INTO memberships (user_id, node_id, role) VALUES (?1, ?2, ?3)",
            params![user, node, role],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Demo video visits: each patient has a scheduled one; patient1 also one waiting to be
/// admitted and one that failed (for the fallback to messaging).
pub fn ensure_sessions_demo(conn: &mut Connection) -> Result<(), DbError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM sessions", params![], |r| r.get(0))?;
    if count > 0 {
        return Ok(());
    }
    let now = now_ms();
    let tx = conn.transaction()?;
    for (id, tenant, patient, provider, status, at) in [
        (
            "ses-north-scheduled",
            "north-clinic",
            "usr-north-patient1",
            "usr-north-dr-lee",
            "scheduled",
            now + 24 * HOUR,
        ),
        (
            "ses-north-waiting",
            "north-clinic",
            "usr-north-patient1",
            "usr-north-dr-lee",
            "waiting",
            now,
        ),
        (
            "ses-north-failed",
            "north-clinic",
            "usr-north-patient1",
            "usr-north-dr-lee",
            "failed",
            now - 24 * HOUR,
        ),
        (
            "ses-south-scheduled",
            "south-clinic",
            "usr-south-patient2",
            "usr-south-dr-ng",
            "scheduled",
            now + 48 * HOUR,
        ),
    ] {
        tx.execute(
            "INSERT INTO sessions (id, tenant_id, patient_id, provider_id, status, version, scheduled_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)",
            params![id, tenant, patient, provider, status, at, now],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Demo document templates: two published per tenant, one draft that clients never see.
pub fn ensure_templates_demo(conn: &mut Connection) -> Result<(), DbError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM templates", params![], |r| r.get(0))?;
    if count > 0 {
        return Ok(());
    }
    let tx = conn.transaction()?;
    for tenant in ["north-clinic", "south-clinic"] {
        for (slug, name, version, published, body) in [
            (
                "visit-summary",
                "Visit summary",
                2,
                1,
                "Visit summary for {{patientName}}\nDate: {{visitDate}}\n\n{{summary}}",
            ),
            (
                "sick-note",
                "Sick note",
                1,
                1,
                "To whom it may concern,\n\n{{patientName}} is unfit for work until {{untilDate}}.",
            ),
            (
                "consent-draft",
                "Consent form (draft)",
                1,
                0,
                "Draft: not for use.",
            ),
        ] {
            tx.execute(
                "INSERT INTO templates (id, tenant_id, name, version, published, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![format!("tpl-{}-{slug}", &tenant[..5]), tenant, name, version, published, body],
            )?;
        }
    }
    tx.commit()?;
    Ok(())
}
