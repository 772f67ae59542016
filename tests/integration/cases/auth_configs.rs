//! Auth configs and their index set.

use super::{maybe, maybe_test, storage};
use crate::harness;
use redis::Commands;
use storage::{AuthConfig, Error};

#[maybe]
#[maybe_test]
async fn store_list_find_update_delete() {
    let storage = storage("auth-config").await;
    let mut admin = AuthConfig::new("admin", "/admin/*");
    admin.priority = 90;
    admin.settings.insert("auth_type".into(), "oauth".into());
    storage.store_auth_config(admin).await.unwrap();
    storage
        .store_auth_config(AuthConfig::new("public", "/public/*"))
        .await
        .unwrap();
    storage
        .store_auth_config(AuthConfig::new("api", "/api/*"))
        .await
        .unwrap();
    let mut raw = harness::raw(storage.config());
    let stored: String = raw.get(storage.keys().auth_config("public")).unwrap();
    let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(stored["priority"], 50, "default priority is stored");

    let listing = storage.list_auth_configs().await.unwrap();
    let ids: Vec<_> = listing.records.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["admin", "api", "public"]);
    let found = storage
        .find_auth_configs_by_pattern("/api/*")
        .await
        .unwrap();
    assert_eq!(found.records.len(), 1);
    assert_eq!(found.records[0].id, "api");

    let updated = storage
        .update_auth_config("public", |c| c.priority = 95)
        .await
        .unwrap();
    assert_eq!(updated.priority, 95);
    let fetched = storage.get_auth_config("admin").await.unwrap().unwrap();
    assert_eq!(fetched.settings["auth_type"], "oauth");

    let removed = storage.delete_auth_config("api").await.unwrap();
    assert!(removed);
    let indexed: bool = raw
        .sismember(storage.keys().auth_config_index(), "api")
        .unwrap();
    assert!(!indexed, "index entry removed with the record");
    let listing = storage.list_auth_configs().await.unwrap();
    let ids: Vec<_> = listing.records.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["public", "admin"]);

    let bad = storage
        .store_auth_config(AuthConfig::new("a:b", "/x"))
        .await;
    assert!(
        matches!(bad, Err(Error::Invalid { field: "id", .. })),
        "{bad:?}"
    );
    let bad = storage
        .store_auth_config(AuthConfig::new("empty", " "))
        .await;
    assert!(
        matches!(
            bad,
            Err(Error::Invalid {
                field: "path_pattern",
                ..
            })
        ),
        "{bad:?}"
    );
    let missing = storage
        .update_auth_config("nope", |c| c.enabled = false)
        .await;
    assert!(
        matches!(missing, Err(Error::NotFound { .. })),
        "{missing:?}"
    );
}
