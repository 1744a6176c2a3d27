//! Command-line flags: what the user types, before it is checked.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Customer lifecycle analytics: who pays, who is active, where every
/// customer stands, and how the customer base grows.
#[derive(Debug, Parser)]
#[command(name = "clientela", version, about, long_about = None)]
pub struct Cli {
    /// The store (SQLite file). Example: --db shop.db
    #[arg(
        long,
        global = true,
        env = "CLIENTELA_DB",
        default_value = "clientela.db"
    )]
    pub db: PathBuf,
    /// Configuration file with thresholds and windows (default: ./clientela.toml if present).
    /// Example: --config settings/clientela.toml
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Time zone of reports and of times without an offset (IANA name).
    /// Example: --tz Europe/Rome
    #[arg(long, global = true)]
    pub tz: Option<String>,
    /// Days of the activity window (default 30). Example: --activity-window 14
    #[arg(long, global = true)]
    pub activity_window: Option<u32>,
    /// Days of silence after which a buyer is churned (default 180).
    #[arg(long, global = true)]
    pub churn_window: Option<u32>,
    /// Event kinds that make a customer active, comma separated: order,
    /// subscription, support, contact_inbound, contact, usage, survey, loyalty.
    /// Example: --qualifying order,subscription
    #[arg(long, global = true)]
    pub qualifying: Option<String>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a realistic demo business, store it and print the overview.
    /// Example: clientela demo --customers 20000
    Demo(DemoArgs),
    /// Import CSV, JSON Lines or Parquet files into the store.
    /// Example: clientela import orders.csv customers.csv
    Import(ImportArgs),
    /// The overview report: paying, active, stages, churn, NPS, capital.
    /// Example: clientela report --period month --by country
    Report(ReportArgs),
    /// List customers with their stage and value.
    /// Example: clientela customers --stage at_risk --sort capital --limit 20
    Customers(CustomersArgs),
    /// The profile of one customer.
    /// Example: clientela customer C0000042
    Customer(CustomerArgs),
    /// Growth: MRR and ARR with new, expansion, reactivation, contraction
    /// and churn per period, growth MRR, revenue retention, quick ratio,
    /// ARPA and subscription LTV, and every customer's movements.
    /// Example: clientela growth --period quarter --periods 8
    Growth(ReportArgs),
    /// Predicted customer value: fit a purchase model (BG/NBD, MBG/NBD or
    /// Pareto/NBD) and Gamma-Gamma, check it on a holdout period, and show
    /// P(alive), expected purchases, CLV per customer and customer equity.
    /// Example: clientela clv --model auto --horizon 12m --discount 0.01
    Clv(ClvArgs),
    /// Run SQL over the data: the canonical tables by their names (orders,
    /// subscriptions, …, with customer_id and local_date) and `customers`
    /// with every computed field (stage, capital, p_alive, value_tier,
    /// age_band, RFM scores and rfm_segment, …; see docs/segments.md); with
    /// --report also every table of the overview as report_<name>, with
    /// --growth every table of the growth report as growth_<name>.
    /// Example: clientela sql "SELECT stage, COUNT(*) FROM customers GROUP BY stage"
    Sql(SqlArgs),
    /// Save, list or remove user-defined segments: filter expressions over
    /// the per-customer table, usable in every report with --segment NAME.
    /// Example: clientela segment save vip "capital > 500 and stage in ('loyal','promoter')"
    #[command(subcommand)]
    Segment(SegmentCommand),
    /// The customer base cut by stage, value tier, RFM segment, tags,
    /// attributes and saved segments, with customers, activity, capital,
    /// revenue, tenure and NPS per segment.
    /// Example: clientela segments --attributes country,age_band
    Segments(SegmentsArgs),
    /// Print the canonical schema of every record kind (docs/schema.md).
    Schema,
}

/// `segment` subcommands.
#[derive(Debug, Subcommand)]
pub enum SegmentCommand {
    /// Save (or replace) a segment. The expression is SQL over the
    /// per-customer table: attributes (country, city, gender, birth_year,
    /// age, age_band, tags via has_tag(tags, 'x'), source, channel,
    /// consent), stage, active, paying, capital, net_revenue, revenue_365,
    /// orders, tenure_days, silence_days, latest_nps, p_alive, value_tier,
    /// r_score, f_score, m_score, rfm_segment (see docs/metrics.md). It is
    /// checked on the store's data before it is saved.
    /// Example: clientela segment save it_loyal "country = 'IT' and stage in ('loyal','promoter')"
    Save(Box<SegmentSaveArgs>),
    /// List the saved segments.
    List(SegmentListArgs),
    /// Remove a saved segment. Example: clientela segment remove vip
    Remove {
        /// The segment's name.
        name: String,
    },
}

/// Options of `segment save`.
#[derive(Debug, Args)]
pub struct SegmentSaveArgs {
    /// Its name: letters, digits, '_' or '-', starting with a letter.
    pub name: String,
    /// The filter expression. Example: "capital > 500 and has_tag(tags, 'sport')"
    pub expression: String,
    /// What the segment is for. Example: --description "big spenders into sport"
    #[arg(long, default_value = "")]
    pub description: String,
    /// Save without checking it on the data (e.g. before any import).
    #[arg(long)]
    pub no_check: bool,
    /// Data and date of the check.
    #[command(flatten)]
    pub query: QueryArgs,
}

/// Options of `segment list`.
#[derive(Debug, Args)]
pub struct SegmentListArgs {
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Options of `segments`.
#[derive(Debug, Args)]
pub struct SegmentsArgs {
    /// Data and date.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Customer attributes to cut by, comma separated: country, city,
    /// gender, age_band, source, channel, consent, birth_year.
    /// Example: --attributes country,age_band
    #[arg(long, default_value = "country,gender,age_band,channel")]
    pub attributes: String,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Options of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Number of customers to generate (the demo has ~10 orders per customer).
    #[arg(long, default_value_t = 5000)]
    pub customers: usize,
    /// Random seed: the same seed gives the same business.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Store to write (the demo keeps apart from your own clientela.db).
    /// Example: --demo-db /tmp/demo.db
    #[arg(long, default_value = "clientela-demo.db")]
    pub demo_db: PathBuf,
    /// Also write the generated records as CSV files into this folder
    /// (one file per record kind), e.g. to try `import` or `report --input`.
    #[arg(long)]
    pub write_csv: Option<PathBuf>,
    /// Only write the CSV files; do not store or report.
    #[arg(long, requires = "write_csv")]
    pub no_store: bool,
    /// Output options of the report.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// How input files are read.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// Record kind of the files (default: guessed from each file name:
    /// orders.csv → order). One of customer, lead, order, subscription,
    /// support, contact, usage, survey, referral, loyalty, spend.
    #[arg(long)]
    pub kind: Option<String>,
    /// Column mapping canonical=source, comma separated.
    /// Example: --map customer_id=CustomerID,time=InvoiceDate,amount=Total
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
    /// A constant for a field missing from the file. Example: --set currency=USD
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// Field delimiter of CSV files: one character, `tab`, or `whitespace`
    /// (runs of spaces, as in CDNOW_master.txt). Example: --delimiter ';'
    #[arg(long)]
    pub delimiter: Option<String>,
    /// The files have no header line; name the columns with --columns.
    #[arg(long)]
    pub no_header: bool,
    /// Column names, comma separated (for files without header).
    /// Example: --columns customer_id,time,quantity,amount
    #[arg(long)]
    pub columns: Option<String>,
    /// Date/time format of the time column (chrono strftime), tried before
    /// RFC 3339 and YYYY-MM-DD. Example: --date-format %Y%m%d
    #[arg(long = "date-format")]
    pub date_format: Vec<String>,
    /// What to do with a bad row: `stop` (default: nothing is written) or
    /// `skip` (keep good rows, write rejected ones to --rejects).
    #[arg(long = "on-error", value_enum, default_value_t = OnErrorArg::Stop)]
    pub on_error: OnErrorArg,
    /// Where rejected rows go with --on-error skip.
    #[arg(long, default_value = "rejects.csv")]
    pub rejects: PathBuf,
}

/// `--on-error` values.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum OnErrorArg {
    /// Stop at the first bad row; write nothing.
    #[default]
    Stop,
    /// Skip bad rows and list them in the rejects file.
    Skip,
}

/// Options of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Files to import (.csv .tsv .txt .jsonl .ndjson .parquet).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// How to read them.
    #[command(flatten)]
    pub input: InputArgs,
}

/// Where the data comes from and at which date.
#[derive(Debug, Args, Clone)]
pub struct QueryArgs {
    /// Report on these files instead of the store (nothing is stored).
    /// CSV files are read memory-mapped: do not truncate a file while it is
    /// being read. Example: --input orders.csv --input customers.csv
    #[arg(long = "input", value_name = "FILE")]
    pub inputs: Vec<PathBuf>,
    /// How to read --input files.
    #[command(flatten)]
    pub read: InputArgs,
    /// The as-of date (default: the last day with data). Example: --as-of 2024-06-30
    #[arg(long = "as-of")]
    pub as_of: Option<chrono::NaiveDate>,
    /// Only the customers of this saved segment (see `clientela segment
    /// save`), chosen at the as-of date; the report covers their whole
    /// history. Example: --segment vip
    #[arg(long, value_name = "NAME")]
    pub segment: Option<String>,
    /// Only the customers matching this filter expression (as a saved
    /// segment, without saving it). Example: --where "country = 'IT' and capital > 500"
    #[arg(long = "where", value_name = "EXPRESSION", conflicts_with = "segment")]
    pub filter: Option<String>,
}

/// Output format and destination.
#[derive(Debug, Args, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Table)]
    pub format: FormatArg,
    /// Write to this file (json, xlsx) or folder (csv, parquet: one file per
    /// table) instead of the terminal; parquet and xlsx need it.
    /// Example: --format xlsx --out report.xlsx
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// `--format` values.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum FormatArg {
    /// Readable tables.
    Table,
    /// One JSON document.
    Json,
    /// CSV, one table after the other (or one file per table with --out DIR).
    Csv,
    /// Parquet, one file per table in the folder --out DIR.
    Parquet,
    /// Excel workbook --out FILE.xlsx, one sheet per table.
    Xlsx,
}

/// Options of `report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Data and date.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Period of trends: day, week, month, quarter, year.
    #[arg(long, default_value = "month")]
    pub period: String,
    /// Number of periods in trends (default 12, or `trend_periods` in the config).
    #[arg(long)]
    pub periods: Option<usize>,
    /// Split every table by a customer attribute: country, city, gender,
    /// source, channel, consent, birth_year, tags, stage. Example: --by country
    #[arg(long)]
    pub by: Option<String>,
    /// Also write SVG charts of the main trends into this folder: active
    /// customers and period lifecycle, MRR bridge and movements, churn and
    /// retention, NPS with its margin of error, cohort retention heatmap.
    /// Example: --charts charts/
    #[arg(long, value_name = "DIR")]
    pub charts: Option<std::path::PathBuf>,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Options of `customers`.
#[derive(Debug, Args)]
pub struct CustomersArgs {
    /// Data and date.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Only customers in this stage (prospect, churned, at_risk, promoter,
    /// loyal, new, active, dormant). Example: --stage at_risk
    #[arg(long)]
    pub stage: Option<String>,
    /// Sort by capital, orders, tenure, silence, nps or id.
    #[arg(long, default_value = "capital")]
    pub sort: String,
    /// At most this many customers (default 50; 0 = all).
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Options of `customer`.
#[derive(Debug, Args)]
pub struct CustomerArgs {
    /// The customer's id, as the business knows it.
    pub id: String,
    /// Data and date.
    #[command(flatten)]
    pub query: QueryArgs,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Options of `clv`.
#[derive(Debug, Args)]
pub struct ClvArgs {
    /// Data and date (the as-of date ends the calibration).
    #[command(flatten)]
    pub query: QueryArgs,
    /// Purchase model: bgnbd, mbgnbd, pareto, or auto (the one with the
    /// lowest error on the holdout period). Example: --model pareto
    #[arg(long, default_value = "bgnbd")]
    pub model: String,
    /// CLV horizon: months (`12m`, or `12`) or years (`2y`). Example: --horizon 24m
    #[arg(long, default_value = "12m")]
    pub horizon: String,
    /// Discount rate per month (0.01 ≈ 12.7 % a year). Example: --discount 0.008
    #[arg(long, default_value_t = 0.01)]
    pub discount: f64,
    /// Check the model on the purchases from this date to the as-of date,
    /// fitted on those before it (default with --model auto: the last 90
    /// days). Example: --holdout-from 2026-07-01
    #[arg(long = "holdout-from")]
    pub holdout_from: Option<chrono::NaiveDate>,
    /// Customers listed by predicted value (0 = all). Example: --top 100
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Split customer equity by a customer attribute too (country, city,
    /// gender, source, consent, birth_year, tags). Example: --by country
    #[arg(long)]
    pub by: Option<String>,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Months of a `--horizon` value: `12m`, `12`, `2y`.
pub fn horizon_months(text: &str) -> Result<u32, String> {
    let t = text.trim().to_ascii_lowercase();
    let (number, per) = if let Some(n) = t.strip_suffix('y') {
        (n, 12)
    } else {
        (t.strip_suffix('m').unwrap_or(&t), 1)
    };
    match number.trim().parse::<u32>() {
        Ok(n) if (1..=1200 / per).contains(&n) => Ok(n * per),
        _ => Err(format!(
            "--horizon {text:?}: expected months like 12m (1 to 1200 months) or years like 2y"
        )),
    }
}

/// Options of `sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// The query (DataFusion SQL). Money columns ending in `_minor` print as
    /// decimals named without the suffix.
    /// Example: "SELECT customer_id, capital_minor FROM customers ORDER BY 2 DESC LIMIT 10"
    pub sql: String,
    /// Data and date (computed fields are as of this date).
    #[command(flatten)]
    pub query: QueryArgs,
    /// Also register every table of the overview report as report_<name>
    /// (report_paying, report_churn, …); computes the whole report first.
    #[arg(long)]
    pub report: bool,
    /// Also register every table of the growth report as growth_<name>
    /// (growth_mrr, growth_cohort_retention, growth_acquisition, …);
    /// computes the whole growth report first.
    /// Example: clientela sql --growth "SELECT period, net_new_mrr FROM growth_mrr"
    #[arg(long)]
    pub growth: bool,
    /// Output.
    #[command(flatten)]
    pub out: OutputArgs,
}
