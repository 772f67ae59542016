//! Route operations.

use super::conditional::Decision;
use super::{maybe, operation, Storage, MODE};
use crate::commands::{self, WriteOutcome};
use crate::error::{Error, Result};
use crate::model::family::ROUTES;
use crate::model::{self, Listing, Route, Shape};

impl Storage {
    /// Stores `route`, creating it or replacing the route with the same id, together with its
    /// legacy index keys, atomically. One route owns a path at a priority: if another route
    /// already does, this is an [`Error::Conflict`] naming the key and the owner, and nothing
    /// is written. Replacing a route whose stored record is corrupt is an [`Error::Corrupt`]
    /// (delete it first). Invalid input is an [`Error::Invalid`] naming the field. Two round
    /// trips.
    #[operation]
    pub async fn store_route(&self, mut route: Route) -> Result<Route> {
        let json = model::encode(&mut route)?;
        self.write_route(&route, &json, Shape::LikeStored).await?;
        Ok(route)
    }

    /// Writes `route` (validated) as `json`, with its index keys; see
    /// [`store_route`](Self::store_route).
    #[maybe]
    pub(super) async fn write_route(&self, route: &Route, json: &str, shape: Shape) -> Result<()> {
        let keys = self.keys();
        let key = keys.route(&route.route_id);
        let put = |json: &str, previous: Option<(&[u8], &Route)>| {
            commands::routes::put_route(keys, self.audit(), route, json, previous)
        };
        self.replace(&key, json, shape, put, |refusal| match refusal {
            WriteOutcome::Conflict { owner } => Error::Conflict {
                key: keys.route_unique(&route.path_pattern, route.priority),
                owner,
            },
            unexpected => unexpected.into_error(),
        })
        .await
    }

    /// The route `route_id`, if there is one. A stored record that cannot be used is an
    /// [`Error::Corrupt`] naming its key. One round trip.
    #[operation]
    pub async fn get_route(&self, route_id: &str) -> Result<Option<Route>> {
        let key = self.keys().route(model::route_id_key(route_id)?);
        self.read(&key).await
    }

    /// Removes the route `route_id` with its index keys, atomically. Returns whether there
    /// was one. A corrupt record can be deleted too; its legacy index keys cannot be named
    /// then and stay (they no longer block the path: a uniqueness key whose owner is gone is
    /// treated as free). Two round trips.
    #[operation]
    pub async fn delete_route(&self, route_id: &str) -> Result<bool> {
        let key = self.keys().route(model::route_id_key(route_id)?);
        self.write_if_unchanged(
            &key,
            || self.read_raw(&key),
            |raw| {
                let Some(raw) = raw else {
                    return Ok(Decision::Done(false));
                };
                let decoded: Option<Route> = model::decode(&key, &raw).ok();
                let call = commands::routes::delete_route(
                    self.keys(),
                    self.audit(),
                    route_id,
                    &raw,
                    decoded.as_ref(),
                );
                Ok(Decision::WriteOnce(call, true))
            },
            WriteOutcome::into_error,
        )
        .await
    }

    /// The enabled routes, priority descending, ties by route id: the order the gateway
    /// matches them in. Corrupt records are reported in the listing. One round trip,
    /// whatever the number of routes.
    #[operation]
    pub async fn list_routes(&self) -> Result<Listing<Route>> {
        let listing = self.list_all_routes().await?;
        Ok(listing.filtered(|route| route.enabled))
    }

    /// Every route, enabled or not, in the same order as [`list_routes`](Self::list_routes).
    #[operation]
    pub async fn list_all_routes(&self) -> Result<Listing<Route>> {
        self.list_family(&ROUTES).await
    }
}
