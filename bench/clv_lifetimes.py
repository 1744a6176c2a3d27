"""The CLV pipeline of issue 3 done with lifetimes, for comparison with
`clientela clv` on the same orders (see docs/performance.md).

    pip install lifetimes
    python bench/clv_lifetimes.py ORDERS.csv [AS_OF]

ORDERS.csv has the canonical order columns customer_id, time, amount (others
are ignored); AS_OF (YYYY-MM-DD, default: the last order day) ends the
calibration. Steps as `clientela clv --model bgnbd`: per-customer summary in
days (several orders on one day are one purchase), BG/NBD, Gamma-Gamma on
repeat buyers, CLV over 12 months at 1 % a month (lifetimes' 30-day steps).
Prints the time of each step and the fitted parameters.
"""
import sys
import time

import pandas as pd
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.utils import summary_data_from_transaction_data

t0 = time.perf_counter()
laps = []


def lap(what):
    global t0
    now = time.perf_counter()
    laps.append((what, now - t0))
    t0 = now


orders = pd.read_csv(sys.argv[1], usecols=["customer_id", "time", "amount"])
orders["time"] = pd.to_datetime(orders["time"], utc=True, format="ISO8601").dt.tz_localize(None)
orders = orders[orders["amount"] >= 0]
as_of = pd.Timestamp(sys.argv[2]) if len(sys.argv) > 2 else orders["time"].max().normalize()
lap("read csv")
summary = summary_data_from_transaction_data(
    orders, "customer_id", "time", monetary_value_col="amount", observation_period_end=as_of, freq="D"
)
lap("summary")
bgf = BetaGeoFitter(penalizer_coef=0.0)
bgf.fit(summary["frequency"], summary["recency"], summary["T"])
lap("fit BG/NBD")
repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
ggf = GammaGammaFitter(penalizer_coef=0.0)
ggf.fit(repeat["frequency"], repeat["monetary_value"])
lap("fit Gamma-Gamma")
clv = ggf.customer_lifetime_value(
    bgf, summary["frequency"], summary["recency"], summary["T"], summary["monetary_value"],
    time=12, discount_rate=0.01, freq="D",
)
lap("CLV for all")
for what, secs in laps:
    print(f"{what:<16} {secs:8.2f} s")
print(f"{'total':<16} {sum(s for _, s in laps):8.2f} s")
print("customers", len(summary), "repeat buyers", len(repeat))
print("BG/NBD", bgf.params_.to_dict())
print("Gamma-Gamma", ggf.params_.to_dict())
print("equity", round(float(clv.sum()), 2))
