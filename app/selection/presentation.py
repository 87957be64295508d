"""Why each bid won or lost, in words (Chinese by default): labels and explanations the pages show.

English msgids (``N_``), translated in ``messages_zh_CN.po``. An explanation for an officer or a
supervisor cites the limits of the price-spread rule (exact decimals, never rounded: DOMAIN.md W5);
a supplier's explanation of its own bid never cites another bid's price.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from app.core.errors import N_
from app.regions.names import REGIONS_BY_CODE, XINJIANG_CODE
from app.selection.services import BidLine, LotReport, decimal_text

REASON_LABELS = {
    "won": N_("Won"),
    "revived": N_("Won through revival"),
    "excluded": N_("Not eligible to win"),
    "over_ceiling": N_("Above the price ceiling"),
    "beyond_max_winners": N_("Not within the winner slots"),
    "outside_spread": N_("Fails the price-spread rule"),
}
EXCLUSION_LABELS = {
    "credit_barred": N_("barred by its credit rating"),
    "ineligible_product": N_("the product is not eligible in this lot"),
    "incomplete": N_("the quote is incomplete"),
}
FLAG_LABELS = {"cost_explanation_required": N_("Below the anchor price: a cost explanation is required.")}
STATUS_LABELS = {"selected": N_("Winners selected"), "failed": N_("Failed (no valid bid)")}
DEMAND_BASIS_LABELS = {
    "reported": N_("Reported demand (the volume ratio for the number of winners applies)"),
    "committed": N_("Committed volumes (demand lines already hold committed volumes, no ratio)"),
}


def number(value: Decimal | None) -> str:
    """An exact decimal without trailing zeros (``41.9999994``, never rounded)."""
    return "—" if value is None else decimal_text(Decimal(value))


def reason_label(reason: str) -> str:
    msgid = REASON_LABELS.get(reason)
    return _(msgid) if msgid else reason


def status_label(status: str) -> str:
    msgid = STATUS_LABELS.get(status)
    return _(msgid) if msgid else status


def demand_basis_label(basis: str) -> str:
    msgid = DEMAND_BASIS_LABELS.get(basis)
    return _(msgid) if msgid else basis


def flag_label(flag: str) -> str:
    msgid = FLAG_LABELS.get(flag)
    return _(msgid) if msgid else flag


def region_name(code: str, *, merged_xinjiang: bool = True) -> str:
    """A region's short name in the user's language (新疆 with the corps folded in says so)."""
    region = REGIONS_BY_CODE.get(code)
    if region is None:
        return code
    from flask_babel import get_locale

    chinese = str(get_locale() or "zh").startswith("zh")
    if code == XINJIANG_CODE and merged_xinjiang:
        return "新疆（含兵团）" if chinese else "Xinjiang (incl. XPCC)"
    return region.name if chinese else region.name_en


def _limits(report: LotReport) -> list[tuple[Decimal, str]]:
    """(limit, text) of each route of the price-spread rule (W5) for the ratio/cut/low-price rules."""
    rs = report.ruleset
    if rs["spread_rule"] not in ("ratio_or_cut_or_low", "ratio_or_low_with_revival") or report.lowest_price is None:
        return []
    limits = []
    factor = Decimal(rs["spread_multiplier"])
    limits.append((factor * report.lowest_price,
                   _("%(factor)s × the lowest price = %(limit)s", factor=number(factor),
                     limit=number(factor * report.lowest_price))))
    if rs["spread_rule"] == "ratio_or_cut_or_low" and report.lot.ceiling_ucp is not None:
        cut = Decimal(rs["cut_vs_ceiling"])
        limits.append((cut * report.lot.ceiling_ucp,
                       _("%(factor)s × the ceiling = %(limit)s", factor=number(cut),
                         limit=number(cut * report.lot.ceiling_ucp))))
    threshold = (rs.get("low_price_exemption") or {}).get(report.lot.form_class)
    if threshold is not None:
        limits.append((Decimal(threshold), _("the low-price exemption %(limit)s", limit=number(Decimal(threshold)))))
    return limits


def explain(line: BidLine, report: LotReport, *, detailed: bool = True) -> str:
    """Why this bid won or lost, in a sentence. ``detailed=False`` (a supplier's view) names no other bid's price."""
    outcome = line.outcome
    params = {"rank": outcome.rank, "slots": report.max_winners, "bidders": report.bidders,
              "price": number(line.bid.ucp), "ceiling": number(report.lot.ceiling_ucp)}
    if outcome.reason == "excluded":
        why = EXCLUSION_LABELS.get(line.bid.excluded_reason or "")
        return _("The bid cannot win: %(why)s.", why=_(why) if why else (line.bid.excluded_reason or "—"))
    if outcome.reason == "over_ceiling":
        return _("The unit comparable price %(price)s is above the ceiling %(ceiling)s (maximum valid bid price).", **params)
    if outcome.reason == "beyond_max_winners":
        return _("Rank %(rank)s: with %(bidders)s bidder(s) at most %(slots)s can win.", **params)
    if outcome.reason == "revived":
        return _("Rank %(rank)s: failed the price-spread rule, won by accepting the revival price.", **params)
    limits = _limits(report) if detailed else []
    if outcome.reason == "won":
        passed = [text for limit, text in limits if line.bid.ucp <= limit]
        if passed:
            return _("Rank %(rank)s of %(slots)s winner slot(s) (%(bidders)s bidder(s)); passes the price-spread rule: at most %(routes)s.",
                     routes=_(" or ").join(passed), **params)
        return _("Rank %(rank)s of %(slots)s winner slot(s) (%(bidders)s bidder(s)); passes the price-spread rule.", **params)
    if outcome.reason == "outside_spread":
        if limits:
            return _("Rank %(rank)s is within the %(slots)s winner slot(s), but %(price)s is above every route of the price-spread rule: %(routes)s.",
                     routes=_(" and ").join(text for _limit, text in limits), **params)
        return _("Rank %(rank)s is within the %(slots)s winner slot(s), but the price fails the price-spread rule.", **params)
    return reason_label(outcome.reason)
