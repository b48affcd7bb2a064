//! What a process herd starts inherits from herd's environment.
//!
//! herd holds secrets in its environment: its own tokens (`HERD_TOKEN`,
//! `HERD_HUB_TOKEN`), the key signing stateless request state
//! (`HERD_STATE_KEY`), the database URL (`HERD_DATABASE_URL`), and whatever
//! variables its config names as token sources (`token_env`, ...). None of
//! them may reach a child: a `shell` command, a `shell_bg` job, an
//! installer or a supervised server. Every spawn goes through one
//! [`ChildEnv`], built once at start from the config, and calls
//! [`ChildEnv::scrub`] on its command.
//!
//! The rule is a deny list over the inherited environment, not an allow
//! list: commands and servers keep `PATH`, `HOME`, proxies, locales and
//! whatever else the user runs herd with. Removed are
//!
//! - every `HERD_*` variable (herd's own, secrets or not);
//! - every variable the config names ([`ChildEnv::hide_var`]);
//! - every variable holding a secret's value under another name: the
//!   value of any hidden secret variable or any value given to
//!   [`ChildEnv::hide_value`] (a token from the command line or the
//!   config file). Equal values always count; a secret of 16 bytes or
//!   more also counts when it appears inside a longer value.
//!
//! Variables set explicitly after the scrub (a `shell` call's `env`, a
//! server's `env` in its spec) are what the user asked for and pass as
//! given.

use std::collections::BTreeSet;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::OsStrExt as _;
use std::sync::Arc;

/// The prefix of herd's own variables, all withheld from children.
const OWN_PREFIX: &[u8] = b"HERD_";

/// herd's own secret variables: withheld like every `HERD_*` variable, and
/// their values are looked for under other names too.
pub const HERD_SECRET_VARS: [&str; 5] =
    ["HERD_TOKEN", "HERD_HUB_TOKEN", "HERD_AGENT_TOKEN", "HERD_STATE_KEY", "HERD_DATABASE_URL"];

/// A secret this long is also found inside a longer value; a shorter one
/// only as a whole value (a short secret would match too much by chance).
const MIN_EMBEDDED: usize = 16;

/// The environment children of herd inherit: herd's minus its secrets.
/// Cheap to clone. `Debug` names the hidden variables, never a value.
#[derive(Clone)]
pub struct ChildEnv {
    inner: Arc<Hidden>,
}

#[derive(Clone)]
struct Hidden {
    /// Variables withheld besides `HERD_*`, whose values are secrets too.
    vars: BTreeSet<OsString>,
    /// Secret values known without a variable (a `--token`).
    values: Vec<OsString>,
}

impl Default for ChildEnv {
    /// herd's own variables withheld, nothing else named yet.
    fn default() -> Self {
        let vars = HERD_SECRET_VARS.iter().map(OsString::from).collect();
        Self { inner: Arc::new(Hidden { vars, values: Vec::new() }) }
    }
}

impl fmt::Debug for ChildEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildEnv")
            .field("vars", &self.inner.vars)
            .field("values", &format_args!("{} hidden", self.inner.values.len()))
            .finish()
    }
}

impl ChildEnv {
    /// Also withholds `name` and its value under any other name: a
    /// variable the config reads a secret from.
    pub fn hide_var(mut self, name: impl Into<OsString>) -> Self {
        Arc::make_mut(&mut self.inner).vars.insert(name.into());
        self
    }

    /// Also withholds any variable holding `value` (empty values are
    /// ignored): a secret herd got some other way than the environment.
    pub fn hide_value(mut self, value: impl Into<OsString>) -> Self {
        let value = value.into();
        if !value.is_empty() {
            Arc::make_mut(&mut self.inner).values.push(value);
        }
        self
    }

    /// Removes from `command` every inherited variable a child must not
    /// see. Call it before setting the child's explicit variables.
    pub fn scrub(&self, command: &mut tokio::process::Command) {
        for name in self.withheld(std::env::vars_os()) {
            command.env_remove(name);
        }
    }

    /// The names, among `env`, of the variables to withhold.
    fn withheld(&self, env: impl Iterator<Item = (OsString, OsString)>) -> Vec<OsString> {
        let env: Vec<(OsString, OsString)> = env.collect();
        let named = env.iter().filter(|(k, v)| self.inner.vars.contains(k) && !v.is_empty()).map(|(_, v)| v);
        let secrets: Vec<&OsStr> = named.chain(&self.inner.values).map(OsString::as_os_str).collect();
        env.iter()
            .filter(|(name, value)| {
                name.as_bytes().starts_with(OWN_PREFIX)
                    || self.inner.vars.contains(name)
                    || secrets.iter().any(|secret| holds(value, secret))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

/// Whether `value` is `secret`, or holds it when the secret is long enough
/// to be found by more than chance.
fn holds(value: &OsStr, secret: &OsStr) -> bool {
    let (value, secret) = (value.as_bytes(), secret.as_bytes());
    value == secret || (secret.len() >= MIN_EMBEDDED && value.windows(secret.len()).any(|w| w == secret))
}

#[cfg(test)]
mod tests;
