//! `clientela`: customer lifecycle analytics from the command line.
//!
//! The binary is thin: it parses flags and hands over to [`app::run`].

mod app;
mod args;
mod demo;
mod export;
mod import;
mod output;
mod schema;
mod segment;
mod source;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = <args::Cli as clap::Parser>::parse();
    match app::run(args) {
        Ok(code) => code,
        Err(e) => {
            // A closed pipe (`clientela report | head`) is not a failure.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
