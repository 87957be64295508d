"""Loading a project for a view: 404 when the user may not see it, 403 when it may not change it.

Shared by every blueprint working on a project (projects, demand, bidding, negotiation), so the
rule is the same everywhere: a project the user may not read does not exist for it.
"""
from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.extensions import db
from app.projects.models import ProcurementProject
from app.projects.services import may_edit_project, may_view_project


def visible_project_or_404(project_id: int) -> ProcurementProject:
    """The project if the current user may read it (else 404: its existence is not revealed)."""
    project = db.session.get(ProcurementProject, project_id)
    if project is None or not may_view_project(current_user, project):
        abort(404)
    return project


def editable_project_or_403(project_id: int) -> ProcurementProject:
    """The project if the current user is one of the officers who run it (else 403, or 404 if unseen)."""
    project = visible_project_or_404(project_id)
    if not may_edit_project(current_user, project):
        abort(403)
    return project
