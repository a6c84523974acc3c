//! `xuncha-core`: everything a Xuncha device (and the server) needs to know about cases, with no
//! network: the workflow's transition table, the event fold that derives a case from its
//! timeline, the hybrid logical clock, geo helpers, the working calendar, and the offline SQLite
//! store with its outbox.

pub mod area;
pub mod calendar;
pub mod error;
pub mod escalation;
pub mod fold;
pub mod geo;
pub mod hlc;
pub mod i18n;
pub mod kpi;
pub mod limits;
pub mod model;
pub mod notify;
#[cfg(feature = "openapi")]
mod openapi;
pub mod reference;
pub mod round;
pub mod round_report;
pub mod scope;
pub mod search;
pub mod standard;
pub mod store;
pub mod sync;
pub mod workflow;

pub use error::{Error, Lang, Result};
pub use model::{
    ActionInput, Actor, Case, CaseEdit, Event, Location, Op, OpBody, PhotoKind, PhotoRef,
};
pub use store::{Session, Store};
pub use workflow::{Action, Role, Status};
