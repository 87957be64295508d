"""Template filters and globals: money as exact decimals, times in Asia/Shanghai."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import get_locale


def format_money(value: Decimal | None, places: int = 6) -> str:
    """A Decimal shown with ``places`` decimals and thousands separators; never via float."""
    if value is None:
        return "—"
    q = Decimal(value).quantize(Decimal(1).scaleb(-places))
    sign, digits, exp = q.as_tuple()
    text = f"{abs(q):,.{places}f}"
    return ("-" if sign and q != 0 else "") + text


def format_quantity(value: Decimal | None) -> str:
    if value is None:
        return "—"
    q = Decimal(value)
    if q == q.to_integral_value():
        return f"{int(q):,}"
    return f"{q.normalize():,f}"


def local_datetime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A UTC datetime shown in the display timezone (Asia/Shanghai)."""
    if value is None:
        return "—"
    tz = ZoneInfo(current_app.config["DISPLAY_TIMEZONE"])
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(tz).strftime(fmt)


def register(app: Flask) -> None:
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["qty"] = format_quantity
    app.jinja_env.filters["localtime"] = local_datetime

    @app.context_processor
    def _globals():
        from app.auth.roles import role_label
        from app.main.navigation import navigation_for

        return {
            "current_locale": "zh_CN" if str(get_locale() or "zh").startswith("zh") else "en",
            "navigation_for": navigation_for,
            "role_label": role_label,
        }
