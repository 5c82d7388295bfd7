//! Answers a replayed policy's host calls from a tape: each call must be the next recorded one
//! (the same function, arguments equal as JSON); then it gets the recorded answer. The first
//! call that is not stops the replay, and is kept to report.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::codec::Answer;
use super::tape::Call;

/// The tape being played; clones share it (the run's store holds one, the caller another).
#[derive(Clone, Debug)]
pub struct Player {
    inner: Arc<Mutex<State>>,
}

#[derive(Debug)]
struct State {
    calls: Vec<Call>,
    next: usize,
    /// The recorded run was ended from outside or its recording cut: a call past the last one
    /// recorded ends the replay, rather than diverging from it.
    open_ended: bool,
    stop: Option<Stop>,
}

/// Why the replay stopped the policy before it returned.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// The policy made another call than the recorded one (`expected` none: past the last).
    Diverged {
        /// 1-based.
        number: usize,
        expected: Option<Box<Call>>,
        actual: Box<Call>,
    },
    /// The policy reached the end of a tape that ends without the run's own end.
    TapeEnded { number: usize },
    /// The recorded answer does not fit the call (a tape checked on reading never has one).
    BadAnswer { number: usize, reason: String },
}

impl Player {
    pub fn new(calls: Vec<Call>, open_ended: bool) -> Player {
        Player {
            inner: Arc::new(Mutex::new(State {
                calls,
                next: 0,
                open_ended,
                stop: None,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The recorded answer to this call, or why the replay stops here (kept: see [`Player::stop`]).
    pub fn answer<A: Answer>(&self, function: &str, args: Value) -> Result<A, Stop> {
        let mut state = self.lock();
        if let Some(stop) = &state.stop {
            return Err(stop.clone());
        }
        let number = state.next + 1;
        let actual = Box::new(Call {
            call: function.to_string(),
            args,
            answer: Value::Null,
        });
        let verdict = match state.calls.get(state.next) {
            None if state.open_ended => Err(Stop::TapeEnded { number }),
            None => Err(Stop::Diverged {
                number,
                expected: None,
                actual,
            }),
            Some(expected) if expected.call != actual.call || expected.args != actual.args => {
                Err(Stop::Diverged {
                    number,
                    expected: Some(Box::new(expected.clone())),
                    actual,
                })
            }
            Some(expected) => A::decode(&expected.answer).map_err(|e| Stop::BadAnswer {
                number,
                reason: e.to_string(),
            }),
        };
        match verdict {
            Ok(answer) => {
                state.next += 1;
                Ok(answer)
            }
            Err(stop) => {
                state.stop = Some(stop.clone());
                Err(stop)
            }
        }
    }

    /// How many calls were answered.
    pub fn answered(&self) -> usize {
        self.lock().next
    }

    /// The first recorded call not reached, and how many were not.
    pub fn first_left(&self) -> Option<(Call, usize)> {
        let state = self.lock();
        let left = state.calls.get(state.next..).unwrap_or_default();
        left.first().map(|call| (call.clone(), left.len()))
    }

    /// Why the replay stopped the policy, if it did.
    pub fn stop(&self) -> Option<Stop> {
        self.lock().stop.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call(function: &str, args: Value, answer: Value) -> Call {
        Call {
            call: function.into(),
            args,
            answer,
        }
    }

    #[test]
    fn equal_calls_get_the_recorded_answers_in_order() {
        let player = Player::new(
            vec![
                call("runtime.now", json!({}), json!({"ok": 5})),
                call(
                    "cluster.get",
                    json!({"target": {"kind": "Node", "name": "n1"}}),
                    json!({"ok": {"kind": "Node"}}),
                ),
            ],
            false,
        );
        let now: super::super::codec::Infallible<u64> =
            player.answer("runtime.now", json!({})).expect("answered");
        assert_eq!(now.0, 5);
        // Keys in another order are the same JSON.
        let got: Result<super::super::codec::Json, _> = player
            .answer::<Result<
                super::super::codec::Json,
                crate::sandbox::bindings::cutover::policy::types::Error,
            >>(
                "cluster.get",
                json!({"target": {"name": "n1", "kind": "Node"}}),
            )
            .expect("answered");
        assert!(got.is_ok());
        assert_eq!(player.answered(), 2);
        assert!(player.first_left().is_none());
    }

    #[test]
    fn the_first_other_call_stops_the_replay_and_stays_stopped() {
        let player = Player::new(
            vec![call(
                "cluster.cordon",
                json!({"node": "n1"}),
                json!({"ok": null}),
            )],
            false,
        );
        type Unit = Result<(), crate::sandbox::bindings::cutover::policy::types::Error>;
        let stop = player
            .answer::<Unit>("cluster.cordon", json!({"node": "n2"}))
            .expect_err("diverges");
        assert!(
            matches!(&stop, Stop::Diverged { number: 1, expected: Some(e), .. } if e.args["node"] == "n1")
        );
        // Even the recorded call is refused now.
        assert!(
            player
                .answer::<Unit>("cluster.cordon", json!({"node": "n1"}))
                .is_err()
        );
        assert_eq!(player.stop(), Some(stop));
        assert_eq!(player.first_left().map(|(_, left)| left), Some(1));
    }

    #[test]
    fn past_the_end_diverges_unless_the_tape_is_open_ended() {
        type Unit = Result<(), crate::sandbox::bindings::cutover::policy::types::Error>;
        let closed = Player::new(Vec::new(), false);
        assert!(matches!(
            closed.answer::<Unit>("cluster.uncordon", json!({"node": "n1"})),
            Err(Stop::Diverged {
                number: 1,
                expected: None,
                ..
            })
        ));
        let open = Player::new(Vec::new(), true);
        assert_eq!(
            open.answer::<Unit>("cluster.uncordon", json!({"node": "n1"}))
                .err(),
            Some(Stop::TapeEnded { number: 1 })
        );
    }
}
