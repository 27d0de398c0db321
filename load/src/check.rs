//! The verdict on a run, read from the server's database, not from what the devices believe:
//! every write exactly once, and each device's writes in the order it made them.

use std::collections::HashMap;

use crate::LoadError;

/// What the database holds of a run, against what the devices wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Verdict {
    pub rows: usize,
    pub expected: usize,
    pub missing: usize,
    pub duplicates: usize,
    /// Writes stored before an earlier write of the same device.
    pub out_of_order: usize,
}

impl Verdict {
    pub fn holds(&self) -> bool {
        self.rows == self.expected
            && self.missing == 0
            && self.duplicates == 0
            && self.out_of_order == 0
    }
}

/// The (device, seq) a body of this run names, `load:{run}:{device}:{seq}`.
pub fn place(run: &str, body: &str) -> Option<(usize, usize)> {
    let rest = body
        .strip_prefix("load:")?
        .strip_prefix(run)?
        .strip_prefix(':')?;
    let (d, s) = rest.split_once(':')?;
    Some((d.parse().ok()?, s.parse().ok()?))
}

/// Judges the run's bodies in the server's order (`load:{run}:{device}:{seq}`), given how
/// many writes each device made.
pub fn judge(run: &str, bodies: &[String], writes: &[usize]) -> Verdict {
    let mut seen: HashMap<(usize, usize), usize> = HashMap::new();
    let mut last: HashMap<usize, usize> = HashMap::new();
    let mut verdict = Verdict {
        expected: writes.iter().sum(),
        ..Verdict::default()
    };
    for body in bodies {
        let Some((device, seq)) = place(run, body) else {
            continue;
        };
        verdict.rows += 1;
        *seen.entry((device, seq)).or_default() += 1;
        match last.insert(device, seq) {
            Some(before) if before >= seq => verdict.out_of_order += 1,
            _ => {}
        }
    }
    verdict.duplicates = seen.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    verdict.missing = writes
        .iter()
        .enumerate()
        .map(|(device, n)| {
            (0..*n)
                .filter(|seq| !seen.contains_key(&(device, *seq)))
                .count()
        })
        .sum();
    verdict
}

/// The run's message bodies from the embedded SQLite, in the order the server shows them.
pub fn sqlite_bodies(path: &std::path::Path, run: &str) -> Result<Vec<String>, LoadError> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut statement =
        conn.prepare("SELECT body FROM messages WHERE body LIKE ?1 ORDER BY sent_at, id")?;
    let rows = statement.query_map([format!("load:{run}:%")], |r| r.get::<_, String>(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The same from PostgreSQL (two instances share it).
pub async fn postgres_bodies(url: &str, run: &str) -> Result<Vec<String>, LoadError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let driver = tokio::spawn(connection);
    let bodies = client
        .query(
            "SELECT body FROM messages WHERE body LIKE $1 ORDER BY sent_at, id",
            &[&format!("load:{run}:%")],
        )
        .await?
        .into_iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()?;
    drop(client);
    driver
        .await
        .map_err(|e| LoadError::Stuck(e.to_string()))??;
    Ok(bodies)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bodies(list: &[(usize, usize)]) -> Vec<String> {
        list.iter()
            .map(|(d, s)| format!("load:r:{d}:{s}"))
            .collect()
    }

    #[test]
    fn a_clean_run_holds() {
        let v = judge("r", &bodies(&[(0, 0), (1, 0), (0, 1), (1, 1)]), &[2, 2]);
        assert!(v.holds(), "{v:?}");
    }

    #[test]
    fn a_duplicate_a_gap_and_a_swap_are_each_found() {
        let v = judge("r", &bodies(&[(0, 0), (0, 0), (1, 1), (1, 0)]), &[2, 2]);
        assert_eq!(v.duplicates, 1);
        assert_eq!(v.missing, 1, "device 0's second write");
        assert_eq!(v.out_of_order, 2, "the repeat and device 1's swap");
        assert!(!v.holds());
    }

    #[test]
    fn other_runs_are_not_counted() {
        let mut list = bodies(&[(0, 0)]);
        list.push("load:other:0:0".into());
        list.push("hello".into());
        assert!(judge("r", &list, &[1]).holds());
    }
}
