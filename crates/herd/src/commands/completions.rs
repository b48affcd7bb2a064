//! `herd completions SHELL`: the shell's completion script for every
//! subcommand and flag, generated from the same definitions the parser
//! uses, so it cannot fall behind the CLI.

use crate::cli::Cli;
use clap::CommandFactory as _;
use clap_complete::Shell;
use std::io::Write as _;

pub(crate) fn run(shell: Shell) -> anyhow::Result<()> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "herd", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()?;
    Ok(())
}
