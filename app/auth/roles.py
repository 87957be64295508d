"""Roles of DOMAIN.md L1. ``org_admin`` is a flag on the user, not a role."""
from __future__ import annotations

PLATFORM_ADMIN = "platform_admin"  # 平台管理员
PROCUREMENT_OFFICER = "procurement_officer"  # 联采办经办人
SUPERVISOR = "supervisor"  # 监督人员 (医保局、纪检)
INSTITUTION_USER = "institution_user"  # 医疗机构
SUPPLIER_USER = "supplier_user"  # 生产企业 / MAH
DISTRIBUTOR_USER = "distributor_user"  # 配送企业
PRICE_OFFICER = "price_officer"  # 医保局价格招采部门

ROLES = (
    PLATFORM_ADMIN,
    PROCUREMENT_OFFICER,
    SUPERVISOR,
    INSTITUTION_USER,
    SUPPLIER_USER,
    DISTRIBUTOR_USER,
    PRICE_OFFICER,
)

# Which organisation kinds a role's users may belong to.
ROLE_ORG_KINDS = {
    PLATFORM_ADMIN: ("platform",),
    PROCUREMENT_OFFICER: ("procurement_authority",),
    SUPERVISOR: ("procurement_authority", "price_authority"),
    INSTITUTION_USER: ("medical_institution",),
    SUPPLIER_USER: ("supplier",),
    DISTRIBUTOR_USER: ("distributor",),
    PRICE_OFFICER: ("price_authority",),
}


def role_label(role: str) -> str:
    """The role's name in the user's language."""
    from flask_babel import gettext as _

    labels = {
        PLATFORM_ADMIN: _("Platform administrator"),
        PROCUREMENT_OFFICER: _("Procurement officer"),
        SUPERVISOR: _("Supervisor"),
        INSTITUTION_USER: _("Medical institution"),
        SUPPLIER_USER: _("Supplier"),
        DISTRIBUTOR_USER: _("Distributor"),
        PRICE_OFFICER: _("Price officer"),
    }
    return labels.get(role, role)
