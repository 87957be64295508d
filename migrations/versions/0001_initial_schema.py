"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23

Every table of every domain (reviewed by hand), and the 32 regions of DOMAIN.md §11: the 31
GB/T 2260 provincial regions plus 660000 新疆生产建设兵团, an NHSA-only region merged into 650000
when a project does not supply the corps separately.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.core.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# Frozen copy of DOMAIN.md §11 (a migration never imports data that may change later).
REGIONS = [
    ("110000", "北京", "北京市", "Beijing"), ("120000", "天津", "天津市", "Tianjin"),
    ("130000", "河北", "河北省", "Hebei"), ("140000", "山西", "山西省", "Shanxi"),
    ("150000", "内蒙古", "内蒙古自治区", "Inner Mongolia"), ("210000", "辽宁", "辽宁省", "Liaoning"),
    ("220000", "吉林", "吉林省", "Jilin"), ("230000", "黑龙江", "黑龙江省", "Heilongjiang"),
    ("310000", "上海", "上海市", "Shanghai"), ("320000", "江苏", "江苏省", "Jiangsu"),
    ("330000", "浙江", "浙江省", "Zhejiang"), ("340000", "安徽", "安徽省", "Anhui"),
    ("350000", "福建", "福建省", "Fujian"), ("360000", "江西", "江西省", "Jiangxi"),
    ("370000", "山东", "山东省", "Shandong"), ("410000", "河南", "河南省", "Henan"),
    ("420000", "湖北", "湖北省", "Hubei"), ("430000", "湖南", "湖南省", "Hunan"),
    ("440000", "广东", "广东省", "Guangdong"), ("450000", "广西", "广西壮族自治区", "Guangxi"),
    ("460000", "海南", "海南省", "Hainan"), ("500000", "重庆", "重庆市", "Chongqing"),
    ("510000", "四川", "四川省", "Sichuan"), ("520000", "贵州", "贵州省", "Guizhou"),
    ("530000", "云南", "云南省", "Yunnan"), ("540000", "西藏", "西藏自治区", "Tibet"),
    ("610000", "陕西", "陕西省", "Shaanxi"), ("620000", "甘肃", "甘肃省", "Gansu"),
    ("630000", "青海", "青海省", "Qinghai"), ("640000", "宁夏", "宁夏回族自治区", "Ningxia"),
    ("650000", "新疆", "新疆维吾尔自治区", "Xinjiang"),
    ("660000", "新疆生产建设兵团", "新疆生产建设兵团", "Xinjiang Production and Construction Corps"),
]


def upgrade() -> None:
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.create_table('dosage_forms',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('form_group', sa.String(length=64), nullable=False),
    sa.Column('form_class', sa.String(length=32), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.CheckConstraint("form_class IN ('oral_solid', 'small_volume_injection', 'large_volume_injection', 'other')", name=op.f('ck_dosage_forms_form_class_enum')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dosage_forms')),
    sa.UniqueConstraint('name', name=op.f('uq_dosage_forms_name'))
    )
    op.create_table('governance_thresholds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('red_multiplier', app.core.db.ExactDecimal(8, 4), nullable=False),
    sa.Column('yellow_multiplier', app.core.db.ExactDecimal(8, 4), nullable=False),
    sa.Column('abnormal_change_pct', app.core.db.ExactDecimal(8, 4), nullable=False),
    sa.Column('abnormal_window_days', sa.Integer(), nullable=False),
    sa.Column('province_spread_ratio', app.core.db.ExactDecimal(8, 4), nullable=False),
    sa.Column('linkage_tolerance', app.core.db.ExactDecimal(8, 4), nullable=False),
    sa.Column('linkage_deadline_days', sa.Integer(), nullable=False),
    sa.Column('low_price_warning', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_governance_thresholds')),
    sa.UniqueConstraint('category', name=op.f('uq_governance_thresholds_category'))
    )
    op.create_table('login_attempts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_attempts_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_remote_addr'), ['remote_addr'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_attempts_username'), ['username'], unique=False)

    op.create_table('price_references',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('value_ucp', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('published_on', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.CheckConstraint("kind IN ('monitored')", name=op.f('ck_price_references_kind_enum')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_price_references'))
    )
    with op.batch_alter_table('price_references', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_price_references_key_sha256'), ['key_sha256'], unique=False)

    op.create_table('regions',
    sa.Column('code', sa.String(length=6), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('full_name', sa.String(length=64), nullable=False),
    sa.Column('name_en', sa.String(length=64), nullable=False),
    sa.Column('is_nhsa_only', sa.Boolean(), nullable=False),
    sa.Column('merged_into', sa.String(length=6), nullable=True),
    sa.ForeignKeyConstraint(['merged_into'], ['regions.code'], name=op.f('fk_regions_merged_into_regions')),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_regions')),
    sa.UniqueConstraint('name', name=op.f('uq_regions_name'))
    )
    op.create_table('organisations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('short_name', sa.String(length=64), nullable=True),
    sa.Column('uscc', sa.String(length=18), nullable=True),
    sa.Column('foreign_id', sa.String(length=64), nullable=True),
    sa.Column('agent_uscc', sa.String(length=18), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('institution_code', sa.String(length=32), nullable=True),
    sa.Column('institution_level', sa.String(length=16), nullable=True),
    sa.Column('medical_community', sa.String(length=200), nullable=True),
    sa.Column('is_primary_care', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("institution_level IN ('tertiary', 'secondary', 'primary', 'unrated')", name=op.f('ck_organisations_institution_level_enum')),
    sa.CheckConstraint("kind IN ('procurement_authority', 'price_authority', 'supplier', 'distributor', 'medical_institution', 'platform')", name=op.f('ck_organisations_kind_enum')),
    sa.CheckConstraint("uscc IS NOT NULL OR (foreign_id IS NOT NULL AND agent_uscc IS NOT NULL) OR kind = 'platform'", name=op.f('ck_organisations_identified')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_organisations_region_code_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
    sa.UniqueConstraint('foreign_id', name=op.f('uq_organisations_foreign_id')),
    sa.UniqueConstraint('institution_code', name=op.f('uq_organisations_institution_code')),
    sa.UniqueConstraint('uscc', name=op.f('uq_organisations_uscc'))
    )
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_organisations_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_organisations_region_code'), ['region_code'], unique=False)

    op.create_table('products',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('nhsa_code', sa.String(length=27), nullable=True),
    sa.Column('code_kind', sa.String(length=16), nullable=False),
    sa.Column('benweima', sa.String(length=14), nullable=True),
    sa.Column('approval_no', sa.String(length=64), nullable=True),
    sa.Column('approval_no_type', sa.String(length=16), nullable=False),
    sa.Column('udi_di', sa.String(length=64), nullable=True),
    sa.Column('generic_name', sa.String(length=120), nullable=False),
    sa.Column('generic_name_initials', sa.String(length=120), nullable=False),
    sa.Column('dosage_form', sa.String(length=64), nullable=False),
    sa.Column('form_group', sa.String(length=64), nullable=True),
    sa.Column('spec', sa.String(length=120), nullable=False),
    sa.Column('strength_value', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('strength_unit', sa.String(length=16), nullable=True),
    sa.Column('fill_volume_ml', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('pack_qty', sa.Integer(), nullable=False),
    sa.Column('min_unit', sa.String(length=16), nullable=False),
    sa.Column('manufacturer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('mah_name', sa.String(length=200), nullable=True),
    sa.Column('quality_tier', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('replaced_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("approval_no_type IN ('domestic', 'import', 'hk_mo_tw')", name=op.f('ck_products_approval_no_type_enum')),
    sa.CheckConstraint("code_kind IN ('drug', 'consumable')", name=op.f('ck_products_code_kind_enum')),
    sa.CheckConstraint("quality_tier IN ('originator', 'reference', 'consistency_evaluated', 'other')", name=op.f('ck_products_quality_tier_enum')),
    sa.CheckConstraint("status IN ('active', 'retired', 'disabled')", name=op.f('ck_products_status_enum')),
    sa.ForeignKeyConstraint(['manufacturer_id'], ['organisations.id'], name=op.f('fk_products_manufacturer_id_organisations')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['products.id'], name=op.f('fk_products_replaced_by_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_products')),
    sa.UniqueConstraint('nhsa_code', name=op.f('uq_products_nhsa_code'))
    )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_products_benweima'), ['benweima'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_generic_name'), ['generic_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_generic_name_initials'), ['generic_name_initials'], unique=False)
        batch_op.create_index(batch_op.f('ix_products_manufacturer_id'), ['manufacturer_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('is_org_admin', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('session_version', sa.Integer(), nullable=False),
    sa.Column('last_login_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("locale IN ('zh_CN', 'en')", name=op.f('ck_users_locale_enum')),
    sa.CheckConstraint("role IN ('platform_admin', 'procurement_officer', 'supervisor', 'institution_user', 'supplier_user', 'distributor_user', 'price_officer')", name=op.f('ck_users_role_enum')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_users_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_users_role'), ['role'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_sha256', name=op.f('uq_api_tokens_token_sha256'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('object_type', sa.String(length=64), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_audit_events_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events')),
    sa.UniqueConstraint('hash', name=op.f('uq_audit_events_hash')),
    sa.UniqueConstraint('seq', name=op.f('uq_audit_events_seq'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_user_id'), ['user_id'], unique=False)

    op.create_table('credit_ratings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('company_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scheme', sa.String(length=4), nullable=False),
    sa.Column('level', sa.String(length=40), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('effective_to', sa.Date(), nullable=True),
    sa.Column('case_ref', sa.String(length=120), nullable=False),
    sa.Column('involved_product_ids', sa.JSON(), nullable=False),
    sa.Column('repair_status', sa.String(length=16), nullable=False),
    sa.Column('repaired_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("level IN ('general', 'moderate', 'serious', 'particularly_serious', 'dishonest', 'seriously_dishonest', 'particularly_seriously_dishonest')", name=op.f('ck_credit_ratings_level_enum')),
    sa.CheckConstraint("repair_status IN ('none', 'in_repair', 'repaired')", name=op.f('ck_credit_ratings_repair_status_enum')),
    sa.CheckConstraint("scheme IN ('2020', '2025')", name=op.f('ck_credit_ratings_scheme_enum')),
    sa.ForeignKeyConstraint(['company_org_id'], ['organisations.id'], name=op.f('fk_credit_ratings_company_org_id_organisations')),
    sa.ForeignKeyConstraint(['province_code'], ['regions.code'], name=op.f('fk_credit_ratings_province_code_regions')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_credit_ratings_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['credit_ratings.id'], name=op.f('fk_credit_ratings_supersedes_id_credit_ratings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_credit_ratings'))
    )
    with op.batch_alter_table('credit_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_credit_ratings_company_org_id'), ['company_org_id'], unique=False)

    op.create_table('listed_prices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('price_type', sa.String(length=16), nullable=False),
    sa.Column('listed_price_pack', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('pack_qty', sa.Integer(), nullable=False),
    sa.Column('listed_ucp', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('linkable', sa.Boolean(), nullable=False),
    sa.Column('source_document', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('imported_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('imported_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("price_type IN ('listed', 'vbp_agreement', 'renewal', 'negotiated', 'temporary')", name=op.f('ck_listed_prices_price_type_enum')),
    sa.CheckConstraint("status IN ('current', 'superseded', 'suspended')", name=op.f('ck_listed_prices_status_enum')),
    sa.ForeignKeyConstraint(['imported_by_id'], ['users.id'], name=op.f('fk_listed_prices_imported_by_id_users')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_listed_prices_product_id_products')),
    sa.ForeignKeyConstraint(['province_code'], ['regions.code'], name=op.f('fk_listed_prices_province_code_regions')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['listed_prices.id'], name=op.f('fk_listed_prices_supersedes_id_listed_prices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_listed_prices'))
    )
    with op.batch_alter_table('listed_prices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_listed_prices_key_sha256'), ['key_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_listed_prices_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_listed_prices_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_listed_prices_status'), ['status'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('link', sa.String(length=500), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('emailed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('user_id IS NOT NULL OR org_id IS NOT NULL', name=op.f('ck_notifications_addressed')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_notifications_org_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notifications_user_id'), ['user_id'], unique=False)

    op.create_table('procurement_projects',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('authority_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.String(length=24), nullable=False),
    sa.Column('demand_due_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('bidding_opens_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('bid_deadline', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opening_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cycle_start', sa.Date(), nullable=True),
    sa.Column('cycle_end', sa.Date(), nullable=True),
    sa.Column('min_report_vs_history', app.core.db.ExactDecimal(6, 4), nullable=True),
    sa.Column('draw_seed', sa.String(length=200), nullable=True),
    sa.Column('cancelled_reason', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('national', 'alliance', 'provincial', 'municipal')", name=op.f('ck_procurement_projects_kind_enum')),
    sa.CheckConstraint("state IN ('draft', 'demand_collection', 'demand_frozen', 'bidding_open', 'bidding_closed', 'opened', 'negotiation', 'evaluated', 'award_proposed', 'award_published', 'in_execution', 'closed', 'cancelled')", name=op.f('ck_procurement_projects_state_enum')),
    sa.ForeignKeyConstraint(['authority_org_id'], ['organisations.id'], name=op.f('fk_procurement_projects_authority_org_id_organisations')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_procurement_projects_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procurement_projects')),
    sa.UniqueConstraint('code', name=op.f('uq_procurement_projects_code'))
    )
    with op.batch_alter_table('procurement_projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_procurement_projects_authority_org_id'), ['authority_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_procurement_projects_state'), ['state'], unique=False)

    op.create_table('product_code_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('old_code', sa.String(length=27), nullable=True),
    sa.Column('new_code', sa.String(length=27), nullable=True),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('disabled', 'transcoded', 'created')", name=op.f('ck_product_code_changes_kind_enum')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_code_changes_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_code_changes'))
    )
    with op.batch_alter_table('product_code_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_code_changes_product_id'), ['product_id'], unique=False)

    op.create_table('product_proposals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('submitted_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reviewed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_product_proposals_status_enum')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_product_proposals_product_id_products')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_product_proposals_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_product_proposals_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_product_proposals_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_product_proposals'))
    )
    with op.batch_alter_table('product_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_product_proposals_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('stored_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=127), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('owner_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('uploaded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('uploaded_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organisations.id'], name=op.f('fk_stored_documents_owner_org_id_organisations')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_stored_documents_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_documents'))
    )
    with op.batch_alter_table('stored_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stored_documents_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_stored_documents_sha256'), ['sha256'], unique=False)

    op.create_table('demand_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=True),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('draft', 'submitted', 'superseded', 'frozen')", name=op.f('ck_demand_reports_status_enum')),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_demand_reports_institution_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_demand_reports_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_demand_reports_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['demand_reports.id'], name=op.f('fk_demand_reports_supersedes_id_demand_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_reports')),
    sa.UniqueConstraint('project_id', 'institution_id', 'version', name=op.f('uq_demand_reports_project_id_institution_id_version'))
    )
    with op.batch_alter_table('demand_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demand_reports_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_demand_reports_project_id'), ['project_id'], unique=False)

    op.create_table('inquiries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('listed_price_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('reply_due_on', sa.Date(), nullable=True),
    sa.Column('rectify_due_on', sa.Date(), nullable=True),
    sa.Column('opened_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opened_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('flagged', 'inquiry', 'replied', 'justified', 'interview', 'rectification', 'rectified', 'suspended', 'credit_case')", name=op.f('ck_inquiries_state_enum')),
    sa.ForeignKeyConstraint(['listed_price_id'], ['listed_prices.id'], name=op.f('fk_inquiries_listed_price_id_listed_prices')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_inquiries_opened_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_inquiries_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiries'))
    )
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiries_listed_price_id'), ['listed_price_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inquiries_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('linkage_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('listed_price_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('province_code', sa.String(length=6), nullable=False),
    sa.Column('target_ucp', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('opened_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('justification', sa.Text(), nullable=True),
    sa.Column('closed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sa.String(length=32), nullable=True),
    sa.CheckConstraint("status IN ('open', 'justified', 'escalated', 'closed', 'excepted')", name=op.f('ck_linkage_tasks_status_enum')),
    sa.ForeignKeyConstraint(['listed_price_id'], ['listed_prices.id'], name=op.f('fk_linkage_tasks_listed_price_id_listed_prices')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_linkage_tasks_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linkage_tasks'))
    )
    with op.batch_alter_table('linkage_tasks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_linkage_tasks_listed_price_id'), ['listed_price_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_linkage_tasks_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_linkage_tasks_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_linkage_tasks_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('lots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_no', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('generic_name', sa.String(length=120), nullable=False),
    sa.Column('form_group', sa.String(length=64), nullable=False),
    sa.Column('form_class', sa.String(length=32), nullable=False),
    sa.Column('drug_class', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('representative_spec', sa.String(length=120), nullable=False),
    sa.Column('rep_strength_value', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('rep_strength_unit', sa.String(length=16), nullable=True),
    sa.Column('rep_fill_volume_ml', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('ceiling_ucp', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('pre_procurement_ucp', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failed_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("drug_class IN ('chemical', 'special_anti_infective')", name=op.f('ck_lots_drug_class_enum')),
    sa.CheckConstraint("form_class IN ('oral_solid', 'small_volume_injection', 'large_volume_injection', 'other')", name=op.f('ck_lots_form_class_enum')),
    sa.CheckConstraint("kind IN ('single', 'system')", name=op.f('ck_lots_kind_enum')),
    sa.CheckConstraint("status IN ('open', 'selected', 'failed')", name=op.f('ck_lots_status_enum')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_lots_project_id_procurement_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lots')),
    sa.UniqueConstraint('project_id', 'lot_no', name=op.f('uq_lots_project_id_lot_no'))
    )
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lots_generic_name'), ['generic_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_lots_project_id'), ['project_id'], unique=False)

    op.create_table('national_lowest_prices',
    sa.Column('key_sha256', sa.String(length=64), nullable=False),
    sa.Column('value_ucp', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('source_price_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_province_code', sa.String(length=6), nullable=False),
    sa.Column('source_effective_date', sa.Date(), nullable=False),
    sa.Column('source_document', sa.String(length=500), nullable=False),
    sa.Column('computed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['source_price_id'], ['listed_prices.id'], name=op.f('fk_national_lowest_prices_source_price_id_listed_prices')),
    sa.PrimaryKeyConstraint('key_sha256', name=op.f('pk_national_lowest_prices'))
    )
    op.create_table('negotiation_rounds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('deadline', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('opened_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'closed', 'opened')", name=op.f('ck_negotiation_rounds_state_enum')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_negotiation_rounds_opened_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_negotiation_rounds_project_id_procurement_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_negotiation_rounds')),
    sa.UniqueConstraint('project_id', 'round_no', name=op.f('uq_negotiation_rounds_project_id_round_no'))
    )
    with op.batch_alter_table('negotiation_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_negotiation_rounds_project_id'), ['project_id'], unique=False)

    op.create_table('notification_reads',
    sa.Column('notification_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('read_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notification_id'], ['notifications.id'], name=op.f('fk_notification_reads_notification_id_notifications')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notification_reads_user_id_users')),
    sa.PrimaryKeyConstraint('notification_id', 'user_id', name=op.f('pk_notification_reads'))
    )
    op.create_table('opening_keys',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('public_key_pem', sa.Text(), nullable=False),
    sa.Column('encrypted_private_key', sa.LargeBinary(), nullable=False),
    sa.Column('kdf', sa.JSON(), nullable=False),
    sa.Column('officer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('witness_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_opening_keys_officer_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_opening_keys_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['witness_id'], ['users.id'], name=op.f('fk_opening_keys_witness_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_keys')),
    sa.UniqueConstraint('project_id', 'round_no', name=op.f('uq_opening_keys_project_id_round_no'))
    )
    with op.batch_alter_table('opening_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opening_keys_project_id'), ['project_id'], unique=False)

    op.create_table('opening_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('opened_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('officer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('witness_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quotes', sa.JSON(), nullable=False),
    sa.Column('record_sha256', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_opening_records_officer_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_opening_records_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['witness_id'], ['users.id'], name=op.f('fk_opening_records_witness_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_records')),
    sa.UniqueConstraint('project_id', 'round_no', name=op.f('uq_opening_records_project_id_round_no'))
    )
    with op.batch_alter_table('opening_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opening_records_project_id'), ['project_id'], unique=False)

    op.create_table('project_institutions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_project_institutions_institution_id_organisations')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_project_institutions_project_id_procurement_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_institutions')),
    sa.UniqueConstraint('project_id', 'institution_id', name=op.f('uq_project_institutions_project_id_institution_id'))
    )
    with op.batch_alter_table('project_institutions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_institutions_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_project_institutions_project_id'), ['project_id'], unique=False)

    op.create_table('project_state_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_state', sa.String(length=24), nullable=False),
    sa.Column('to_state', sa.String(length=24), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_project_state_changes_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_project_state_changes_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_project_state_changes'))
    )
    with op.batch_alter_table('project_state_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_state_changes_project_id'), ['project_id'], unique=False)

    op.create_table('qualification_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reviewed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reviewed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.Column('submitted_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('licence', 'registration', 'authorisation', 'pledge', 'other')", name=op.f('ck_qualification_documents_kind_enum')),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_qualification_documents_status_enum')),
    sa.ForeignKeyConstraint(['document_id'], ['stored_documents.id'], name=op.f('fk_qualification_documents_document_id_stored_documents')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_qualification_documents_reviewed_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_qualification_documents_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualification_documents'))
    )
    with op.batch_alter_table('qualification_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualification_documents_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('quote_submissions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('sealed_payload', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_key', sa.LargeBinary(), nullable=False),
    sa.Column('receipt_no', sa.String(length=64), nullable=False),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('submitted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('submitted_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('submitted', 'superseded', 'withdrawn')", name=op.f('ck_quote_submissions_status_enum')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_quote_submissions_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_quote_submissions_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['quote_submissions.id'], name=op.f('fk_quote_submissions_supersedes_id_quote_submissions')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_quote_submissions_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quote_submissions')),
    sa.UniqueConstraint('project_id', 'supplier_org_id', 'round_no', 'version', name=op.f('uq_quote_submissions_project_id_supplier_org_id_round_no_version')),
    sa.UniqueConstraint('receipt_no', name=op.f('uq_quote_submissions_receipt_no'))
    )
    with op.batch_alter_table('quote_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quote_submissions_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_quote_submissions_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('risk_flags',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('listed_price_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('reference_ucp', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('raised_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('reference', 'nonsupply_cap', 'abnormal_change', 'province_spread')", name=op.f('ck_risk_flags_kind_enum')),
    sa.CheckConstraint("level IN ('none', 'yellow', 'red')", name=op.f('ck_risk_flags_level_enum')),
    sa.ForeignKeyConstraint(['listed_price_id'], ['listed_prices.id'], name=op.f('fk_risk_flags_listed_price_id_listed_prices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risk_flags'))
    )
    with op.batch_alter_table('risk_flags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_risk_flags_active'), ['active'], unique=False)
        batch_op.create_index(batch_op.f('ix_risk_flags_listed_price_id'), ['listed_price_id'], unique=False)

    op.create_table('ruleset_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('preset', sa.String(length=32), nullable=False),
    sa.Column('overrides', sa.JSON(), nullable=False),
    sa.Column('resolved', sa.JSON(), nullable=False),
    sa.Column('frozen_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_ruleset_versions_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_ruleset_versions_project_id_procurement_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ruleset_versions')),
    sa.UniqueConstraint('project_id', 'version', name=op.f('uq_ruleset_versions_project_id_version'))
    )
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ruleset_versions_project_id'), ['project_id'], unique=False)

    op.create_table('bids',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('submission_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('pack_price', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('pack_qty', sa.Integer(), nullable=False),
    sa.Column('unit_price', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('ucp', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('declared_capacity', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.Column('capacity_use_per_unit', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('supplier_capacity', app.core.db.ExactDecimal(18, 4), nullable=True),
    sa.Column('tiers', sa.JSON(), nullable=False),
    sa.Column('bundle_code', sa.String(length=64), nullable=True),
    sa.Column('bundle_discount', app.core.db.ExactDecimal(8, 6), nullable=True),
    sa.Column('region_preferences', sa.JSON(), nullable=False),
    sa.Column('excluded_reason', sa.String(length=32), nullable=True),
    sa.Column('over_ceiling', sa.Boolean(), nullable=False),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('outcome', sa.String(length=8), nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('rank', sa.Integer(), nullable=True),
    sa.Column('revealed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("outcome IN ('won', 'lost')", name=op.f('ck_bids_outcome_enum')),
    sa.CheckConstraint("reason IN ('won', 'revived', 'excluded', 'over_ceiling', 'beyond_max_winners', 'outside_spread')", name=op.f('ck_bids_reason_enum')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_bids_lot_id_lots')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_bids_product_id_products')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_bids_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['submission_id'], ['quote_submissions.id'], name=op.f('fk_bids_submission_id_quote_submissions')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['bids.id'], name=op.f('fk_bids_supersedes_id_bids')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_bids_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bids')),
    sa.UniqueConstraint('submission_id', 'lot_id', name=op.f('uq_bids_submission_id_lot_id'))
    )
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bids_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bids_project_id'), ['project_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bids_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bids_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('demand_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('spec', sa.String(length=120), nullable=True),
    sa.Column('preferred_brand', sa.String(length=200), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('historical_usage', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.Column('reported_demand', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_demand_lines_lot_id_lots')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_demand_lines_product_id_products')),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], name=op.f('fk_demand_lines_region_code_regions')),
    sa.ForeignKeyConstraint(['report_id'], ['demand_reports.id'], name=op.f('fk_demand_lines_report_id_demand_reports')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_lines'))
    )
    with op.batch_alter_table('demand_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demand_lines_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_demand_lines_report_id'), ['report_id'], unique=False)

    op.create_table('inquiry_steps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('inquiry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('evidence', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['stored_documents.id'], name=op.f('fk_inquiry_steps_document_id_stored_documents')),
    sa.ForeignKeyConstraint(['inquiry_id'], ['inquiries.id'], name=op.f('fk_inquiry_steps_inquiry_id_inquiries')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inquiry_steps_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inquiry_steps'))
    )
    with op.batch_alter_table('inquiry_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inquiry_steps_inquiry_id'), ['inquiry_id'], unique=False)

    op.create_table('lot_products',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_lot_products_lot_id_lots')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_lot_products_product_id_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lot_products')),
    sa.UniqueConstraint('lot_id', 'product_id', name=op.f('uq_lot_products_lot_id_product_id'))
    )
    with op.batch_alter_table('lot_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lot_products_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lot_products_product_id'), ['product_id'], unique=False)

    op.create_table('round_lots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('round_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_method', sa.String(length=32), nullable=False),
    sa.Column('target_ucp', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_round_lots_lot_id_lots')),
    sa.ForeignKeyConstraint(['round_id'], ['negotiation_rounds.id'], name=op.f('fk_round_lots_round_id_negotiation_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_lots')),
    sa.UniqueConstraint('round_id', 'lot_id', name=op.f('uq_round_lots_round_id_lot_id'))
    )
    with op.batch_alter_table('round_lots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_lots_round_id'), ['round_id'], unique=False)

    op.create_table('selection_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('round_no', sa.Integer(), nullable=False),
    sa.Column('ruleset_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('problem', sa.JSON(), nullable=False),
    sa.Column('problem_sha256', sa.String(length=64), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('solver_version', sa.String(length=32), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_selection_runs_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_selection_runs_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['ruleset_version_id'], ['ruleset_versions.id'], name=op.f('fk_selection_runs_ruleset_version_id_ruleset_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_selection_runs'))
    )
    with op.batch_alter_table('selection_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_selection_runs_problem_sha256'), ['problem_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_selection_runs_project_id'), ['project_id'], unique=False)

    op.create_table('system_components',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('component_code27', sa.String(length=27), nullable=False),
    sa.Column('qty_per_system', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_system_components_lot_id_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_system_components'))
    )
    with op.batch_alter_table('system_components', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_system_components_lot_id'), ['lot_id'], unique=False)

    op.create_table('award_scenarios',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ruleset_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('selection_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('bid_pool', sa.String(length=16), nullable=True),
    sa.Column('committed_ratio', app.core.db.ExactDecimal(6, 4), nullable=True),
    sa.Column('committed_ratio_source', sa.String(length=32), nullable=True),
    sa.Column('constraints', sa.JSON(), nullable=False),
    sa.Column('problem', sa.JSON(), nullable=True),
    sa.Column('problem_sha256', sa.String(length=64), nullable=True),
    sa.Column('solver_version', sa.String(length=32), nullable=True),
    sa.Column('backend', sa.String(length=16), nullable=True),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('log', sa.Text(), nullable=True),
    sa.Column('solution', sa.JSON(), nullable=True),
    sa.Column('objective', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('bound', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('gap', sa.Float(), nullable=True),
    sa.Column('rule_costs', sa.JSON(), nullable=True),
    sa.Column('manual_reason', sa.Text(), nullable=True),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("bid_pool IN ('rule_winners', 'within_spread', 'all_valid')", name=op.f('ck_award_scenarios_bid_pool_enum')),
    sa.CheckConstraint("mode IN ('rule_draft', 'optimised', 'manual')", name=op.f('ck_award_scenarios_mode_enum')),
    sa.CheckConstraint("status IN ('queued', 'running', 'optimal', 'feasible', 'infeasible', 'no_solution', 'failed')", name=op.f('ck_award_scenarios_status_enum')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_award_scenarios_created_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_award_scenarios_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['ruleset_version_id'], ['ruleset_versions.id'], name=op.f('fk_award_scenarios_ruleset_version_id_ruleset_versions')),
    sa.ForeignKeyConstraint(['selection_run_id'], ['selection_runs.id'], name=op.f('fk_award_scenarios_selection_run_id_selection_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_scenarios'))
    )
    with op.batch_alter_table('award_scenarios', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_scenarios_problem_sha256'), ['problem_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_scenarios_project_id'), ['project_id'], unique=False)

    op.create_table('committed_volumes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('selection_run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('reported_demand', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.Column('ratio', app.core.db.ExactDecimal(6, 4), nullable=False),
    sa.Column('committed_volume', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_committed_volumes_institution_id_organisations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_committed_volumes_lot_id_lots')),
    sa.ForeignKeyConstraint(['selection_run_id'], ['selection_runs.id'], name=op.f('fk_committed_volumes_selection_run_id_selection_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_committed_volumes')),
    sa.UniqueConstraint('selection_run_id', 'lot_id', 'institution_id', name=op.f('uq_committed_volumes_selection_run_id_lot_id_institution_id'))
    )
    with op.batch_alter_table('committed_volumes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_committed_volumes_selection_run_id'), ['selection_run_id'], unique=False)

    op.create_table('demand_amendments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('demand_line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('new_reported_demand', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('requested_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_demand_amendments_status_enum')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_demand_amendments_decided_by_id_users')),
    sa.ForeignKeyConstraint(['demand_line_id'], ['demand_lines.id'], name=op.f('fk_demand_amendments_demand_line_id_demand_lines')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_demand_amendments_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_demand_amendments'))
    )
    with op.batch_alter_table('demand_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_demand_amendments_demand_line_id'), ['demand_line_id'], unique=False)

    op.create_table('round_invitations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('round_lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('previous_bid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('price_to_beat', app.core.db.ExactDecimal(18, 6), nullable=True),
    sa.Column('response', sa.String(length=24), nullable=False),
    sa.Column('added_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("response IN ('pending', 'accepted', 'non_accept', 'rejected_increase')", name=op.f('ck_round_invitations_response_enum')),
    sa.ForeignKeyConstraint(['previous_bid_id'], ['bids.id'], name=op.f('fk_round_invitations_previous_bid_id_bids')),
    sa.ForeignKeyConstraint(['round_lot_id'], ['round_lots.id'], name=op.f('fk_round_invitations_round_lot_id_round_lots')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_round_invitations_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_round_invitations')),
    sa.UniqueConstraint('round_lot_id', 'supplier_org_id', name=op.f('uq_round_invitations_round_lot_id_supplier_org_id'))
    )
    with op.batch_alter_table('round_invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_invitations_round_lot_id'), ['round_lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_round_invitations_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('award_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scenario_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('quantity', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.Column('unit_price', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('cost', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.CheckConstraint("role IN ('primary', 'backup')", name=op.f('ck_award_lines_role_enum')),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_award_lines_bid_id_bids')),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_award_lines_institution_id_organisations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_award_lines_lot_id_lots')),
    sa.ForeignKeyConstraint(['scenario_id'], ['award_scenarios.id'], name=op.f('fk_award_lines_scenario_id_award_scenarios')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_award_lines_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_lines'))
    )
    with op.batch_alter_table('award_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_lines_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_lines_scenario_id'), ['scenario_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_award_lines_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('award_proposals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scenario_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('publicity_start', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('publicity_end', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('proposed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('approved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approved_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('publicised', 'withdrawn', 'approved', 'published')", name=op.f('ck_award_proposals_status_enum')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_award_proposals_approved_by_id_users')),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_award_proposals_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_award_proposals_proposed_by_id_users')),
    sa.ForeignKeyConstraint(['scenario_id'], ['award_scenarios.id'], name=op.f('fk_award_proposals_scenario_id_award_scenarios')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_proposals'))
    )
    with op.batch_alter_table('award_proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_proposals_project_id'), ['project_id'], unique=False)

    op.create_table('objections',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('proposal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('filed_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answer_text', sa.Text(), nullable=True),
    sa.Column('answer_document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answered_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answered_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('open', 'answered')", name=op.f('ck_objections_status_enum')),
    sa.ForeignKeyConstraint(['answer_document_id'], ['stored_documents.id'], name=op.f('fk_objections_answer_document_id_stored_documents')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_objections_answered_by_id_users')),
    sa.ForeignKeyConstraint(['document_id'], ['stored_documents.id'], name=op.f('fk_objections_document_id_stored_documents')),
    sa.ForeignKeyConstraint(['filed_by_id'], ['users.id'], name=op.f('fk_objections_filed_by_id_users')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_objections_lot_id_lots')),
    sa.ForeignKeyConstraint(['org_id'], ['organisations.id'], name=op.f('fk_objections_org_id_organisations')),
    sa.ForeignKeyConstraint(['proposal_id'], ['award_proposals.id'], name=op.f('fk_objections_proposal_id_award_proposals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_objections'))
    )
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_objections_org_id'), ['org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_objections_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('published_awards',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('project_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('proposal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scenario_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ruleset_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('problem_sha256', sa.String(length=64), nullable=True),
    sa.Column('solver_version', sa.String(length=32), nullable=True),
    sa.Column('cycle_start', sa.Date(), nullable=False),
    sa.Column('cycle_end', sa.Date(), nullable=False),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('published_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('published_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['procurement_projects.id'], name=op.f('fk_published_awards_project_id_procurement_projects')),
    sa.ForeignKeyConstraint(['proposal_id'], ['award_proposals.id'], name=op.f('fk_published_awards_proposal_id_award_proposals')),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_published_awards_published_by_id_users')),
    sa.ForeignKeyConstraint(['ruleset_version_id'], ['ruleset_versions.id'], name=op.f('fk_published_awards_ruleset_version_id_ruleset_versions')),
    sa.ForeignKeyConstraint(['scenario_id'], ['award_scenarios.id'], name=op.f('fk_published_awards_scenario_id_award_scenarios')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['published_awards.id'], name=op.f('fk_published_awards_supersedes_id_published_awards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_awards'))
    )
    with op.batch_alter_table('published_awards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_awards_project_id'), ['project_id'], unique=False)

    op.create_table('award_amendments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('award_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('disqualification', 'backup_activation', 'mah_change', 'volume_change', 'other')", name=op.f('ck_award_amendments_kind_enum')),
    sa.ForeignKeyConstraint(['award_id'], ['published_awards.id'], name=op.f('fk_award_amendments_award_id_published_awards')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_award_amendments_created_by_id_users')),
    sa.ForeignKeyConstraint(['document_id'], ['stored_documents.id'], name=op.f('fk_award_amendments_document_id_stored_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_award_amendments'))
    )
    with op.batch_alter_table('award_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_award_amendments_award_id'), ['award_id'], unique=False)

    op.create_table('contracts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_no', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('award_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('cycle_start', sa.Date(), nullable=False),
    sa.Column('cycle_end', sa.Date(), nullable=False),
    sa.Column('pack_price', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('unit_price', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('supersedes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('supplier_confirmed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('supplier_confirmed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('institution_confirmed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('institution_confirmed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('draft', 'supplier_confirmed', 'institution_confirmed', 'signed', 'superseded')", name=op.f('ck_contracts_status_enum')),
    sa.ForeignKeyConstraint(['award_id'], ['published_awards.id'], name=op.f('fk_contracts_award_id_published_awards')),
    sa.ForeignKeyConstraint(['institution_confirmed_by_id'], ['users.id'], name=op.f('fk_contracts_institution_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_contracts_institution_id_organisations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_contracts_lot_id_lots')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_contracts_product_id_products')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['contracts.id'], name=op.f('fk_contracts_supersedes_id_contracts')),
    sa.ForeignKeyConstraint(['supplier_confirmed_by_id'], ['users.id'], name=op.f('fk_contracts_supplier_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_contracts_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contracts')),
    sa.UniqueConstraint('contract_no', 'version', name=op.f('uq_contracts_contract_no_version'))
    )
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contracts_award_id'), ['award_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_contract_no'), ['contract_no'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contracts_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('distributor_assignments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('award_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('distributor_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('named_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('named_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('confirmed_at', app.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('proposed', 'confirmed', 'revoked')", name=op.f('ck_distributor_assignments_status_enum')),
    sa.ForeignKeyConstraint(['award_id'], ['published_awards.id'], name=op.f('fk_distributor_assignments_award_id_published_awards')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_distributor_assignments_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['distributor_org_id'], ['organisations.id'], name=op.f('fk_distributor_assignments_distributor_org_id_organisations')),
    sa.ForeignKeyConstraint(['named_by_id'], ['users.id'], name=op.f('fk_distributor_assignments_named_by_id_users')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_distributor_assignments_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distributor_assignments'))
    )
    with op.batch_alter_table('distributor_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_distributor_assignments_award_id'), ['award_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_distributor_assignments_distributor_org_id'), ['distributor_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_distributor_assignments_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('published_award_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('award_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('bid_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('role', sa.String(length=8), nullable=False),
    sa.Column('year_no', sa.Integer(), nullable=False),
    sa.Column('pack_price', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('unit_price', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('committed_volume', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.CheckConstraint("role IN ('primary', 'backup')", name=op.f('ck_published_award_lines_role_enum')),
    sa.ForeignKeyConstraint(['award_id'], ['published_awards.id'], name=op.f('fk_published_award_lines_award_id_published_awards')),
    sa.ForeignKeyConstraint(['bid_id'], ['bids.id'], name=op.f('fk_published_award_lines_bid_id_bids')),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_published_award_lines_institution_id_organisations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_published_award_lines_lot_id_lots')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_published_award_lines_product_id_products')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_published_award_lines_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_published_award_lines'))
    )
    with op.batch_alter_table('published_award_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_published_award_lines_award_id'), ['award_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_award_lines_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_award_lines_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_award_lines_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_award_lines_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_published_award_lines_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('supply_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('award_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('backup_supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('raised_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('delivery_rate', 'stockout', 'payment_overdue')", name=op.f('ck_supply_alerts_kind_enum')),
    sa.CheckConstraint("state IN ('normal', 'supply_alert', 'confirmed', 'backup_active', 'resolved', 'award_cancelled')", name=op.f('ck_supply_alerts_state_enum')),
    sa.ForeignKeyConstraint(['award_id'], ['published_awards.id'], name=op.f('fk_supply_alerts_award_id_published_awards')),
    sa.ForeignKeyConstraint(['backup_supplier_org_id'], ['organisations.id'], name=op.f('fk_supply_alerts_backup_supplier_org_id_organisations')),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_supply_alerts_institution_id_organisations')),
    sa.ForeignKeyConstraint(['lot_id'], ['lots.id'], name=op.f('fk_supply_alerts_lot_id_lots')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_supply_alerts_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supply_alerts'))
    )
    with op.batch_alter_table('supply_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supply_alerts_award_id'), ['award_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_supply_alerts_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('contract_years',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year_no', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('committed_volume', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_contract_years_contract_id_contracts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_years')),
    sa.UniqueConstraint('contract_id', 'year_no', name=op.f('uq_contract_years_contract_id_year_no'))
    )
    with op.batch_alter_table('contract_years', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_years_contract_id'), ['contract_id'], unique=False)

    op.create_table('purchase_records',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('order_no', sa.String(length=64), nullable=False),
    sa.Column('institution_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contract_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('supplier_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('distributor_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('product_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('qty_packs', app.core.db.ExactDecimal(18, 4), nullable=False),
    sa.Column('pack_qty', sa.Integer(), nullable=False),
    sa.Column('price_pack', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('delivery_date', sa.Date(), nullable=True),
    sa.Column('received_qty', app.core.db.ExactDecimal(18, 4), nullable=True),
    sa.Column('received_date', sa.Date(), nullable=True),
    sa.Column('payment_due_date', sa.Date(), nullable=True),
    sa.Column('invoice_no', sa.String(length=64), nullable=True),
    sa.Column('source_document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['contract_id'], ['contracts.id'], name=op.f('fk_purchase_records_contract_id_contracts')),
    sa.ForeignKeyConstraint(['distributor_org_id'], ['organisations.id'], name=op.f('fk_purchase_records_distributor_org_id_organisations')),
    sa.ForeignKeyConstraint(['institution_id'], ['organisations.id'], name=op.f('fk_purchase_records_institution_id_organisations')),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_purchase_records_product_id_products')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_purchase_records_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['source_document_id'], ['stored_documents.id'], name=op.f('fk_purchase_records_source_document_id_stored_documents')),
    sa.ForeignKeyConstraint(['supplier_org_id'], ['organisations.id'], name=op.f('fk_purchase_records_supplier_org_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_records')),
    sa.UniqueConstraint('institution_id', 'order_no', name=op.f('uq_purchase_records_institution_id_order_no'))
    )
    with op.batch_alter_table('purchase_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_records_contract_id'), ['contract_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_records_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_records_order_date'), ['order_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_records_product_id'), ['product_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_purchase_records_supplier_org_id'), ['supplier_org_id'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('purchase_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payer_org_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', app.core.db.ExactDecimal(18, 6), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('recorded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', app.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['payer_org_id'], ['organisations.id'], name=op.f('fk_payments_payer_org_id_organisations')),
    sa.ForeignKeyConstraint(['purchase_id'], ['purchase_records.id'], name=op.f('fk_payments_purchase_id_purchase_records')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_payments_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_purchase_id'), ['purchase_id'], unique=False)


    regions = sa.table(
        "regions", sa.column("code", sa.String), sa.column("name", sa.String), sa.column("full_name", sa.String),
        sa.column("name_en", sa.String), sa.column("is_nhsa_only", sa.Boolean), sa.column("merged_into", sa.String),
    )
    op.bulk_insert(regions, [
        {"code": code, "name": name, "full_name": full, "name_en": en, "is_nhsa_only": code == "660000",
         "merged_into": "650000" if code == "660000" else None}
        for code, name, full, en in REGIONS
    ])


def downgrade() -> None:
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_purchase_id'))

    op.drop_table('payments')
    with op.batch_alter_table('purchase_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_records_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_records_product_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_records_order_date'))
        batch_op.drop_index(batch_op.f('ix_purchase_records_institution_id'))
        batch_op.drop_index(batch_op.f('ix_purchase_records_contract_id'))

    op.drop_table('purchase_records')
    with op.batch_alter_table('contract_years', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_years_contract_id'))

    op.drop_table('contract_years')
    with op.batch_alter_table('supply_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supply_alerts_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_supply_alerts_award_id'))

    op.drop_table('supply_alerts')
    with op.batch_alter_table('published_award_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_award_lines_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_published_award_lines_region_code'))
        batch_op.drop_index(batch_op.f('ix_published_award_lines_product_id'))
        batch_op.drop_index(batch_op.f('ix_published_award_lines_lot_id'))
        batch_op.drop_index(batch_op.f('ix_published_award_lines_institution_id'))
        batch_op.drop_index(batch_op.f('ix_published_award_lines_award_id'))

    op.drop_table('published_award_lines')
    with op.batch_alter_table('distributor_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_distributor_assignments_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_distributor_assignments_distributor_org_id'))
        batch_op.drop_index(batch_op.f('ix_distributor_assignments_award_id'))

    op.drop_table('distributor_assignments')
    with op.batch_alter_table('contracts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contracts_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_contracts_lot_id'))
        batch_op.drop_index(batch_op.f('ix_contracts_institution_id'))
        batch_op.drop_index(batch_op.f('ix_contracts_contract_no'))
        batch_op.drop_index(batch_op.f('ix_contracts_award_id'))

    op.drop_table('contracts')
    with op.batch_alter_table('award_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_amendments_award_id'))

    op.drop_table('award_amendments')
    with op.batch_alter_table('published_awards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_published_awards_project_id'))

    op.drop_table('published_awards')
    with op.batch_alter_table('objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_objections_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_objections_org_id'))

    op.drop_table('objections')
    with op.batch_alter_table('award_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_proposals_project_id'))

    op.drop_table('award_proposals')
    with op.batch_alter_table('award_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_lines_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_award_lines_scenario_id'))
        batch_op.drop_index(batch_op.f('ix_award_lines_lot_id'))

    op.drop_table('award_lines')
    with op.batch_alter_table('round_invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_invitations_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_round_invitations_round_lot_id'))

    op.drop_table('round_invitations')
    with op.batch_alter_table('demand_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demand_amendments_demand_line_id'))

    op.drop_table('demand_amendments')
    with op.batch_alter_table('committed_volumes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_committed_volumes_selection_run_id'))

    op.drop_table('committed_volumes')
    with op.batch_alter_table('award_scenarios', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_award_scenarios_project_id'))
        batch_op.drop_index(batch_op.f('ix_award_scenarios_problem_sha256'))

    op.drop_table('award_scenarios')
    with op.batch_alter_table('system_components', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_system_components_lot_id'))

    op.drop_table('system_components')
    with op.batch_alter_table('selection_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_selection_runs_project_id'))
        batch_op.drop_index(batch_op.f('ix_selection_runs_problem_sha256'))

    op.drop_table('selection_runs')
    with op.batch_alter_table('round_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_lots_round_id'))

    op.drop_table('round_lots')
    with op.batch_alter_table('lot_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lot_products_product_id'))
        batch_op.drop_index(batch_op.f('ix_lot_products_lot_id'))

    op.drop_table('lot_products')
    with op.batch_alter_table('inquiry_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiry_steps_inquiry_id'))

    op.drop_table('inquiry_steps')
    with op.batch_alter_table('demand_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demand_lines_report_id'))
        batch_op.drop_index(batch_op.f('ix_demand_lines_lot_id'))

    op.drop_table('demand_lines')
    with op.batch_alter_table('bids', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bids_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_bids_submission_id'))
        batch_op.drop_index(batch_op.f('ix_bids_project_id'))
        batch_op.drop_index(batch_op.f('ix_bids_lot_id'))

    op.drop_table('bids')
    with op.batch_alter_table('ruleset_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ruleset_versions_project_id'))

    op.drop_table('ruleset_versions')
    with op.batch_alter_table('risk_flags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_risk_flags_listed_price_id'))
        batch_op.drop_index(batch_op.f('ix_risk_flags_active'))

    op.drop_table('risk_flags')
    with op.batch_alter_table('quote_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quote_submissions_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_quote_submissions_project_id'))

    op.drop_table('quote_submissions')
    with op.batch_alter_table('qualification_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualification_documents_supplier_org_id'))

    op.drop_table('qualification_documents')
    with op.batch_alter_table('project_state_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_state_changes_project_id'))

    op.drop_table('project_state_changes')
    with op.batch_alter_table('project_institutions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_institutions_project_id'))
        batch_op.drop_index(batch_op.f('ix_project_institutions_institution_id'))

    op.drop_table('project_institutions')
    with op.batch_alter_table('opening_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opening_records_project_id'))

    op.drop_table('opening_records')
    with op.batch_alter_table('opening_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opening_keys_project_id'))

    op.drop_table('opening_keys')
    op.drop_table('notification_reads')
    with op.batch_alter_table('negotiation_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_negotiation_rounds_project_id'))

    op.drop_table('negotiation_rounds')
    op.drop_table('national_lowest_prices')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_lots_project_id'))
        batch_op.drop_index(batch_op.f('ix_lots_generic_name'))

    op.drop_table('lots')
    with op.batch_alter_table('linkage_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_linkage_tasks_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_linkage_tasks_status'))
        batch_op.drop_index(batch_op.f('ix_linkage_tasks_province_code'))
        batch_op.drop_index(batch_op.f('ix_linkage_tasks_listed_price_id'))

    op.drop_table('linkage_tasks')
    with op.batch_alter_table('inquiries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inquiries_supplier_org_id'))
        batch_op.drop_index(batch_op.f('ix_inquiries_listed_price_id'))

    op.drop_table('inquiries')
    with op.batch_alter_table('demand_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_demand_reports_project_id'))
        batch_op.drop_index(batch_op.f('ix_demand_reports_institution_id'))

    op.drop_table('demand_reports')
    with op.batch_alter_table('stored_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stored_documents_sha256'))
        batch_op.drop_index(batch_op.f('ix_stored_documents_owner_org_id'))

    op.drop_table('stored_documents')
    with op.batch_alter_table('product_proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_proposals_supplier_org_id'))

    op.drop_table('product_proposals')
    with op.batch_alter_table('product_code_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_product_code_changes_product_id'))

    op.drop_table('product_code_changes')
    with op.batch_alter_table('procurement_projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procurement_projects_state'))
        batch_op.drop_index(batch_op.f('ix_procurement_projects_authority_org_id'))

    op.drop_table('procurement_projects')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_org_id'))
        batch_op.drop_index(batch_op.f('ix_notifications_created_at'))

    op.drop_table('notifications')
    with op.batch_alter_table('listed_prices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_listed_prices_status'))
        batch_op.drop_index(batch_op.f('ix_listed_prices_province_code'))
        batch_op.drop_index(batch_op.f('ix_listed_prices_product_id'))
        batch_op.drop_index(batch_op.f('ix_listed_prices_key_sha256'))

    op.drop_table('listed_prices')
    with op.batch_alter_table('credit_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_credit_ratings_company_org_id'))

    op.drop_table('credit_ratings')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_user_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_org_id'))
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_role'))
        batch_op.drop_index(batch_op.f('ix_users_org_id'))

    op.drop_table('users')
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_products_manufacturer_id'))
        batch_op.drop_index(batch_op.f('ix_products_generic_name_initials'))
        batch_op.drop_index(batch_op.f('ix_products_generic_name'))
        batch_op.drop_index(batch_op.f('ix_products_benweima'))

    op.drop_table('products')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_organisations_region_code'))
        batch_op.drop_index(batch_op.f('ix_organisations_name'))
        batch_op.drop_index(batch_op.f('ix_organisations_kind'))

    op.drop_table('organisations')
    op.drop_table('regions')
    with op.batch_alter_table('price_references', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_price_references_key_sha256'))

    op.drop_table('price_references')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_attempts_username'))
        batch_op.drop_index(batch_op.f('ix_login_attempts_remote_addr'))
        batch_op.drop_index(batch_op.f('ix_login_attempts_at'))

    op.drop_table('login_attempts')
    op.drop_table('governance_thresholds')
    op.drop_table('dosage_forms')
    op.drop_table('audit_chain_head')
