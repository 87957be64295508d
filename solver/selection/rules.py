"""Winner selection of one lot under a RuleSet (中选规则, DOMAIN.md W1-W10).

Per lot: validity (W1-W2) -> bidder count N (W3) -> max winners (W4) -> ranking with tie-breaks (W6) ->
price-spread test (W5) or anchor (W9) -> revival (W8). Every price comparison is in ``Decimal``; no float
ever touches a price.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from solver.errors import FieldError, ProblemError
from solver.rulesets import table_lookup
from solver.selection.validate import Bid, Lot

FLAG_COST_EXPLANATION = "cost_explanation_required"

_B_LICENCE_ROUNDING = {"floor": ROUND_FLOOR, "ceil": ROUND_CEILING, "half_up": ROUND_HALF_UP}


@dataclass
class LotSelection:
    """Outcome of the rules for one lot: counts, ranking, winners and each bid's reason and flags."""

    lot: Lot
    bidders: int
    max_winners: int
    ranked: list[Bid]
    lowest: Bid | None
    winners: list[Bid]
    revived: set[str] = field(default_factory=set)
    reasons: dict[str, str] = field(default_factory=dict)
    flags: dict[str, list[str]] = field(default_factory=dict)

    @property
    def status(self) -> str:
        """``selected``, or ``failed`` (流标) when no bid can win."""
        return "selected" if self.winners else "failed"


class UnresolvedTie(Exception):
    """Groups of bids still tied when the officer's draw is reached but the problem has no ``draw_seed``."""

    def __init__(self, lot: Lot, groups: list[list[Bid]]):
        self.lot = lot
        self.groups = groups
        super().__init__(f"lot {lot.id}: {len(groups)} tie(s) reach the draw")


def is_over_ceiling(bid: Bid, lot: Lot) -> bool:
    """W1 最高有效申报价: a UCP strictly above the lot's ceiling is invalid (equal is valid)."""
    return lot.ceiling is not None and bid.price > lot.ceiling


def is_valid(bid: Bid, lot: Lot) -> bool:
    """W1-W2: neither excluded (credit, product, completeness) nor over the ceiling."""
    return bid.excluded is None and not is_over_ceiling(bid, lot)


def count_bidders(submitted: list[Bid], valid: list[Bid], rs: dict) -> int:
    """W3 N (申报企业数): all submitted bids or valid ones only; one manufacturer counts once if configured."""
    counted = submitted if rs["n_count_basis"] == "all_submitted" else valid
    if rs["count_same_manufacturer_as_one"]:
        return len({b.manufacturer for b in counted})
    return len(counted)


def slot_count(n: int, counted: list[Bid], rs: dict) -> int:
    """W4 max winners for N bidders, less the batch-10 B-licence cut X = (B-licence bidders)/2, X <= max cut."""
    if n < 1:
        return 0
    slots = table_lookup(rs["max_winners_table"], n)
    if rs["b_licence_slot_cut"]:
        b_count = len({b.manufacturer if rs["count_same_manufacturer_as_one"] else b.id for b in counted if b.b_licence})
        cut = (Decimal(b_count) / 2).quantize(Decimal(1), rounding=_B_LICENCE_ROUNDING[rs["b_licence_rounding"]])
        cut = min(int(cut), rs["b_licence_max_cut"])
        # A lot with valid bids keeps at least one slot: the cut thins competition, it never fails a lot [I].
        slots = max(1, slots - cut)
    return slots


def draw_digest(draw_seed: str, bid_id: str) -> str:
    """W6 officer_lot_draw key: hex SHA-256 of UTF-8 ``draw_seed + ":" + bid id`` (ascending wins)."""
    return hashlib.sha256(f"{draw_seed}:{bid_id}".encode("utf-8")).hexdigest()


def _split(group: list[Bid], key: str, draw_seed: str | None) -> list[list[Bid]]:
    """Split one tied group by one tie-break key into ordered sub-groups (still-tied bids stay together)."""
    if key == "ucp":
        values = {b.id: b.price for b in group}
        descending = False
    elif key == "officer_lot_draw":
        if draw_seed is None:
            return [group]
        values = {b.id: draw_digest(draw_seed, b.id) for b in group}
        descending = False
    else:
        name, _, direction = key.rpartition("_")
        # "Missing keys count as equal": a key some tied bid lacks cannot separate that group, so it is
        # skipped for the whole group (comparing only the bids that have it would not be transitive).
        if any(name not in b.tie_keys for b in group):
            return [group]
        values = {b.id: b.tie_keys[name] for b in group}
        descending = direction == "desc"
    ordered_values = sorted(set(values.values()), reverse=descending)
    return [[b for b in group if values[b.id] == v] for v in ordered_values]


def rank_bids(valid: list[Bid], rs: dict, draw_seed: str | None, lot: Lot) -> list[Bid]:
    """W6 ranking: UCP ascending, then the RuleSet's tie keys in order, the officer's draw last.

    Raises :class:`UnresolvedTie` when a tie reaches ``officer_lot_draw`` without a seed. A tie left after
    every key (a tie-break order without the draw, as 4+7's) is ordered by bid id, so results stay
    deterministic [I].
    """
    groups = [list(valid)]
    for key in rs["tie_break_order"]:
        if key == "officer_lot_draw" and draw_seed is None:
            unresolved = [g for g in groups if len(g) > 1]
            if unresolved:
                raise UnresolvedTie(lot, unresolved)
        groups = [sub for g in groups for sub in (_split(g, key, draw_seed) if len(g) > 1 else [g])]
    return [b for g in groups for b in sorted(g, key=lambda b: b.id)]


def low_price_threshold(lot: Lot, rs: dict) -> Decimal | None:
    """W5 route (c): the low-price exemption of the lot's form class, None when unset."""
    value = rs["low_price_exemption"].get(lot.form_class)
    return Decimal(value) if value is not None else None


def passes_spread(price: Decimal, lo: Decimal, lot: Lot, rs: dict) -> bool:
    """W5 price-spread test (价差规则): (a) <= multiplier x lowest, (b) <= cut x ceiling, (c) <= low-price line."""
    rule = rs["spread_rule"]
    if rule == "none":
        return True
    ok = price <= Decimal(rs["spread_multiplier"]) * lo  # exact: 1.8 x 23.333333 = 41.9999994, never 42
    if rule == "ratio_or_cut_or_low" and lot.ceiling is not None:
        ok = ok or price <= Decimal(rs["cut_vs_ceiling"]) * lot.ceiling
    threshold = low_price_threshold(lot, rs)
    return ok or (threshold is not None and price <= threshold)


def anchor_price(shortlisted: list[Bid], lo: Decimal, rs: dict) -> Decimal:
    """W9 锚点价: max(lowest, mean factor x mean of the shortlisted UCPs)."""
    mean = sum((b.price for b in shortlisted), Decimal(0)) / len(shortlisted)
    return max(lo, Decimal(rs["anchor_mean_factor"]) * mean)


def _revive(ranked: list[Bid], winners: list[Bid], slots: int, rs: dict) -> list[Bid]:
    """W8 复活: valid losers that accepted the revival offer win, in rank order.

    The offer is the highest (or average) winning UCP of rule 1, or, when rule 1 gave one winner,
    <= multiplier x its UCP; the engine only needs each bid's answer (``revival_accepted``). When revived
    winners count toward the max, only bids within the slots can be offered a revival.
    """
    won = {b.id for b in winners}
    pool = ranked[:slots] if rs["revival_counts_toward_max"] else ranked
    return [b for b in pool if b.id not in won and b.revival_accepted]


def select_lot(lot: Lot, submitted: list[Bid], rs: dict, draw_seed: str | None) -> LotSelection:
    """Apply W1-W9 to the bids of one lot (input order) and give every bid its reason."""
    valid = [b for b in submitted if is_valid(b, lot)]
    counted = submitted if rs["n_count_basis"] == "all_submitted" else valid
    n = count_bidders(submitted, valid, rs)
    slots = slot_count(n, counted, rs)
    ranked = rank_bids(valid, rs, draw_seed, lot)
    sel = LotSelection(lot, n, slots, ranked, ranked[0] if ranked else None, [])
    sel.flags = {b.id: [] for b in submitted}

    if ranked:
        shortlisted = ranked[:slots]
        # spread_base: the lowest valid bid is always shortlisted, so both bases give the same lo.
        lo = (ranked if rs["spread_base"] == "all_valid" else shortlisted)[0].price
        if rs["spread_rule"] == "anchor":
            anchor = anchor_price(shortlisted, lo, rs)
            cap = Decimal(rs["anchor_cap_multiplier"]) * anchor
            threshold = low_price_threshold(lot, rs)
            rule1 = [b for b in shortlisted if b.price <= cap or (threshold is not None and b.price <= threshold)]
            for b in ranked:
                if b.price < anchor:
                    sel.flags[b.id].append(FLAG_COST_EXPLANATION)
            revival_on = rs["revival_with_anchor"]
        else:
            rule1 = [b for b in shortlisted if passes_spread(b.price, lo, lot, rs)]
            revival_on = rs["spread_rule"] == "ratio_or_low_with_revival"
        revived = _revive(ranked, rule1, slots, rs) if revival_on else []
        sel.revived = {b.id for b in revived}
        chosen = {b.id for b in rule1} | sel.revived
        sel.winners = [b for b in ranked if b.id in chosen]

    rank_of = {b.id: i for i, b in enumerate(ranked)}
    won = {b.id for b in sel.winners}
    for b in submitted:
        # Reason order of the contract: excluded > over_ceiling > beyond_max_winners > outside_spread.
        if b.excluded is not None:
            sel.reasons[b.id] = "excluded"
        elif is_over_ceiling(b, lot):
            sel.reasons[b.id] = "over_ceiling"
        elif b.id in won:
            sel.reasons[b.id] = "revived" if b.id in sel.revived else "won"
        elif rank_of[b.id] >= slots:
            sel.reasons[b.id] = "beyond_max_winners"
        else:
            sel.reasons[b.id] = "outside_spread"
    return sel


def unresolved_tie_error(tie: UnresolvedTie) -> ProblemError:
    """The ProblemError of ties that reached the officer's draw without a seed (one error per tie)."""
    errors = []
    for group in tie.groups:
        ids = ", ".join(f'"{b.id}"' for b in group)
        errors.append(FieldError(
            "draw_seed",
            f"is required: bids {ids} of lot \"{tie.lot.id}\" are tied after every other tie-break key "
            f"at unit price {group[0].price_text} (W6 officer_lot_draw)",
        ))
    return ProblemError(errors)
