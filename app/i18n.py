"""Locale and timezone selection: zh_CN by default, English on request (``?lang=en`` or preference)."""
from __future__ import annotations

from flask import current_app, request, session
from flask_login import current_user


def select_locale() -> str:
    """``?lang=`` (remembered in the session), then the user's preference, then zh_CN."""
    languages = current_app.config["LANGUAGES"]
    if request:
        wanted = request.args.get("lang")
        if wanted:
            wanted = "zh_CN" if wanted.lower() in ("zh", "zh_cn", "zh-cn") else wanted
            if wanted in languages:
                session["lang"] = wanted
                return wanted
        if session.get("lang") in languages:
            return session["lang"]
    if current_user and getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def select_timezone() -> str:
    return current_app.config["DISPLAY_TIMEZONE"]


def translate_error(err) -> str:
    """The user's-language text of a :class:`app.core.errors.DomainError`."""
    from flask_babel import gettext

    text = gettext(err.msgid)
    return text % err.params if err.params else text
