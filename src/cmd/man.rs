//! `omnidial man`: prints a man page (roff) generated from the flag
//! definitions, with the exit codes and environment variables that
//! [`EXIT_CODES`] lists for `--help`, so the two cannot disagree.

use clap::{Args, CommandFactory};
use clap_mangen::Man;

use crate::cli::{Cli, EXIT_CODES};

/// Examples for `man --help`.
const EXAMPLES: &str = "\
Examples:
  omnidial man | man -l -
  omnidial man run > omnidial-run.1";

/// Heading in [`EXIT_CODES`] that starts the exit codes.
const EXIT_HEADING: &str = "Exit codes:";

/// Heading in [`EXIT_CODES`] that starts the environment variables.
const ENV_HEADING: &str = "Environment:";

/// `omnidial man`.
#[derive(Debug, Clone, Args)]
#[command(after_help = EXAMPLES)]
pub struct ManArgs {
    /// A subcommand to document instead of the whole program, e.g. run.
    pub command: Option<String>,
}

/// Prints the page.
pub fn execute(args: &ManArgs) -> anyhow::Result<i32> {
    super::print_stdout(&render(args.command.as_deref())?)?;
    Ok(0)
}

/// The page for the program, or for one of its subcommands.
pub fn render(subcommand: Option<&str>) -> anyhow::Result<String> {
    // Building names each subcommand `omnidial-NAME` for its own page.
    let mut cmd = Cli::command();
    cmd.build();
    if let Some(name) = subcommand {
        let names: Vec<String> = cmd.get_subcommands().map(|c| c.to_string()).collect();
        cmd = cmd
            .find_subcommand(name)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no command {name:?} (commands: {})", names.join(", ")))?
            // A subcommand carries no version of its own; the page's
            // version section needs one.
            .version(crate::version::VERSION);
    }
    // Without its after-help, whose plain text would otherwise become an
    // unformatted section: we render its two lists as sections of their own.
    let man = Man::new(cmd.after_help(None::<&str>));

    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    man.render_subcommands_section(&mut page)?;
    page.extend(section("EXIT STATUS", &listed_under(EXIT_HEADING)).bytes());
    page.extend(section("ENVIRONMENT", &listed_under(ENV_HEADING)).bytes());
    man.render_version_section(&mut page)?;
    Ok(String::from_utf8_lossy(&page).into_owned())
}

/// The `(term, meaning)` pairs listed under a heading of [`EXIT_CODES`]:
/// lines indented by two spaces, whose term ends at the first run of two
/// spaces; a line indented deeper continues the meaning above it.
fn listed_under(heading: &str) -> Vec<(String, String)> {
    let mut lines = EXIT_CODES.lines().skip_while(|line| line.trim() != heading);
    lines.next();
    let mut items: Vec<(String, String)> = Vec::new();
    for line in lines.take_while(|line| line.starts_with("  ")) {
        let is_item = !line[2..].starts_with(' ');
        match (is_item, line.trim().split_once("  "), items.last_mut()) {
            (true, Some((term, meaning)), _) => {
                items.push((term.to_string(), meaning.trim().to_string()))
            }
            (false, _, Some((_, meaning))) => {
                meaning.push(' ');
                meaning.push_str(line.trim());
            }
            _ => {}
        }
    }
    items
}

/// A man page section listing terms and their meanings.
fn section(title: &str, items: &[(String, String)]) -> String {
    let mut roff = format!(".SH \"{title}\"\n");
    for (term, meaning) in items {
        roff += &format!(".TP\n\\fB{}\\fR\n{}\n", escape(term), escape(meaning));
    }
    roff
}

/// Escapes text for roff: backslashes, and a leading dot or quote that
/// would read as a request.
fn escape(text: &str) -> String {
    let text = text.replace('\\', "\\e").replace('-', "\\-");
    if text.starts_with(['.', '\'']) {
        format!("\\&{text}")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_exit_code_and_variable_is_listed() {
        let codes: Vec<String> = listed_under(EXIT_HEADING)
            .into_iter()
            .map(|c| c.0)
            .collect();
        assert_eq!(codes, ["0", "1", "2", "3", "130"]);
        let vars: Vec<String> = listed_under(ENV_HEADING).into_iter().map(|c| c.0).collect();
        assert!(vars.contains(&"OMNIDIM_API_KEY".to_string()), "{vars:?}");
        assert!(vars.contains(&"NO_COLOR".to_string()), "{vars:?}");
    }

    #[test]
    fn roff_requests_cannot_be_smuggled_in() {
        assert_eq!(escape(".SH x"), "\\&.SH x");
        assert_eq!(escape("a\\b-c"), "a\\eb\\-c");
    }
}
