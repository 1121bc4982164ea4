//! `omnidial sandbox`: serves the simulated API until Ctrl-C.

use crate::sandbox::{SandboxArgs, serve};

/// Serves the sandbox; exits 0 after Ctrl-C.
pub async fn execute(args: SandboxArgs) -> anyhow::Result<i32> {
    serve(args).await?;
    Ok(0)
}
