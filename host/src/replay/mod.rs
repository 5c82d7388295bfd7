//! Record and replay: a run's host calls and their answers written to a tape (`cutover run
//! --record`), and a policy run offline against it (`cutover test --replay`), stopped at the
//! first call that is not the recorded one.

pub mod codec;
pub mod diff;
pub mod offline;
pub mod player;
pub mod record;
pub mod run;
pub mod tape;

pub use player::Player;
pub use record::Recording;
