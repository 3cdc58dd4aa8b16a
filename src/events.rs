//! What happened, for services that tell the outside world (MQTT): a minute finished (with
//! its preview), a tag was added. Each subscriber gets a bounded queue; a subscriber that
//! does not keep up loses events rather than slowing the recorder or the web.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};

/// Events queued per subscriber, at most.
const QUEUE: usize = 64;

/// One event.
#[derive(Clone, Debug)]
pub enum Event {
    /// A minute of `camera` was finished; `preview` is its full-size JPEG, if it has one.
    Minute {
        /// Camera id.
        camera: String,
        /// The minute (since the epoch).
        minute: i64,
        /// Its preview JPEG.
        preview: Option<PathBuf>,
    },
    /// A tag was added.
    Tag {
        /// Camera id.
        camera: String,
        /// The tag as the API shows it.
        tag: serde_json::Value,
    },
}

/// The subscribers.
#[derive(Default)]
pub struct Events {
    subscribers: Mutex<Vec<SyncSender<Event>>>,
}

impl Events {
    /// A new subscriber's queue.
    pub fn subscribe(&self) -> Receiver<Event> {
        let (tx, rx) = sync_channel(QUEUE);
        self.lock().push(tx);
        rx
    }

    /// Tells every subscriber, without waiting; returns how many queues were full.
    pub fn publish(&self, e: Event) -> usize {
        let mut full = 0;
        self.lock().retain(|tx| match tx.try_send(e.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                full += 1;
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        });
        full
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<SyncSender<Event>>> {
        self.subscribers.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slow_subscriber_loses_events_and_a_gone_one_is_forgotten() {
        let ev = Events::default();
        let rx = ev.subscribe();
        let gone = ev.subscribe();
        drop(gone);
        let tag = || Event::Tag {
            camera: "a".into(),
            tag: serde_json::json!({}),
        };
        assert_eq!(ev.publish(tag()), 0);
        assert_eq!(ev.lock().len(), 1);
        for _ in 0..QUEUE + 5 {
            ev.publish(tag());
        }
        assert_eq!(rx.try_iter().count(), QUEUE);
    }
}
