//! Footprint: a reverse proxy in front of a storefront that turns every
//! browser into a contact and records its activity.
#![forbid(unsafe_code)]

pub mod admin;
pub mod config;
pub mod demo;
pub mod identity;
pub mod proxy;
pub mod recorder;
pub mod store;
pub mod tracking;
