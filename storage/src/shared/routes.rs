//! Route operations.

use super::{maybe, operation, pause, Storage, MODE};
use crate::commands::{self, ListingQuery, WriteOutcome};
use crate::error::{Error, Result};
use crate::keys::LegacyFamily;
use crate::model::{self, Backoff, Listing, Route};

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
        let keys = self.keys();
        let key = keys.route(&route.route_id);
        let mut backoff = Backoff::new();
        for _ in 0..self.config().max_update_attempts {
            let previous = self.read_with_raw::<Route>(&key).await?;
            let previous = previous.as_ref().map(|(raw, old)| (raw.as_slice(), old));
            let json = model::shaped_like(json.clone(), previous.map(|(raw, _)| raw));
            let call = commands::routes::put_route(keys, &route, &json, previous);
            let reply: String = self.script(&call).await?;
            match WriteOutcome::parse(&reply)? {
                WriteOutcome::Written => return Ok(route),
                WriteOutcome::Stale => pause(backoff.next_wait()).await,
                WriteOutcome::Conflict { owner } => {
                    return Err(Error::Conflict {
                        key: keys.route_unique(&route.path_pattern, route.priority),
                        owner,
                    })
                }
                unexpected @ WriteOutcome::Fenced { .. } => return Err(unexpected.into_error()),
            }
        }
        Err(self.contention(key))
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
        let mut backoff = Backoff::new();
        for _ in 0..self.config().max_update_attempts {
            let Some(raw) = self.read_raw(&key).await? else {
                return Ok(false);
            };
            let decoded: Option<Route> = model::decode(&key, &raw).ok();
            let call =
                commands::routes::delete_route(self.keys(), route_id, &raw, decoded.as_ref());
            let reply: String = self.script_once(&call).await?;
            if WriteOutcome::parse(&reply)? == WriteOutcome::Written {
                return Ok(true);
            }
            pause(backoff.next_wait()).await;
        }
        Err(self.contention(key))
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
        let family = LegacyFamily::Routes;
        let query = ListingQuery::of_family(self.keys(), family);
        self.listing(query, Some(family), Route::listing_order)
            .await
    }
}
