//! The servers reports go to, below the outbox and the city layer, which both use them:
//! settings (stored, without the key), keys (in memory only: given again at every open, never
//! stored, never serialisable), one client per server (rebuilt when its settings change,
//! with what was learnt of it assumed), pauses, and the quirks learnt from its answers
//! (refused parameters, unreliable dates, a lagging search, a clock off), kept with when and
//! re-tested after [`RETEST_AFTER_MS`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use curbside_open311::{ApiKey, Open311Client, ServerConfig};
use curbside_store::reports::now_ms;
use curbside_store::{servers, Connection, Store, Transaction};
use curbside_types::{Error, LearntQuirk, Result};

pub use curbside_store::servers::{Learnt, RETEST_AFTER_MS};

/// Every server of one data directory.
pub struct Servers {
    store: Arc<Store>,
    /// Each server's api_key, as the app gave it at open: never stored.
    keys: Mutex<HashMap<String, ApiKey>>,
    /// One client per server, with the settings it was made from.
    clients: Mutex<HashMap<String, (ServerConfig, Arc<Open311Client>)>>,
}

impl Servers {
    /// The servers kept in `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Servers {
            store,
            keys: Mutex::new(HashMap::new()),
            clients: Mutex::new(HashMap::new()),
        }
    }

    /// Stores `config` for `server_id` inside the caller's transaction (its key in memory
    /// only, its fingerprint in the store); true when the settings changed, which lifts a
    /// pause.
    pub fn put(
        &self,
        tx: &Transaction<'_>,
        server_id: &str,
        config: &ServerConfig,
    ) -> Result<bool> {
        let mut keys = self.keys.lock().unwrap();
        match &config.api_key {
            Some(key) => keys.insert(server_id.to_string(), key.clone()),
            None => keys.remove(server_id),
        };
        drop(keys);
        servers::put(tx, server_id, config)
    }

    /// A server's settings (without its key) and why it is paused, if it is.
    pub fn settings(
        &self,
        conn: &Connection,
        server_id: &str,
    ) -> Result<Option<(ServerConfig, Option<String>)>> {
        servers::get(conn, server_id)
    }

    /// What was learnt of a server (nothing yet for an unknown one).
    pub fn learnt(&self, conn: &Connection, server_id: &str) -> Result<Learnt> {
        servers::learnt(conn, server_id)
    }

    /// Keeps `learnt` for a server, inside the caller's transaction; refusals learnt
    /// meanwhile elsewhere (another layer's fetch) are kept too.
    pub fn keep_learnt(
        &self,
        tx: &Transaction<'_>,
        server_id: &str,
        mut learnt: Learnt,
    ) -> Result<()> {
        for (param, at) in servers::learnt(tx, server_id)?.refused {
            let kept = learnt.refused.entry(param).or_insert(at);
            *kept = (*kept).max(at);
        }
        servers::set_learnt(tx, server_id, &learnt)
    }

    /// Learns something of a server at once, in its own transaction (`learn` changes what
    /// is known).
    pub fn learn(&self, server_id: &str, learn: impl FnOnce(&mut Learnt)) -> Result<()> {
        self.store.write(|tx| {
            let mut learnt = servers::learnt(tx, server_id)?;
            learn(&mut learnt);
            servers::set_learnt(tx, server_id, &learnt)
        })
    }

    /// Pauses a server (nothing is sent to it until its settings change).
    pub fn pause(&self, tx: &Transaction<'_>, server_id: &str, reason: &str) -> Result<()> {
        servers::pause(tx, server_id, reason)
    }

    /// The client for a server (its learnt refusals assumed), rebuilt when its settings
    /// change.
    pub fn client(&self, server_id: &str) -> Result<Arc<Open311Client>> {
        self.store.read(|c| self.client_in(c, server_id))
    }

    /// [`Servers::client`] on a connection the caller holds.
    pub fn client_in(&self, conn: &Connection, server_id: &str) -> Result<Arc<Open311Client>> {
        let (mut config, _) = servers::get(conn, server_id)?
            .ok_or_else(|| Error::ServerNotFound(server_id.into()))?;
        config.api_key = self.keys.lock().unwrap().get(server_id).cloned();
        let mut clients = self.clients.lock().unwrap();
        if let Some((cached, client)) = clients.get(server_id) {
            if *cached == config {
                return Ok(Arc::clone(client));
            }
        }
        let client = Arc::new(Open311Client::new(config.clone())?);
        client.assume_refused(servers::learnt(conn, server_id)?.refused_params(now_ms()));
        clients.insert(server_id.to_string(), (config, Arc::clone(&client)));
        Ok(client)
    }

    /// Keeps what `client` learnt its server refuses or ignores, so that the next run (and
    /// the next process) does not ask again until the quirk is re-tested.
    pub fn remember_refusals(&self, server_id: &str, client: &Open311Client) -> Result<()> {
        let refused = client.refused_params();
        let now = now_ms();
        let mut known = self.store.read(|c| servers::learnt(c, server_id))?;
        if known.refuse(&refused, now) {
            self.store
                .write(|tx| servers::remember_refused(tx, server_id, &refused, now))?;
        }
        Ok(())
    }

    /// What was learnt of every server's quirks from its answers, with when.
    pub fn learnt_quirks(&self) -> Result<Vec<LearntQuirk>> {
        let all = self.store.read(servers::all_learnt)?;
        Ok(all
            .into_iter()
            .flat_map(|(server_id, learnt)| {
                learnt
                    .quirks()
                    .into_iter()
                    .map(move |(quirk, since_ms)| LearntQuirk {
                        server_id: server_id.clone(),
                        quirk,
                        since_ms,
                    })
            })
            .collect())
    }
}
