//! The nouns of pilotledger and their rules: ids, vocabularies, money, pilots and
//! ledger entries. No actix and no diesel here: everything is plain data that was
//! validated at the edge.

pub mod currency;
pub mod dates;
pub mod entries;
pub mod enums;
pub mod fx;
pub mod ids;
pub mod money;
pub mod money_error;
pub mod pilots;
pub mod region;
