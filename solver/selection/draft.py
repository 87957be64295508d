"""Region allocation draft (地区分配 / 选地区, DOMAIN.md V1 and V3).

Winners, in rank order, pick primary supply regions (主供地区) one per round until every region is taken,
each within its quota; every region then gets a backup winner (备供地区) and each winner's committed
volume (约定采购量) is summed over its primary regions.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from solver.rulesets import table_lookup
from solver.selection.validate import Bid, Lot


@dataclass(frozen=True)
class Draft:
    """Result of the draft: primary regions per winner (pick order), backups per region, ratio, volumes."""

    primary: dict[str, list[str]]
    backups: dict[str, str]
    committed_ratio: str
    committed_quantity: dict[str, int]


def committed_ratio(lot: Lot, winner_count: int, rs: dict) -> str:
    """V1 ratio as a decimal string: "1" for already-committed demand, else the drug class's table row."""
    if lot.demand_basis == "committed":
        return "1"
    return table_lookup(rs["volume_ratio_table"][lot.drug_class], winner_count)


def quotas(winner_count: int, region_count: int, rs: dict) -> list[int]:
    """Primary regions each rank may hold.

    The RuleSet's quota table when it has a row for this winner count that adds up to the number of
    regions drafted (nvbp-2: 31 regions); otherwise equal round-robin shares, the remainder to the top ranks.
    """
    row = rs["region_quota_table"].get(str(winner_count))
    if row is not None and sum(row) == region_count:
        return list(row)
    base, extra = divmod(region_count, winner_count)
    return [base + (1 if rank < extra else 0) for rank in range(winner_count)]


def _pick_order(bid: Bid, regions: tuple[str, ...], lot: Lot, rs: dict) -> list[str]:
    """The order in which ``bid`` wants regions: its preferences, then descending demand, then region code."""
    fallback = sorted(regions, key=lambda r: (-lot.demand.get(r, Decimal(0)), r))
    if rs["region_preference_source"] != "supplier_submitted":
        return fallback
    listed = set(bid.region_preferences)
    return list(bid.region_preferences) + [r for r in fallback if r not in listed]


def draft_regions(lot: Lot, winners: list[Bid], regions: tuple[str, ...], rs: dict) -> Draft:
    """V3 draft for a lot's winners (rank order, at least one); every region is drafted, zero demand too."""
    quota = quotas(len(winners), len(regions), rs)
    wanted = {b.id: _pick_order(b, regions, lot, rs) for b in winners}
    primary: dict[str, list[str]] = {b.id: [] for b in winners}
    free = set(regions)
    # Rank 1 picks first, then one region per winner per round, skipping full quotas.
    while free:
        for rank, bid in enumerate(winners):
            if not free:
                break
            if len(primary[bid.id]) >= quota[rank]:
                continue
            choice = next(r for r in wanted[bid.id] if r in free)
            primary[bid.id].append(choice)
            free.discard(choice)

    backups: dict[str, str] = {}
    if len(winners) > 1:  # single_winner_backup = none
        # backup_rule = next_in_rank: the winner after the primary in rank order, wrapping around.
        for rank, bid in enumerate(winners):
            backup = winners[(rank + 1) % len(winners)]
            for region in primary[bid.id]:
                backups[region] = backup.id

    ratio = committed_ratio(lot, len(winners), rs)
    ratio_dec = Decimal(ratio)
    committed = {
        # Rounded half-up per region, then summed: never round the total (V1).
        b.id: int(sum(
            ((lot.demand.get(r, Decimal(0)) * ratio_dec).quantize(Decimal(1), rounding=ROUND_HALF_UP)
             for r in primary[b.id]),
            Decimal(0),
        ))
        for b in winners
    }
    return Draft(primary, backups, ratio, committed)
