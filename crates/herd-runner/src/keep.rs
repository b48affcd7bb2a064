//! Servers loaded at run time outlive the agent process.
//!
//! `servers_load` saves the server's spec in the agent's store before it
//! loads it, and `servers_unload` removes it before it stops it, each in
//! the turn of that name (so two loads of one name cannot leave one
//! server running and the other saved). Servers of the config are never
//! saved: the config says what they are at every start.
//!
//! At start the agent loads its config's servers, then
//! [`Runner::restore`]s the saved ones. A saved server named like a config
//! server is not loaded: the config wins, and the saved spec stays until a
//! `servers_unload` of that name. A saved spec that no longer reads or
//! validates is skipped with a warning rather than stopping the agent.

use crate::Runner;
use crate::spec::{ServerSpec, SpecError};
use herd_store::StoreError;

/// Whether a load or an unload also changes what the store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// Save or remove the server in the store too.
    Yes,
    /// Only this process's servers change.
    No,
}

/// Why a load or an unload did not happen.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// The spec is not usable.
    #[error(transparent)]
    Spec(#[from] SpecError),
    /// The store could not record the change; nothing was changed.
    #[error("server {name:?}: the agent's store failed ({error}); nothing was changed")]
    Keep {
        /// The server.
        name: String,
        /// What the store said.
        error: StoreError,
    },
}

impl Runner {
    /// Saves `spec` in the store, if there is one. A spec the store refuses
    /// (larger than it keeps) is a [`LoadError::Spec`].
    pub(crate) async fn keep(&self, spec: &ServerSpec) -> Result<(), LoadError> {
        let Some(store) = &self.inner.config.store else { return Ok(()) };
        let name = spec.name.clone();
        let value = serde_json::to_value(spec).map_err(|e| SpecError { name: name.clone(), reason: e.to_string() })?;
        match store.save_server(&spec.name, &value).await {
            Ok(()) => Ok(()),
            // Refused for what it is (too large, say): the caller's to fix.
            Err(error @ StoreError::Invalid { .. }) => Err(SpecError { name, reason: error.to_string() }.into()),
            Err(error) => Err(LoadError::Keep { name, error }),
        }
    }

    /// Removes the server `name` from the store, if there is one; whether
    /// it was saved.
    pub(crate) async fn forget(&self, name: &str) -> Result<bool, LoadError> {
        let Some(store) = &self.inner.config.store else { return Ok(false) };
        match store.remove_server(name).await {
            Ok(()) => Ok(true),
            Err(StoreError::NotFound(_)) => Ok(false),
            Err(error) => Err(LoadError::Keep { name: name.to_owned(), error }),
        }
    }

    /// Loads the servers saved by earlier `servers_load` calls, except
    /// those named like a server already loaded (the config's, loaded
    /// first, win). Returns how many were loaded; fails only when the
    /// store cannot be read.
    pub async fn restore(&self) -> Result<usize, StoreError> {
        let Some(store) = &self.inner.config.store else { return Ok(0) };
        let mut loaded = 0;
        for record in store.list_servers().await? {
            let name = record.name;
            if self.server(&name).is_some() {
                tracing::info!(server = name, "a saved server is named like a config server; the config's runs");
                continue;
            }
            let spec = match serde_json::from_value::<ServerSpec>(record.spec) {
                Ok(spec) if spec.name == name => spec,
                Ok(spec) => {
                    tracing::warn!(server = name, saved_as = spec.name, "skipping a saved server: names disagree");
                    continue;
                }
                Err(error) => {
                    tracing::warn!(server = name, %error, "skipping a saved server that no longer reads");
                    continue;
                }
            };
            match self.load(spec).await {
                Ok(_) => loaded += 1,
                Err(error) => tracing::warn!(server = name, %error, "skipping a saved server that is not valid"),
            }
        }
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests;
