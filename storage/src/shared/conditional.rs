//! Optimistic operations: read, decide, write only if nothing changed in between, and try
//! again after a lost race.
//!
//! Every such operation counts its tries with [`Attempts`], so the limit
//! (`max_update_attempts`), the jittered backoff between tries and the error when they run
//! out ([`Error::Contention`] naming the key) are the same everywhere.
//! [`Storage::write_if_unchanged`] is the shape most of them have: one read, a pure decide
//! step, one conditional script.

use super::{maybe, pause, Storage};
use crate::commands::{ScriptCall, WriteOutcome};
use crate::error::{Error, Result};
use crate::model::Backoff;

/// The tries of one optimistic operation on `key`.
pub(super) struct Attempts {
    key: String,
    made: u32,
    limit: u32,
    backoff: Backoff,
}

impl Attempts {
    /// Up to `limit` tries on `key`.
    pub(super) fn new(key: String, limit: u32) -> Self {
        Attempts {
            key,
            made: 0,
            limit,
            backoff: Backoff::retry(),
        }
    }

    /// Starts the next try: at once for the first, after a backoff for the others;
    /// [`Error::Contention`] once every try lost its race.
    #[maybe]
    pub(super) async fn next(&mut self) -> Result<()> {
        if self.made >= self.limit {
            return Err(Error::Contention {
                key: std::mem::take(&mut self.key),
                attempts: self.limit,
            });
        }
        if self.made > 0 {
            pause(self.backoff.next_wait()).await;
        }
        self.made += 1;
        Ok(())
    }
}

/// What the decide step of [`Storage::write_if_unchanged`] made of what it read.
pub(super) enum Decision<T> {
    /// Nothing to write: this is the answer.
    Done(T),
    /// Run this conditional script; once it has written, `T` is the answer. A resend
    /// after a failure that left the outcome unknown is safe: a second run finds the
    /// first one's write and answers stale, and the next try reads it.
    Write(ScriptCall, T),
    /// The same for a script whose second run would give another answer (a delete: the
    /// next try would find nothing and answer that nothing was there): never resent.
    WriteOnce(ScriptCall, T),
}

impl Storage {
    /// The optimistic write: `read` what the decision depends on, `decide` (pure: no I/O)
    /// what to write, and run that script, which writes only if what was read is still
    /// there; a stale answer is a lost race, and the next try reads again. A refusal
    /// other than stale (a conflict, a fence) is the error `refused` makes of it, and
    /// nothing is written.
    #[maybe]
    pub(super) async fn write_if_unchanged<S, T, R, F, D>(
        &self,
        key: &str,
        mut read: R,
        mut decide: D,
        refused: impl Fn(WriteOutcome) -> Error,
    ) -> Result<T>
    where
        R: FnMut() -> F,
        F: std::future::Future<Output = Result<S>>,
        D: FnMut(S) -> Result<Decision<T>>,
    {
        let mut attempts = self.attempts(key);
        loop {
            attempts.next().await?;
            let (reply, answer): (String, T) = match decide(read().await?)? {
                Decision::Done(answer) => return Ok(answer),
                Decision::Write(call, answer) => (self.script(&call).await?, answer),
                Decision::WriteOnce(call, answer) => (self.script_once(&call).await?, answer),
            };
            match WriteOutcome::parse(&reply)? {
                WriteOutcome::Written => return Ok(answer),
                WriteOutcome::Stale => {}
                refusal => return Err(refused(refusal)),
            }
        }
    }

    /// The tries of an optimistic operation on `key`, up to `max_update_attempts`.
    pub(super) fn attempts(&self, key: &str) -> Attempts {
        Attempts::new(key.to_owned(), self.config().max_update_attempts)
    }
}
