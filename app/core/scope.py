"""Data scoping by organisation: what a user may read of a model.

Officers, supervisors, price officers and the platform administrator work across organisations;
a supplier, institution or distributor user sees only rows its own organisation owns. Each
scoped model names its owner columns here, so every service filters the same way.
"""
from __future__ import annotations

from sqlalchemy import Select, false, or_

from app.auth import roles as R

# Roles that read across organisations (the supervisor reads all but changes nothing, DOMAIN.md L1).
CROSS_ORG_ROLES = frozenset({R.PLATFORM_ADMIN, R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.PRICE_OFFICER})


def owner_columns(model) -> list:
    """The columns of ``model`` that name an owning organisation."""
    names = getattr(model, "__org_owner_columns__", None)
    if names is None:
        names = [c for c in ("supplier_org_id", "institution_id", "distributor_org_id", "company_org_id", "owner_org_id",
                             "org_id") if c in model.__table__.columns]
    return [getattr(model, name) for name in names]


def scope_to_user(query: Select, model, user) -> Select:
    """Restrict ``query`` over ``model`` to the rows ``user`` may read."""
    if user.role in CROSS_ORG_ROLES:
        return query
    columns = owner_columns(model)
    if not columns:
        # A model without an owner is not visible to organisation-bound roles unless a service says so.
        return query.where(false())
    return query.where(or_(*(column == user.org_id for column in columns)))


def may_read(obj, user) -> bool:
    """Whether ``user`` may read one loaded object (same rule as :func:`scope_to_user`)."""
    if user.role in CROSS_ORG_ROLES:
        return True
    return any(getattr(obj, column.key) == user.org_id for column in owner_columns(type(obj)))
