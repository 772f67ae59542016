//! The OAuth authorization server's types that a caller holds: what it passes in
//! ([`CodeGrant`], [`RefreshGrant`], [`ClientRegistration`], [`AccessToken`]) and the typed
//! outcomes it maps to OAuth answers ([`CodeRedemption`], [`RefreshOutcome`],
//! [`DevicePoll`], ...). The operations are on each mode's `Storage`.

pub use crate::model::oauth::{
    AccessToken, ClientRegistration, CodeGrant, CodeRedemption, DeviceDecision, DevicePoll,
    DeviceStart, IssuedRefresh, OAuthClient, RefreshGrant, RefreshOutcome, RegisteredClient,
};
