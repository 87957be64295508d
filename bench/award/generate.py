"""Seeded generator of national-scale ``jicai.award-problem/1`` documents for the award benchmark.

    python bench/award/generate.py --lots 100 --seed 1 -o /tmp/p100.json

Shape (defaults follow a national VBP round): ``--lots`` lots x 31 provincial regions, every unit
single-source; 8-15 bidders per lot drawn from ``--suppliers`` (60) suppliers whose price levels are
correlated across lots (a cheap manufacturer is cheap everywhere, so capacity couples the lots);
``min_winners`` 2, ``max_share`` 0.7; capacities with slack (every supplier can serve 25-60 % of the
demand of the lots it bids in); a share of bids carries all-units volume tiers.
"""
from __future__ import annotations

import argparse
import json
import math
import random
import sys

# The 31 provincial regions (GB/T 2260 codes) with rough relative demand weights.
PROVINCES = [
    ("110000", 2.2), ("120000", 1.4), ("130000", 5.0), ("140000", 2.5), ("150000", 1.8),
    ("210000", 3.3), ("220000", 1.9), ("230000", 2.5), ("310000", 2.8), ("320000", 6.5),
    ("330000", 5.2), ("340000", 4.4), ("350000", 3.2), ("360000", 3.1), ("370000", 7.3),
    ("410000", 7.2), ("420000", 4.3), ("430000", 4.6), ("440000", 9.0), ("450000", 3.5),
    ("460000", 0.8), ("500000", 2.4), ("510000", 6.1), ("520000", 2.6), ("530000", 3.1),
    ("540000", 0.3), ("610000", 2.8), ("620000", 1.7), ("630000", 0.5), ("640000", 0.6),
    ("650000", 1.9),
]


def generate(lots: int, seed: int = 1, suppliers: int = 60, tier_share: float = 0.3,
             min_bidders: int = 8, max_bidders: int = 15) -> dict:
    """Return one award problem; the same arguments always give the same document."""
    rng = random.Random(seed)
    sup_ids = [f"S{i:03d}" for i in range(1, suppliers + 1)]
    # price level of each manufacturer: 0.35 (very cheap) .. 1.0 (at the ceiling)
    level = {s: rng.uniform(0.35, 1.0) for s in sup_ids}
    lot_rows, demand_rows, bid_rows = [], [], []
    bid_lots: dict[str, list[float]] = {s: [] for s in sup_ids}
    for li in range(1, lots + 1):
        lot_id = f"L{li:03d}"
        total = math.exp(rng.uniform(math.log(2e6), math.log(4e8)))
        ceiling = math.exp(rng.uniform(math.log(0.05), math.log(60.0)))
        lot_rows.append({"id": lot_id, "min_winners": 2, "max_winners": None, "max_share": "0.7"})
        wsum = sum(w for _, w in PROVINCES)
        lot_total = 0
        for code, w in PROVINCES:
            q = int(round(total * w / wsum * rng.uniform(0.6, 1.4) / 100)) * 100
            q = max(q, 100)
            lot_total += q
            demand_rows.append({"id": f"{lot_id}-{code}", "lot": lot_id, "region": code,
                                "quantity": q, "single_source": True})
        n_bid = rng.randint(min_bidders, max_bidders)
        for s in sorted(rng.sample(sup_ids, n_bid)):
            factor = level[s] * rng.uniform(0.8, 1.2)
            price = max(ceiling * min(factor, 1.0), 0.0001)
            tiers = []
            if rng.random() < tier_share:
                p = price
                for frac in sorted(rng.sample([0.15, 0.25, 0.35, 0.45], rng.randint(1, 2))):
                    p *= 1 - rng.uniform(0.02, 0.05)
                    tiers.append({"min_quantity": int(lot_total * frac), "unit_price": f"{p:.4f}"})
            bid_rows.append({"id": f"B-{lot_id}-{s}", "supplier": s, "lot": lot_id, "regions": None,
                             "unit_price": f"{price:.4f}", "capacity_use": 1, "max_quantity": None,
                             "tiers": tiers})
            bid_lots[s].append(lot_total)
    sup_rows = []
    for s in sup_ids:
        cap = int(sum(bid_lots[s]) * rng.uniform(0.25, 0.6)) if bid_lots[s] else None
        sup_rows.append({"id": s, "capacity": cap, "fixed_cost": "0", "max_lots": None})
    return {
        "schema": "jicai.award-problem/1",
        "name": f"bench national {lots} lots seed {seed}",
        "currency": "CNY",
        "suppliers": sup_rows,
        "lots": lot_rows,
        "demand": demand_rows,
        "bids": bid_rows,
        "bundles": [],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lots", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--suppliers", type=int, default=60)
    ap.add_argument("--tier-share", type=float, default=0.3, dest="tier_share")
    ap.add_argument("-o", "--output", default=None)
    args = ap.parse_args(argv)
    doc = generate(args.lots, args.seed, args.suppliers, args.tier_share)
    text = json.dumps(doc, ensure_ascii=False, indent=1)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        sys.stdout.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
