//! Placeholder interface of the sandbox, replaced on merge.

/// Args.
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    /// Port.
    #[arg(long, default_value_t = 0)]
    pub port: u16,
}

/// Config.
#[derive(Debug, Clone, Default)]
pub struct SandboxConfig {
    /// Seed.
    pub seed: u64,
}

/// Sandbox.
#[derive(Debug)]
pub struct Sandbox;

impl Sandbox {
    /// Start.
    pub async fn start(_config: SandboxConfig, _port: u16) -> anyhow::Result<Sandbox> {
        anyhow::bail!("stub")
    }
    /// Base URL.
    pub fn base_url(&self) -> String {
        String::new()
    }
    /// Shutdown.
    pub async fn shutdown(self) {}
}

/// Serve.
pub async fn serve(_args: SandboxArgs) -> anyhow::Result<()> {
    anyhow::bail!("stub")
}
