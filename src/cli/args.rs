//! The argument groups several subcommands flatten in: where a server listens ([`ListenArgs`],
//! for `serve`/`replay` and `record`) and what one cassette file may hold ([`CassetteLimitArgs`],
//! for every command that loads cassettes).
//!
//! Each group sets its own help heading; a subcommand flattens them after its own flags, so the
//! headings come last in `--help`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use ivs_vcr::__private::load_cassettes_limited;

use super::parse::{parse_bind, parse_mib};

/// Where `record` and `replay` listen: the arguments both share.
///
/// `--region` is not among them: record refuses a region that is not an AWS region name (it picks
/// the upstream host), while replay only matches on it, so the two differ in parsing and default.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Listening")]
pub struct ListenArgs {
    /// Port to listen on (default 7474); 0 picks a free port (printed at start).
    #[arg(
        short,
        long,
        hide_env = true,
        hide_default_value = true,
        env = "IVS_VCR_PORT",
        default_value_t = 7474
    )]
    pub port: u16,

    /// Address to listen on: an IP address, or `localhost` (default 127.0.0.1). Anything but
    /// loopback lets other machines use the server (and record's credentials).
    #[arg(long, hide_env = true, hide_default_value = true, env = "IVS_VCR_BIND", default_value = "127.0.0.1", value_parser = parse_bind)]
    pub bind: IpAddr,

    /// Also accept requests whose `Host` is this name (`name` or `name:port`), e.g. a container's
    /// service name; by default only the bound address and loopback names are, others get 403.
    #[arg(
        long = "allow-host",
        value_name = "HOST",
        hide_env = true,
        env = "IVS_VCR_ALLOW_HOST",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Stop as on SIGTERM when standard input ends: a parent holding the other end of the pipe
    /// (as the Python package does) ties the server's life to its own, even through SIGKILL.
    #[arg(long)]
    pub exit_on_stdin_close: bool,
}

impl ListenArgs {
    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}

/// What one cassette file may hold: the arguments of every command that loads cassettes
/// (`serve`, `replay`, `record`, `diff`, `verify`), under one heading with one short text each;
/// the memory figures behind the defaults are the README's (Limits). The nesting depth (128
/// levels) is fixed.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Cassette limits")]
pub struct CassetteLimitArgs {
    /// Refuse cassette files larger than this, in MiB (default 64). Loading takes up to 7 times a
    /// file's size in memory (up to 40 in other YAML styles): raise it only for files you trust.
    #[arg(long, value_name = "MIB", hide_env = true, hide_default_value = true, env = "IVS_VCR_MAX_CASSETTE_MIB", default_value = "64",
          value_parser = parse_mib)]
    pub max_cassette_mib: u64,

    /// Refuse cassette files holding more interactions than this (replay keeps about 1.2 KB per
    /// interaction); for a large cassette, raise --max-cassette-mib too.
    #[arg(
        long,
        value_name = "N",
        hide_env = true,
        env = "IVS_VCR_MAX_INTERACTIONS",
        default_value_t = 100_000
    )]
    pub max_interactions: usize,
}

impl CassetteLimitArgs {
    /// The size limit in bytes.
    pub fn max_bytes(&self) -> u64 {
        self.max_cassette_mib.saturating_mul(1024 * 1024)
    }

    /// The cassettes of a file or directory, as `diff` and `verify` read them.
    pub(super) fn load(
        &self,
        path: &Path,
    ) -> Result<Vec<(PathBuf, ivs_vcr::Cassette)>, ivs_vcr::CassetteError> {
        load_cassettes_limited(path, self.max_bytes(), self.max_interactions)
    }
}
