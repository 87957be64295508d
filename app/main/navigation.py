"""Navigation per role: what each role sees in the top bar."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.auth import roles as R

# (endpoint, label, roles allowed or None for every signed-in user)
_ITEMS = (
    ("main.dashboard", _l("Dashboard"), None),
    ("projects.list_projects", _l("Projects"), (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.INSTITUTION_USER, R.SUPPLIER_USER)),
    ("bidding.index", _l("Bidding"), (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.SUPPLIER_USER)),
    ("selection.index", _l("Winner selection"), (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.SUPPLIER_USER)),
    ("catalog.list_products", _l("Catalog"),
     (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.INSTITUTION_USER, R.SUPPLIER_USER, R.PRICE_OFFICER)),
    ("demand.index", _l("Demand"), (R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.INSTITUTION_USER)),
    ("demand.list_institutions", _l("Institutions"), (R.PLATFORM_ADMIN, R.PROCUREMENT_OFFICER, R.SUPERVISOR)),
    ("orgs.list_orgs", _l("Organisations"), (R.PLATFORM_ADMIN, R.PROCUREMENT_OFFICER, R.SUPERVISOR, R.PRICE_OFFICER)),
    ("auth.list_users", _l("Users"), "org_admin"),
    ("audit.list_events", _l("Audit log"), (R.PLATFORM_ADMIN, R.SUPERVISOR)),
    ("notifications.inbox", _l("Inbox"), None),
)


def navigation_for(user) -> list[tuple[str, str]]:
    """Menu entries (endpoint, label) for ``user``."""
    if not user or not user.is_authenticated:
        return []
    items = []
    for endpoint, label, allowed in _ITEMS:
        if allowed is None:
            items.append((endpoint, label))
        elif allowed == "org_admin":
            if user.role == R.PLATFORM_ADMIN or user.is_org_admin:
                items.append((endpoint, label))
        elif user.role in allowed:
            items.append((endpoint, label))
    return items
