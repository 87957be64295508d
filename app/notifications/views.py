"""The in-app inbox."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask_login import current_user

from app.auth.forms import ConfirmForm
from app.auth.security import login_required
from app.notifications import services

bp = Blueprint("notifications", __name__, url_prefix="/inbox", template_folder="templates")


@bp.get("/")
@login_required
def inbox():
    return render_template("notifications/inbox.html", items=services.list_inbox(current_user), confirm=ConfirmForm())


@bp.post("/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not services.mark_read(current_user, notification_id):
        abort(404)
    return redirect(url_for("notifications.inbox"))
