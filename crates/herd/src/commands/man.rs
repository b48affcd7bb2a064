//! `herd man --dir DIR`: the manual pages, `herd.1` and one page per
//! subcommand (`herd-hub.1`, `herd-servers-load.1`, ...), rendered from the
//! CLI's own definitions. The pages shipped in `packaging/man/` are made
//! this way; a test fails when they differ from what the CLI renders.

use crate::cli::Cli;
use anyhow::Context as _;
use clap::CommandFactory as _;
use std::path::Path;

pub(crate) fn run(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    write_pages(dir).with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
    println!("man pages written to {}", dir.display());
    Ok(())
}

/// Renders every page into `dir`, each naming herd's version as its
/// source (clap_mangen alone gives subcommands none).
fn write_pages(dir: &Path) -> std::io::Result<()> {
    fn write(cmd: clap::Command, dir: &Path) -> std::io::Result<()> {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            write(sub.clone(), dir)?;
        }
        let source = format!("herd {}", env!("CARGO_PKG_VERSION"));
        clap_mangen::Man::new(cmd).source(source).manual("herd manual").generate_to(dir).map(drop)
    }
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    write(cli, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed pages are exactly what the CLI renders now: change a
    /// flag or its help and this fails until `herd man --dir packaging/man`
    /// is run again.
    #[test]
    fn packaging_man_pages_match_the_cli() {
        let fresh = tempfile::tempdir().unwrap();
        write_pages(fresh.path()).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/man");
        let names = |dir: &Path| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".1"))
                .collect();
            names.sort();
            names
        };
        let expected = names(fresh.path());
        assert!(
            expected.contains(&"herd.1".to_owned()) && expected.contains(&"herd-doctor.1".to_owned()),
            "{expected:?}"
        );
        let stale = "packaging/man is stale: run `cargo run -p herd -- man --dir packaging/man`";
        assert_eq!(names(&shipped), expected, "{stale}");
        for name in &expected {
            let want = std::fs::read_to_string(fresh.path().join(name)).unwrap();
            let have = std::fs::read_to_string(shipped.join(name)).unwrap();
            assert!(want == have, "{name} differs; {stale}");
        }
    }
}
