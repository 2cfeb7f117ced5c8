//! A small connection pool: idle connections kept for reuse, new ones opened
//! on demand, broken ones dropped.

use std::ops::{Deref, DerefMut};
use std::sync::Mutex;

use crate::StoreError;

/// A connection the pool can hold.
pub(crate) trait PoolConn: Send {
    /// Whether the connection can be handed out again.
    fn healthy(&mut self) -> bool;
}

type Factory<C> = Box<dyn Fn() -> Result<C, StoreError> + Send + Sync>;

/// Keeps up to `max_idle` idle connections; opens more when all are busy.
pub(crate) struct Pool<C: PoolConn> {
    idle: Mutex<Vec<C>>,
    make: Factory<C>,
    max_idle: usize,
}

impl<C: PoolConn> Pool<C> {
    pub(crate) fn new(
        max_idle: usize,
        make: impl Fn() -> Result<C, StoreError> + Send + Sync + 'static,
    ) -> Self {
        Pool {
            idle: Mutex::new(Vec::new()),
            make: Box::new(make),
            max_idle,
        }
    }

    /// Puts an already opened connection in the pool.
    pub(crate) fn put(&self, conn: C) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < self.max_idle {
                idle.push(conn);
            }
        }
    }

    /// An idle connection, or a new one.
    pub(crate) fn get(&self) -> Result<Pooled<'_, C>, StoreError> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match reused {
            Some(c) => c,
            None => (self.make)()?,
        };
        Ok(Pooled {
            pool: self,
            conn: Some(conn),
        })
    }
}

/// A connection on loan from a [`Pool`]; returned when dropped.
pub(crate) struct Pooled<'a, C: PoolConn> {
    pool: &'a Pool<C>,
    conn: Option<C>,
}

impl<C: PoolConn> Deref for Pooled<'_, C> {
    type Target = C;
    fn deref(&self) -> &C {
        // Always Some until drop.
        match &self.conn {
            Some(c) => c,
            None => unreachable!("pooled connection used after drop"),
        }
    }
}

impl<C: PoolConn> DerefMut for Pooled<'_, C> {
    fn deref_mut(&mut self) -> &mut C {
        match &mut self.conn {
            Some(c) => c,
            None => unreachable!("pooled connection used after drop"),
        }
    }
}

impl<C: PoolConn> Drop for Pooled<'_, C> {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            if conn.healthy() {
                self.pool.put(conn);
            }
        }
    }
}
