//! Geography: administrative boundaries and point location (`locate`), and the locate stage
//! that places every record in a commune / département / région (`stage`).

pub mod locate;
pub mod stage;
