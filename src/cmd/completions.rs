//! `omnidial completions`: prints a shell completion script, generated from
//! the same flag definitions the parser uses, so it cannot fall behind.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use crate::cli::Cli;

/// Examples for `completions --help`.
const EXAMPLES: &str = "\
Examples:
  omnidial completions bash > ~/.local/share/bash-completion/completions/omnidial
  omnidial completions zsh > ~/.zfunc/_omnidial
  omnidial completions fish > ~/.config/fish/completions/omnidial.fish";

/// `omnidial completions`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(hide_possible_values = true)]
    pub shell: Shell,
}

/// Prints the script for the shell asked for.
pub fn execute(args: &CompletionsArgs) -> anyhow::Result<i32> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "omnidial", &mut script);
    super::print_stdout(&String::from_utf8_lossy(&script))?;
    Ok(0)
}
