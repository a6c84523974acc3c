//! Group commit: pushes that arrive while the writer is busy wait in a queue, and the writer
//! applies everything waiting in one transaction with one commit (one fsync on SQLite, one WAL
//! flush on PostgreSQL). Each push is answered only after the commit that holds it is durable.
//!
//! There is no timer: a push that arrives when the writer is idle is committed at once, alone;
//! under load the queue fills while a commit is in flight, so the group grows with the load and
//! the fsyncs per push fall. Each push runs under its own savepoint, so one push's storage failure
//! is rolled back alone and answered alone; a failed commit fails every push of the group (none
//! of it was kept, and each device retries).

use std::sync::Arc;
use std::sync::mpsc;

use xuncha_core::model::Op;
use xuncha_core::sync::protocol::OpResult;

use crate::apply::PushRules;
use crate::store::{Principal, ServerStore, StoreResult};

/// A group stops taking more pushes once it holds this many operations (a commit's work, and
/// the wait of the first push in it, stay bounded).
pub const MAX_GROUP_OPS: usize = 10_000;

/// Pushes waiting for the writer at most; more wait for a place (back-pressure, bounded memory:
/// each holds at most one request body).
pub const MAX_QUEUED_PUSHES: usize = 256;

/// One device's push, as the writer applies it.
#[derive(Debug, Clone)]
pub struct PushJob<'a> {
    /// The caller.
    pub who: &'a Principal,
    /// Its operations, in order.
    pub ops: &'a [Op],
    /// Server time of the push.
    pub now_ms: i64,
    /// Clock skew and deadline horizon.
    pub rules: &'a PushRules,
    /// The request's span: what the writer logs about this push carries its request id.
    pub span: tracing::Span,
}

impl<'a> PushJob<'a> {
    /// A push in the caller's current span.
    pub fn new(who: &'a Principal, ops: &'a [Op], now_ms: i64, rules: &'a PushRules) -> Self {
        PushJob {
            who,
            ops,
            now_ms,
            rules,
            span: tracing::Span::current(),
        }
    }
}

struct Queued {
    who: Principal,
    ops: Vec<Op>,
    now_ms: i64,
    rules: PushRules,
    span: tracing::Span,
    reply: tokio::sync::oneshot::Sender<StoreResult<Vec<OpResult>>>,
}

/// The queue in front of the writer thread.
pub struct GroupCommit {
    queue: mpsc::Sender<Queued>,
    places: tokio::sync::Semaphore,
    groups: prometheus::Histogram,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GroupCommit")
    }
}

impl GroupCommit {
    /// Start the writer thread of `store`. It ends when the last handle is dropped.
    pub fn start(
        store: Arc<dyn ServerStore>,
        groups: prometheus::Histogram,
    ) -> std::io::Result<Self> {
        let (queue, waiting) = mpsc::channel::<Queued>();
        let sizes = groups.clone();
        std::thread::Builder::new()
            .name("xuncha-writer".into())
            .spawn(move || writer(store.as_ref(), &waiting, &sizes))?;
        Ok(GroupCommit {
            queue,
            places: tokio::sync::Semaphore::new(MAX_QUEUED_PUSHES),
            groups,
        })
    }

    /// Apply one device's push with whatever else is waiting; answered after its commit.
    pub async fn push(
        &self,
        who: Principal,
        ops: Vec<Op>,
        now_ms: i64,
        rules: PushRules,
    ) -> StoreResult<Vec<OpResult>> {
        let stopped = || xuncha_core::Error::StorageUnavailable("the writer has stopped".into());
        let _place = self.places.acquire().await.map_err(|_| stopped())?;
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.queue
            .send(Queued {
                who,
                ops,
                now_ms,
                rules,
                span: tracing::Span::current(),
                reply,
            })
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Groups committed so far and the pushes they held (for tests and `/metrics`).
    pub fn committed(&self) -> (u64, f64) {
        (self.groups.get_sample_count(), self.groups.get_sample_sum())
    }
}

/// The writer: take what is waiting (at least one push), apply it in one transaction, answer.
fn writer(
    store: &dyn ServerStore,
    waiting: &mpsc::Receiver<Queued>,
    sizes: &prometheus::Histogram,
) {
    while let Ok(first) = waiting.recv() {
        let mut ops = first.ops.len();
        let mut group = vec![first];
        while ops < MAX_GROUP_OPS {
            match waiting.try_recv() {
                Ok(next) => {
                    ops += next.ops.len();
                    group.push(next);
                }
                Err(_) => break,
            }
        }
        let jobs: Vec<PushJob<'_>> = group
            .iter()
            .map(|q| PushJob {
                who: &q.who,
                ops: &q.ops,
                now_ms: q.now_ms,
                rules: &q.rules,
                span: q.span.clone(),
            })
            .collect();
        let t0 = std::time::Instant::now();
        let answers =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| store.push_group(&jobs)))
                .unwrap_or_else(|_| {
                    jobs.iter()
                        .map(|_| {
                            Err(xuncha_core::Error::Database(
                                "the writer failed on this group of pushes".into(),
                            ))
                        })
                        .collect()
                });
        tracing::debug!(
            pushes = group.len(),
            ops,
            ms = t0.elapsed().as_secs_f64() * 1000.0,
            "push group committed"
        );
        drop(jobs);
        sizes.observe(group.len() as f64);
        for (q, answer) in group.into_iter().zip(answers) {
            // The caller may have gone (its connection closed): its push is kept all the same,
            // and the device's retry gets the first answer.
            let _ = q.reply.send(answer);
        }
    }
}

/// The same failure for each push of a group whose transaction failed (a group of one gets the
/// error itself).
pub fn each_failed(e: xuncha_core::Error, pushes: usize) -> Vec<StoreResult<Vec<OpResult>>> {
    if pushes == 1 {
        return vec![Err(e)];
    }
    (0..pushes)
        .map(|_| {
            Err(match &e {
                xuncha_core::Error::StorageUnavailable(m) => {
                    xuncha_core::Error::StorageUnavailable(m.clone())
                }
                other => xuncha_core::Error::Database(other.to_string()),
            })
        })
        .collect()
}
