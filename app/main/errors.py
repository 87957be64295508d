"""Error pages (400/403/404/405/413/500); JSON errors under /api/."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from app.core.tx import finish


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood. Check the form and try again."),
        403: _("You do not have permission to do this."),
        404: _("The page you asked for does not exist, or you cannot see it."),
        405: _("This action is not allowed here."),
        413: _("The file is too large."),
        429: _("Too many attempts. Wait a few minutes and try again."),
        500: _("Something went wrong on our side. Nothing was changed; please try again."),
    }


def _render(code: int, message: str | None = None):
    message = message or _messages().get(code, _("Error"))
    if request.path.startswith("/api/"):
        return jsonify({"error": {"status": code, "message": message}}), code
    return render_template("main/error.html", code=code, message=message), code


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(err):
        return _render(400, _("The form expired or was sent from elsewhere. Reload the page and try again."))

    @app.errorhandler(HTTPException)
    def _http(err: HTTPException):
        if err.code is None or err.code < 400:
            return err
        custom = err.description if getattr(err, "jicai_message", False) else None
        return _render(err.code, custom)

    @app.errorhandler(Exception)
    def _crash(err: Exception):
        # Roll back whatever the request half-did before rendering; queued refusals are still written.
        try:
            finish(False)
        except Exception:  # the database itself may be the problem
            app.logger.exception("rollback after error failed")
        app.logger.exception("unhandled error on %s", request.path)
        return _render(500)
