//! Renders the charts of a demo business into a folder, to look at them.
//!
//! ```sh
//! cargo run -p clientela-charts --example render_demo -- /tmp/charts \
//!     --customers 2000 --periods 36 --period month --by country
//! ```
//!
//! The demo is generated in memory (seed 42), reported by the real engine
//! (the overview's and the growth report's sections together, as the CLI
//! passes them) and every chart is written as `<folder>/<file_name>`.

use clientela_core::Config;
use clientela_demo::{generate, DemoConfig};
use clientela_engine::{Engine, ReportRequest};
use clientela_table::Dataset;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = std::path::PathBuf::from(args.next().ok_or(
        "usage: render_demo FOLDER [--customers N] [--periods N] [--period G] [--by ATTR]",
    )?);
    let mut customers = 2000;
    let mut req = ReportRequest::default();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--customers" => customers = value.parse()?,
            "--periods" => req.periods = Some(value.parse()?),
            "--period" => req.granularity = value.parse()?,
            "--by" => req.by = Some(value),
            _ => return Err(format!("unknown flag {flag}").into()),
        }
    }
    let data = generate(&DemoConfig::with_customers(customers));
    let engine = Engine::new(Dataset::from_canonical(&data.tables), Config::default())?;
    let mut report = engine.overview(&req).await?;
    report.sections.extend(engine.growth(&req).await?.sections);
    std::fs::create_dir_all(&out)?;
    for chart in clientela_charts::render(&report)? {
        let path = out.join(&chart.file_name);
        std::fs::write(&path, &chart.svg)?;
        println!("{}  {}", path.display(), chart.title);
    }
    Ok(())
}
