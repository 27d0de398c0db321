// The baselines: what a hand-written JS app would do, on the same page as the engine.

export function now() {
  return performance.now();
}

export function rawOpen(name) {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore('raw', { keyPath: 'id' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

/** One record, one strict-durability transaction. */
export function rawPut(db, record) {
  const tx = db.transaction(['raw'], 'readwrite', { durability: 'strict' });
  tx.objectStore('raw').put(record);
  return done(tx);
}

export function rawFill(db, records) {
  const tx = db.transaction(['raw'], 'readwrite', { durability: 'strict' });
  const store = tx.objectStore('raw');
  for (const r of records) store.put(r);
  return done(tx);
}

/** POSTs every request, `concurrency` at a time, as a hand-written replay loop would. */
export async function rawFetchLoop(token, requests, concurrency) {
  let next = 0;
  let failed = 0;
  async function worker() {
    while (next < requests.length) {
      const r = requests[next++];
      const res = await fetch(r.path, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json',
          'Idempotency-Key': r.body.clientMutationId,
        },
        body: JSON.stringify(r.body),
      });
      await res.text();
      if (!res.ok) failed++;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failed;
}
