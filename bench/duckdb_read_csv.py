"""What DuckDB needs just to read the demo's CSV files into tables.

    pip install duckdb
    python bench/duckdb_read_csv.py DIR [all|report]

DIR holds the files `clientela demo --write-csv DIR` writes. `all` reads
every column; `report` (the default) only the columns the overview reads
(`analytic_columns` in crates/engine/src/lib.rs; every column of customers
and spend). Two threads, as on the 2-core benchmark machine.
"""
import sys
import time

import duckdb

REPORT_COLUMNS = {
    "contacts": "customer_id, time, direction, channel",
    "customers": "*",
    "spend": "*",
    "leads": "customer_id, time",
    "usage": "customer_id, time",
    "loyalty": "customer_id, time, points",
    "orders": "customer_id, time, amount, currency",
    "referrals": "customer_id, time, referred_id",
    "subscriptions": "customer_id, time, subscription_id, kind, status, amount, "
    "currency, interval, interval_count",
    "support": "customer_id, time, kind",
    "surveys": "customer_id, time, survey, score, comment",
}


def main():
    folder = sys.argv[1]
    which = sys.argv[2] if len(sys.argv) > 2 else "report"
    con = duckdb.connect()
    con.execute("SET threads=2")
    start = time.time()
    for name, columns in sorted(REPORT_COLUMNS.items()):
        columns = "*" if which == "all" else columns
        con.execute(
            f"CREATE TABLE {name} AS SELECT {columns} FROM read_csv('{folder}/{name}.csv')"
        )
    print(f"duckdb read ({which} columns): {time.time() - start:.2f} s")


if __name__ == "__main__":
    main()
