//! The reference model of the cable: the messages published (and trimmed), the
//! subscribers with the range of messages each is owed, and when each listener last polled;
//! and how steps are drawn and applied to it.

use proptest::prelude::*;
use proptest_state_machine::ReferenceStateMachine;

/// Simulated processes sharing the cable file.
pub const PROCESSES: usize = 2;
/// Channel names.
pub const CHANNELS: [&str; 3] = ["a", "b", "c"];
/// Message retention, in seconds of the manual clock.
pub const RETENTION: u64 = 60;

/// One step of a test case.
#[derive(Clone, Debug)]
pub enum Step {
    Publish { process: usize, channel: usize },
    Subscribe { process: usize, channel: usize },
    Unsubscribe { sub: usize },
    Poll { process: usize },
    RestartListener { process: usize },
    RestartProcess { process: usize },
    Advance { secs: u64 },
    Trim,
}

/// A published message, by its index in [`Model::messages`] (its payload is `{"n": index}`).
#[derive(Clone, Debug)]
pub struct Published {
    pub channel: usize,
    pub at: u64,
    pub trimmed: bool,
}

/// A subscriber as the model sees it.
#[derive(Clone, Debug)]
pub struct Subscriber {
    pub process: usize,
    pub channel: usize,
    /// Messages with an index from here on are its own.
    pub from: usize,
    /// Set when unsubscribed (or its process restarted): messages from here on are not.
    pub until: Option<usize>,
}

/// The model: what was published, who listens, and when each listener last polled.
#[derive(Clone, Debug)]
pub struct Model {
    pub instant: bool,
    pub now: u64,
    pub messages: Vec<Published>,
    pub subs: Vec<Subscriber>,
    pub last_poll: [u64; PROCESSES],
    /// The process whose listener the last step polled.
    pub polled: Option<usize>,
}

impl Model {
    pub fn live(&self, process: usize) -> bool {
        self.subs
            .iter()
            .any(|s| s.process == process && s.until.is_none())
    }

    /// Indices of the messages subscriber `s` is owed, in order.
    pub fn owed(&self, s: &Subscriber) -> Vec<usize> {
        let until = s.until.unwrap_or(self.messages.len());
        (s.from..until)
            .filter(|&i| self.messages[i].channel == s.channel)
            .collect()
    }

    pub fn end(&mut self, process: Option<usize>, sub: Option<usize>) {
        let n = self.messages.len();
        for (i, s) in self.subs.iter_mut().enumerate() {
            if s.until.is_none() && (Some(s.process) == process || Some(i) == sub) {
                s.until = Some(n);
            }
        }
    }
}

/// The model as a proptest state machine: it generates the steps and applies them.
pub struct CableModel;

impl ReferenceStateMachine for CableModel {
    type State = Model;
    type Transition = Step;

    fn init_state() -> BoxedStrategy<Model> {
        any::<bool>()
            .prop_map(|instant| Model {
                instant,
                now: 0,
                messages: Vec::new(),
                subs: Vec::new(),
                last_poll: [0; PROCESSES],
                polled: None,
            })
            .boxed()
    }

    fn transitions(state: &Model) -> BoxedStrategy<Step> {
        let process = 0..PROCESSES;
        let channel = 0..CHANNELS.len();
        let mut steps = vec![
            (
                5,
                (process.clone(), channel.clone())
                    .prop_map(|(process, channel)| Step::Publish { process, channel })
                    .boxed(),
            ),
            (
                3,
                (process.clone(), channel)
                    .prop_map(|(process, channel)| Step::Subscribe { process, channel })
                    .boxed(),
            ),
            (
                3,
                process
                    .clone()
                    .prop_map(|process| Step::Poll { process })
                    .boxed(),
            ),
            (
                1,
                process
                    .clone()
                    .prop_map(|process| Step::RestartListener { process })
                    .boxed(),
            ),
            (
                1,
                process
                    .prop_map(|process| Step::RestartProcess { process })
                    .boxed(),
            ),
            (
                2,
                (1..RETENTION)
                    .prop_map(|secs| Step::Advance { secs })
                    .boxed(),
            ),
            (1, Just(Step::Trim).boxed()),
        ];
        let live: Vec<usize> = (0..state.subs.len())
            .filter(|&i| state.subs[i].until.is_none())
            .collect();
        if !live.is_empty() {
            steps.push((
                1,
                proptest::sample::select(live)
                    .prop_map(|sub| Step::Unsubscribe { sub })
                    .boxed(),
            ));
        }
        proptest::strategy::Union::new_weighted(steps).boxed()
    }

    fn preconditions(state: &Model, step: &Step) -> bool {
        match step {
            Step::Unsubscribe { sub } => state.subs.get(*sub).is_some_and(|s| s.until.is_none()),
            // A live listener polls within the retention: time moves only as far as that.
            Step::Advance { secs } => (0..PROCESSES)
                .all(|p| !state.live(p) || state.now + secs - state.last_poll[p] < RETENTION),
            _ => true,
        }
    }

    fn apply(mut state: Model, step: &Step) -> Model {
        state.polled = None;
        match *step {
            Step::Publish { channel, .. } => state.messages.push(Published {
                channel,
                at: state.now,
                trimmed: false,
            }),
            Step::Subscribe { process, channel } => {
                if !state.live(process) {
                    // Its listener passes nothing older it would owe anyone.
                    state.last_poll[process] = state.now;
                }
                state.subs.push(Subscriber {
                    process,
                    channel,
                    from: state.messages.len(),
                    until: None,
                });
            }
            Step::Unsubscribe { sub } => state.end(None, Some(sub)),
            Step::Poll { process } => {
                state.last_poll[process] = state.now;
                state.polled = Some(process);
            }
            Step::RestartListener { .. } => {}
            Step::RestartProcess { process } => state.end(Some(process), None),
            Step::Advance { secs } => state.now += secs,
            Step::Trim => {
                let now = state.now;
                for m in &mut state.messages {
                    if m.at + RETENTION < now {
                        m.trimmed = true;
                    }
                }
            }
        }
        state
    }
}
