//! Writing and deleting routes with their legacy index keys, in one script each.

use super::Audit;
use crate::commands::ScriptCall;

use crate::keys::KeySpace;
use crate::model::family;
use crate::model::Route;

/// Writes `route` (already validated, encoded as `json`) with its index keys. `previous` is
/// what it replaces: `None` for a create, else the stored bytes (compared atomically before
/// writing) and their decoded route (whose index keys go). Reply: [`WriteOutcome`].
pub fn put_route(
    keys: &KeySpace,
    audit: &Audit,
    route: &Route,
    json: &str,
    previous: Option<(&[u8], &Route)>,
) -> ScriptCall {
    let id = &route.route_id;
    let mut call = lua_script!("put_route");
    call.key(keys.route(id))
        .key(keys.route_unique(&route.path_pattern, route.priority))
        .key(keys.route_priority(route.priority, id))
        .key(keys.route_index());
    match previous {
        None => {
            call.arg("absent").arg("");
        }
        Some((raw, old)) => {
            call.key(keys.route_unique(&old.path_pattern, old.priority))
                .key(keys.route_priority(old.priority, id));
            call.arg("exact").arg(raw);
        }
    }
    call.arg(json)
        .arg(id)
        .arg(keys.record_prefix(&family::ROUTES));
    super::with_feed(&mut call, keys, audit);
    call
}

/// Removes the route stored as `raw` with its index keys; `decoded` is `None` when the record
/// is corrupt, in which case its legacy index keys cannot be named and stay. Reply:
/// [`WriteOutcome`].
pub fn delete_route(
    keys: &KeySpace,
    audit: &Audit,
    route_id: &str,
    raw: &[u8],
    decoded: Option<&Route>,
) -> ScriptCall {
    let mut call = lua_script!("delete_route");
    call.key(keys.route(route_id)).key(keys.route_index());
    if let Some(route) = decoded {
        call.key(keys.route_unique(&route.path_pattern, route.priority))
            .key(keys.route_priority(route.priority, route_id));
    }
    call.arg(raw).arg(route_id);
    super::with_feed(&mut call, keys, audit);
    call
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_rewrite_names_old_and_new_index_keys() {
        let keys = KeySpace::new("");
        let old = Route::to_url("r", "/old", 10, "http://a");
        let new = Route::to_url("r", "/new", 20, "http://a");
        let audit = Audit::new("test", 1, std::time::Duration::from_secs(1));
        let call = put_route(&keys, &audit, &new, "{}", Some((b"x", &old)));
        let shown = format!("{call:?}");
        // Nine keys: record, new unique, new priority, index, old unique, old priority, and
        // the change feed's three.
        assert!(shown.contains("keys: 9"), "{shown}");
    }
}
