"""What each role's dashboard shows: counts of the work waiting for it."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.auth import roles as R
from app.extensions import db


@dataclass(frozen=True)
class Panel:
    title: str
    value: int
    endpoint: str | None = None


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def dashboard_for(user) -> list[Panel]:
    """Panels for ``user``'s role, each a count scoped to what the user may see."""
    from app.audit.models import AuditEvent
    from app.auth.models import User
    from app.catalog.models import Product
    from app.credit.models import CreditRating
    from app.execution.models import Contract, PurchaseRecord
    from app.notifications.services import count_unread
    from app.orgs.models import Organisation
    from app.prices.models import LinkageTask, ListedPrice
    from app.projects.models import ProcurementProject

    panels = [Panel(_l("Unread notifications"), count_unread(user), "notifications.inbox")]
    active_projects = ProcurementProject.state.not_in(("closed", "cancelled"))
    if user.role == R.PLATFORM_ADMIN:
        panels += [Panel(_l("Organisations"), _count(Organisation), "orgs.list_orgs"),
                   Panel(_l("Users"), _count(User), "auth.list_users")]
    elif user.role in (R.PROCUREMENT_OFFICER, R.SUPERVISOR):
        panels += [Panel(_l("Active projects"), _count(ProcurementProject, active_projects), "projects.list_projects"),
                   Panel(_l("Catalog products"), _count(Product, Product.status == "active"))]
        if user.role == R.SUPERVISOR:
            panels.append(Panel(_l("Audit events"), _count(AuditEvent), "audit.list_events"))
    elif user.role == R.PRICE_OFFICER:
        panels += [Panel(_l("Current listed prices"), _count(ListedPrice, ListedPrice.status == "current")),
                   Panel(_l("Open linkage tasks"), _count(LinkageTask, LinkageTask.status == "open")),
                   Panel(_l("Credit ratings"), _count(CreditRating))]
    elif user.role == R.SUPPLIER_USER:
        panels += [Panel(_l("Our contracts"), _count(Contract, Contract.supplier_org_id == user.org_id)),
                   Panel(_l("Our open linkage tasks"),
                         _count(LinkageTask, LinkageTask.supplier_org_id == user.org_id, LinkageTask.status == "open"))]
    elif user.role == R.INSTITUTION_USER:
        panels += [Panel(_l("Our contracts"), _count(Contract, Contract.institution_id == user.org_id)),
                   Panel(_l("Our purchase records"), _count(PurchaseRecord, PurchaseRecord.institution_id == user.org_id))]
    elif user.role == R.DISTRIBUTOR_USER:
        panels += [Panel(_l("Deliveries we recorded"),
                         _count(PurchaseRecord, PurchaseRecord.distributor_org_id == user.org_id))]
    return panels
