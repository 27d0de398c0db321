//! Browser tier: the encrypted record layer's primitives on the real WebCrypto of Chromium.

use caresync::platform::crypto::{
    self, generate_data_key, open, password_key, random_bytes, seal, unwrap, wrap, CryptoError,
    Place, SALT_LEN,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const HERE: Place<'static> = Place {
    database: "caresync:north-clinic:usr-north-patient1",
    store: "entities",
    key: "message:t1:m1",
};

#[wasm_bindgen_test]
async fn a_sealed_record_opens_in_its_place_and_hides_its_text() {
    let key = generate_data_key().await.expect("key");
    let text = b"My rash is worse since Tuesday";
    let sealed = seal(&key, HERE, text).await.expect("seal");
    assert!(
        !sealed.windows(text.len()).any(|w| w == text),
        "the plaintext is not in the ciphertext"
    );
    assert_eq!(open(&key, HERE, &sealed).await.expect("open"), text);
    // A fresh nonce every time: the same text never seals to the same bytes.
    let again = seal(&key, HERE, text).await.expect("seal");
    assert_ne!(sealed, again);
    assert_ne!(sealed[..12], again[..12]);
}

#[wasm_bindgen_test]
async fn a_ciphertext_moved_to_another_record_store_or_database_does_not_open() {
    let key = generate_data_key().await.expect("key");
    let sealed = seal(&key, HERE, b"for this record only")
        .await
        .expect("seal");
    let elsewhere = [
        Place {
            key: "message:t1:m2",
            ..HERE
        },
        Place {
            store: "drafts",
            ..HERE
        },
        Place {
            database: "caresync:north-clinic:usr-north-nurse1",
            ..HERE
        },
    ];
    for place in elsewhere {
        assert_eq!(
            open(&key, place, &sealed).await,
            Err(CryptoError::NotThisRecord),
            "{place:?}"
        );
    }
    // Another database's key cannot open it either.
    let other = generate_data_key().await.expect("key");
    assert_eq!(
        open(&other, HERE, &sealed).await,
        Err(CryptoError::NotThisRecord)
    );
}

#[wasm_bindgen_test]
async fn one_changed_byte_anywhere_is_refused() {
    let key = generate_data_key().await.expect("key");
    let sealed = seal(&key, HERE, b"do not touch").await.expect("seal");
    for at in [0, 11, 12, sealed.len() / 2, sealed.len() - 1] {
        let mut tampered = sealed.clone();
        tampered[at] ^= 0x01;
        assert_eq!(
            open(&key, HERE, &tampered).await,
            Err(CryptoError::NotThisRecord),
            "byte {at}"
        );
    }
    assert_eq!(
        open(&key, HERE, &sealed[..20]).await,
        Err(CryptoError::NotThisRecord),
        "a truncated record"
    );
}

#[wasm_bindgen_test]
async fn the_password_unwraps_the_data_key_and_a_wrong_one_does_not() {
    let salt = random_bytes(SALT_LEN).expect("salt");
    let data_key = generate_data_key().await.expect("key");
    let sealed = seal(&data_key, HERE, b"queued while offline")
        .await
        .expect("seal");
    // The real iteration count: this is what a user waits for at unlock.
    let t0 = js_sys::Date::now();
    let kek = password_key("correct horse", &salt).await.expect("derive");
    let derive_ms = js_sys::Date::now() - t0;
    assert_eq!(crypto::PBKDF2_ITERATIONS, 600_000);
    let wrapped = wrap(&data_key, &kek).await.expect("wrap");
    assert_eq!(wrapped.len(), 40, "a 256-bit key wrapped by AES-KW");

    let wrong = password_key("correct horse!", &salt).await.expect("derive");
    assert_eq!(
        unwrap(&wrapped, &wrong).await.err(),
        Some(CryptoError::WrongPassword)
    );

    let again = password_key("correct horse", &salt).await.expect("derive");
    let unwrapped = unwrap(&wrapped, &again).await.expect("unwrap");
    assert_eq!(
        open(&unwrapped, HERE, &sealed).await.expect("open"),
        b"queued while offline"
    );
    web_sys::console::log_1(&format!("PBKDF2-SHA256 x 600,000: {derive_ms:.0} ms").into());
}

mod keyring {
    use caresync::platform::{
        idb,
        keyring::{Keyring, KeyringError},
    };
    use wasm_bindgen_test::*;

    async fn fresh() -> indexed_db_futures::database::Database {
        idb::open(&format!("keyring-{}", uuid::Uuid::now_v7()))
            .await
            .expect("open")
    }

    #[wasm_bindgen_test]
    async fn the_password_unlocks_the_database_key_offline_and_a_wrong_one_is_refused() {
        let db = fresh().await;
        assert!(!Keyring::exists(&db).await.expect("look"));
        let made = Keyring::create(&db, "demo").await.expect("create");
        let sealed = made
            .seal("entities", "draft:t1", b"half a sentence")
            .await
            .expect("seal");
        drop(made);
        assert!(Keyring::exists(&db).await.expect("look"));
        assert!(matches!(
            Keyring::unlock(&db, "not demo").await,
            Err(KeyringError::WrongPassword)
        ));
        let unlocked = Keyring::unlock(&db, "demo").await.expect("unlock");
        assert_eq!(
            unlocked
                .open("entities", "draft:t1", &sealed)
                .await
                .expect("open"),
            b"half a sentence"
        );
        // A new password wraps the same key: old records still open, the old password fails.
        unlocked.rewrap(&db, "new secret").await.expect("rewrap");
        assert!(matches!(
            Keyring::unlock(&db, "demo").await,
            Err(KeyringError::WrongPassword)
        ));
        let again = Keyring::unlock(&db, "new secret").await.expect("unlock");
        assert!(again.open("entities", "draft:t1", &sealed).await.is_ok());
    }

    #[wasm_bindgen_test]
    async fn a_record_sealed_in_one_database_does_not_open_in_another() {
        let (a, b) = (fresh().await, fresh().await);
        let ka = Keyring::create_with(&a, "demo", 1_000).await.expect("a");
        let kb = Keyring::create_with(&b, "demo", 1_000).await.expect("b");
        let sealed = ka.seal("entities", "k", b"alice's").await.expect("seal");
        assert!(kb.open("entities", "k", &sealed).await.is_err());
        assert!(ka.open("entities", "k", &sealed).await.is_ok());
    }
}
