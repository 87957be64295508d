"""Dashboard and health check."""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from flask_login import current_user
from sqlalchemy import text

from app.auth.security import login_required
from app.extensions import db
from app.main.services import dashboard_for

bp = Blueprint("main", __name__, template_folder="templates")


@bp.get("/")
@login_required
def dashboard():
    return render_template("main/dashboard.html", panels=dashboard_for(current_user))


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})
