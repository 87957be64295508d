"""The audit log, for the supervisor and the platform administrator."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.auth import roles as R
from app.auth.security import roles_required
from app.extensions import db

bp = Blueprint("audit", __name__, url_prefix="/audit", template_folder="templates")
PAGE_SIZE = 50


@bp.get("/")
@roles_required(R.SUPERVISOR, R.PLATFORM_ADMIN)
def list_events():
    page = max(request.args.get("page", 1, type=int), 1)
    action = request.args.get("action") or None
    query = select(AuditEvent)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    events = db.session.scalars(query.order_by(AuditEvent.seq.desc()).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)).all()
    return render_template("audit/list.html", events=events, page=page, total=total, page_size=PAGE_SIZE, action=action)
