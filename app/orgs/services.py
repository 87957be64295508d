"""Organisations: registration with a checked unified social credit code (DOMAIN.md C5)."""
from __future__ import annotations

from sqlalchemy import select

from app.audit.services import record
from app.core.errors import N_, DomainError
from app.extensions import db
from app.orgs.models import INSTITUTION_LEVELS, ORG_KINDS, Organisation
from app.orgs.uscc import normalise_uscc, validate_uscc


def create_organisation(*, kind: str, name: str, uscc: str | None = None, short_name: str | None = None,
                        foreign_id: str | None = None, agent_uscc: str | None = None, region_code: str | None = None,
                        institution_code: str | None = None, institution_level: str | None = None,
                        medical_community: str | None = None, is_primary_care: bool = False) -> Organisation:
    """Register an organisation; an invalid USCC is refused (``USCC_CHECKSUM``/``USCC_FORMAT``).

    A foreign maker without a USCC gives ``foreign_id`` and its agent's USCC instead.
    """
    if kind not in ORG_KINDS:
        raise DomainError("UNKNOWN_ORG_KIND", N_("Unknown organisation kind %(kind)s."), params={"kind": kind})
    if institution_level is not None and institution_level not in INSTITUTION_LEVELS:
        raise DomainError("UNKNOWN_LEVEL", N_("Unknown institution level %(level)s."), params={"level": institution_level})
    if uscc:
        uscc = normalise_uscc(uscc)
        validate_uscc(uscc)
        if db.session.scalar(select(Organisation.id).where(Organisation.uscc == uscc)) is not None:
            raise DomainError("USCC_TAKEN", N_("An organisation with the credit code %(uscc)s is already registered."),
                              params={"uscc": uscc})
    elif kind != "platform":
        if not (foreign_id and agent_uscc):
            raise DomainError("USCC_REQUIRED", N_("A unified social credit code is required (a foreign maker gives its foreign id and its agent's code)."))
        agent_uscc = normalise_uscc(agent_uscc)
        validate_uscc(agent_uscc)
    org = Organisation(kind=kind, name=name.strip(), short_name=short_name, uscc=uscc or None, foreign_id=foreign_id,
                       agent_uscc=agent_uscc, region_code=region_code, institution_code=institution_code,
                       institution_level=institution_level, medical_community=medical_community,
                       is_primary_care=is_primary_care)
    db.session.add(org)
    db.session.flush()
    record("org.create", org, summary={"kind": kind, "name": org.name, "uscc": org.uscc})
    return org


def list_organisations(kind: str | None = None, q: str | None = None) -> list[Organisation]:
    query = select(Organisation).order_by(Organisation.kind, Organisation.name)
    if kind:
        query = query.where(Organisation.kind == kind)
    if q:
        like = f"%{q.strip()}%"
        query = query.where(Organisation.name.like(like) | Organisation.uscc.like(like))
    return db.session.scalars(query.limit(500)).all()
