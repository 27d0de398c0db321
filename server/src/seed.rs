//! Demo data, created on first start: two tenants, their users, threads and messages.
//! Every demo password is `demo`.

use rusqlite::{params, Connection};

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

/// Creates the demo data once; a database that has tenants is left alone.
pub fn ensure_demo_data(conn: &mut Connection) -> Result<(), DbError> {
    let count: i64 = conn.query_row("SELECT COUNT(*) FROM tenants", [], |r| r.get(0))?;
    if count > 0 {
        return Ok(());
    }
    let password =
        hash_password("demo").map_err(|_| DbError::Seed("could not hash the demo password"))?;
    let tx = conn.transaction()?;
    tx.execute("INSERT INTO tenants (id, name) VALUES ('north-clinic', 'North Clinic'), ('south-clinic', 'South Clinic')", [])?;
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
