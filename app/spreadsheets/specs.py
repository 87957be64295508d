"""The canonical import formats of DOMAIN.md §12 as column specs (data only).

Domain checks (code lengths and checksums C1–C5, the 剂型 dictionary, registered institutions, project states,
credit gates, "≤ today + max_future_days", contract prices) are NOT here: callers pass a
``row_validator(row, rownum) -> [CellError]`` to ``read_table``.  Headers: each alternative of ``A/B`` in §12 is
accepted alone (``医保药品代码`` or ``医保耗材代码``), English keys are accepted as headers, and a few common
variants are aliases.
"""

from __future__ import annotations

from decimal import Decimal

from .spec import Choice, Column, ColumnType as T, SheetSpec

__all__ = ["CATALOG", "LISTED_PRICES", "DEMAND", "QUOTES", "QUOTE_REGIONS", "PURCHASES", "CANONICAL_SPECS",
           "PRICE_TYPES", "PRICE_PLACES"]

PRICE_PLACES = 6  # DOMAIN.md P-2: price_decimals = 6, stored Numeric(18, 6)
ZERO = Decimal(0)

PRODUCT_KEY = ("generic_name", "manufacturer", "dosage_form", "spec")  # P1 四同 key


def _code(key: str, zh: str, en: str | None = None, *, required: bool = False, aliases: tuple[str, ...] = (),
          upper: bool = True, **kw) -> Column:
    return Column(key, zh, en or key, T.CODE, required=required, aliases=aliases, upper=upper, **kw)


def _text(key: str, zh: str, *, required: bool = False, aliases: tuple[str, ...] = (), **kw) -> Column:
    return Column(key, zh, key, T.TEXT, required=required, aliases=aliases, **kw)


def _dec(key: str, zh: str, *, required: bool = False, aliases: tuple[str, ...] = (), **kw) -> Column:
    kw.setdefault("places", PRICE_PLACES)
    return Column(key, zh, key, T.DECIMAL, required=required, aliases=aliases, **kw)


def _int(key: str, zh: str, *, required: bool = False, aliases: tuple[str, ...] = (), **kw) -> Column:
    return Column(key, zh, key, T.INT, required=required, aliases=aliases, **kw)


def _bool(key: str, zh: str, *, aliases: tuple[str, ...] = (), **kw) -> Column:
    return Column(key, zh, key, T.BOOL, aliases=aliases, **kw)


# ---- (a) catalog products (产品目录) ---------------------------------------------------------------------------------

CATALOG = SheetSpec(
    name="catalog",
    title_zh="产品目录",
    title_en="Catalog products",
    note_zh="产品以医保代码标识；无医保代码时以通用名、剂型、规格、生产企业标识。",
    note_en="A product is identified by its NHSA code, or else by generic name, dosage form, spec and manufacturer.",
    columns=(
        _code("nhsa_code", "医保药品代码", aliases=("医保耗材代码", "医保代码", "国家医保代码"),
              note_zh="药品23位 (C1) 或耗材27/20/15位 (C2)", note_en="drug: 23 characters (C1); consumable: 27/20/15 (C2)",
              example="XA10AAA123A001010101234"),
        _code("benweima", "药品本位码", aliases=("本位码",), note_zh="14位数字 (C3)", note_en="14 digits (C3)",
              example="86900483000019"),
        _text("generic_name", "通用名", required=True, aliases=("通用名称", "药品通用名"), example="阿托伐他汀钙片"),
        _text("dosage_form", "剂型", required=True, example="片剂"),
        _text("spec", "规格", required=True, example="20mg"),
        _dec("fill_volume_ml", "装量", gt=ZERO, aliases=("装量(ml)", "装量(mL)"), example="2"),
        _int("pack_qty", "包装数量", required=True, gt=0, aliases=("包装数", "转换比"),
             note_zh="最小制剂单位数", note_en="smallest units per pack", example=7),
        _text("min_unit", "最小制剂单位", required=True, aliases=("最小单位",), example="片"),
        _text("manufacturer", "生产企业", required=True, aliases=("生产企业名称", "生产厂家"), example="某某制药有限公司"),
        _code("manufacturer_uscc", "统一社会信用代码", aliases=("生产企业统一社会信用代码",),
              note_zh="境内企业必填 (C5)", note_en="required for domestic makers (C5)", example="91110000600000000X"),
        _text("mah", "上市许可持有人", aliases=("持有人",)),
        _code("approval_no", "批准文号或注册证号", required=True, aliases=("批准文号", "注册证号", "批准文号/注册证号"),
              note_zh="境内药品 C4", note_en="C4 for domestic drugs", example="国药准字H20051408"),
        _bool("originator", "是否原研"),
        _bool("reference_listed", "是否参比制剂"),
        _bool("consistency_evaluated", "是否过评", aliases=("是否通过一致性评价",)),
        _code("manufacturer_foreign_id", "境外企业编号"),
        _code("agent_uscc", "代理人统一社会信用代码", note_zh="无统一社会信用代码的境外企业必填",
              note_en="required for a foreign maker without USCC"),
    ),
    one_of=((("nhsa_code",), PRODUCT_KEY),),
    unique=(("nhsa_code",),),
)

# ---- (b) listed prices per province (挂网价格) -----------------------------------------------------------------------

PRICE_TYPES = (
    Choice("listed", "挂网价"),
    Choice("vbp_agreement", "集采协议价", ("集采价", "协议价")),
    Choice("renewal", "接续价"),
    Choice("negotiated", "谈判价"),
    Choice("temporary", "临时价"),
)


def _linkable_default(row: dict) -> bool:
    """是否参与联动 defaults to 是, but to 否 for renewal prices (DOMAIN.md V5)."""
    return row.get("price_type") != "renewal"


LISTED_PRICES = SheetSpec(
    name="listed_prices",
    title_zh="挂网价格",
    title_en="Listed prices",
    note_zh="以医保代码或四同（通用名、生产企业、剂型、规格）标识产品。",
    note_en="Identify the product by NHSA code or by generic name, manufacturer, dosage form and spec.",
    columns=(
        _code("nhsa_code", "医保代码", aliases=("医保药品代码", "医保耗材代码")),
        _text("generic_name", "通用名", aliases=("通用名称",)),
        _text("manufacturer", "生产企业", aliases=("生产企业名称",)),
        _text("dosage_form", "剂型"),
        _text("spec", "规格"),
        _code("province_code", "省份代码", required=True, aliases=("省份",), upper=False,
              note_zh="6位区划代码或省份名称", note_en="6-digit code or province name", example="110000"),
        _dec("listed_price_pack", "挂网价(元/包装)", required=True, gt=ZERO, aliases=("挂网价", "挂网价格"),
             example="12.5"),
        _int("pack_qty", "包装数量", required=True, gt=0, example=7),
        Column("effective_date", "执行日期", "effective_date", T.DATE, required=True, aliases=("生效日期",),
               example="2025-01-01"),
        Column("price_type", "价格类型", "price_type", T.ENUM, choices=PRICE_TYPES),
        _bool("linkable", "是否参与联动", default=_linkable_default,
              note_zh="默认是；接续价默认否", note_en="default 是 (yes); 否 (no) for renewal prices"),
        _text("source_document", "来源文件", required=True, aliases=("文件号", "来源"),
              note_zh="文件号或网址", note_en="document number or URL"),
    ),
    one_of=((("nhsa_code",), PRODUCT_KEY),),
    unique=(("nhsa_code", "province_code", "effective_date"),),
)

# ---- (c) hospital demand reports (需求报量) --------------------------------------------------------------------------

DEMAND = SheetSpec(
    name="demand",
    title_zh="需求报量",
    title_en="Demand report",
    columns=(
        _code("project_code", "项目编号", required=True, upper=False),
        _int("lot_no", "品种序号", required=True, gt=0),
        _code("institution_code", "医疗机构代码", required=True, upper=False),
        _text("institution_name", "医疗机构名称", required=True),
        _code("province_code", "省份代码", required=True, upper=False, aliases=("省份",)),
        _code("nhsa_code", "医保代码", aliases=("医保药品代码", "医保耗材代码")),
        _text("spec", "规格"),
        _text("preferred_brand", "意向品牌"),
        _dec("historical_usage", "历史年用量", required=True, ge=ZERO, note_zh="最小制剂单位",
             note_en="smallest units"),
        _dec("reported_demand", "报送需求量", required=True, ge=ZERO, note_zh="最小制剂单位",
             note_en="smallest units"),
        _int("year", "年度", required=True, ge=2000, le=2100),
    ),
    one_of=((("nhsa_code",), ("spec",)),),
    unique=(("project_code", "lot_no", "institution_code", "year", "nhsa_code"),),
)

# ---- (d) supplier quotes (企业报价) and the region-preference sheet ------------------------------------------------


def _tier(n: int) -> tuple[Column, Column]:
    return (
        _dec(f"tier{n}_min_qty", f"阶梯{n}起量", gt=ZERO),
        _dec(f"tier{n}_pack_price", f"阶梯{n}包装价", gt=ZERO),
    )


QUOTES = SheetSpec(
    name="quotes",
    title_zh="企业报价",
    title_en="Supplier quotes",
    columns=(
        _code("project_code", "项目编号", required=True, upper=False),
        _int("lot_no", "品种序号", required=True, gt=0),
        _code("supplier_uscc", "企业统一社会信用代码", required=True, aliases=("统一社会信用代码",)),
        _code("nhsa_code", "医保代码", aliases=("医保药品代码", "医保耗材代码")),
        _text("spec", "规格"),
        _dec("pack_price", "包装报价(元)", required=True, gt=ZERO, aliases=("包装报价",)),
        _int("pack_qty", "包装数量", required=True, gt=0),
        _dec("declared_capacity", "申报产能(最小单位/年)", required=True, gt=ZERO, aliases=("申报产能",),
             note_zh="本报价可中选的最大量", note_en="the most this quote may be awarded"),
        _dec("capacity_use_per_unit", "单位产能占用", gt=ZERO, default=Decimal(1)),
        _dec("supplier_capacity", "企业总产能", gt=ZERO, note_zh="企业在本项目所有报价共享",
             note_en="shared by all the supplier's quotes in the project"),
        *_tier(1), *_tier(2), *_tier(3),
        _code("bundle_id", "组合包编号", upper=False),
        _dec("bundle_discount", "组合包折扣", ge=ZERO, lt=1, percent=True,
             note_zh="小数，如 0.03 (或 3%)", note_en="a fraction, e.g. 0.03 (or 3%)"),
        _int("round_no", "轮次", gt=0, default=1),
    ),
    one_of=((("nhsa_code",), ("spec",)),),
    unique=(("project_code", "lot_no", "nhsa_code", "round_no"),),
    together=(("tier1_min_qty", "tier1_pack_price"), ("tier2_min_qty", "tier2_pack_price"),
              ("tier3_min_qty", "tier3_pack_price"), ("bundle_id", "bundle_discount")),
    ordered=((("tier1_min_qty", "tier2_min_qty", "tier3_min_qty"), "increasing"),
             (("tier1_pack_price", "tier2_pack_price", "tier3_pack_price"), "decreasing")),
    same_within=(("bundle_id", "bundle_discount"),),
)

QUOTE_REGIONS = SheetSpec(
    name="quote_regions",
    title_zh="地区偏好",
    title_en="Region preferences",
    note_zh="每行一个品种：品种序号，然后按优先顺序填写地区（代码或名称）。",
    note_en="One lot per row: the lot number, then the regions (code or name) in order of preference.",
    sheet_names=("地区偏好", "Region preferences", "region_preferences", "主供地区偏好"),
    columns=(
        _int("lot_no", "品种序号", required=True, gt=0),
        _code("regions", "地区", "region", upper=False, repeat=True, repeat_count=32, aliases=("偏好地区",)),
    ),
    unique=(("lot_no",),),
)

# ---- (e) purchase and delivery records (采购/配送记录) --------------------------------------------------------------

PURCHASES = SheetSpec(
    name="purchases",
    title_zh="采购配送记录",
    title_en="Purchase records",
    columns=(
        _code("order_no", "订单号", required=True, upper=False, aliases=("订单编号",)),
        _code("contract_no", "合同编号", upper=False),
        _code("institution_code", "医疗机构代码", required=True, upper=False),
        _code("supplier_uscc", "生产企业信用代码", required=True, aliases=("生产企业统一社会信用代码",)),
        _code("distributor_uscc", "配送企业信用代码", aliases=("配送企业统一社会信用代码",)),
        _code("nhsa_code", "医保代码", required=True, aliases=("医保药品代码", "医保耗材代码")),
        _dec("qty_packs", "订购数量(包装)", required=True, gt=ZERO, aliases=("订购数量",)),
        _int("pack_qty", "包装数量", required=True, gt=0),
        _dec("price_pack", "单价(元/包装)", required=True, ge=ZERO, aliases=("单价",)),
        Column("order_date", "订单日期", "order_date", T.DATE, required=True),
        Column("delivery_date", "配送日期", "delivery_date", T.DATE),
        _dec("received_qty", "验收数量", ge=ZERO),
        _code("invoice_no", "发票号", upper=False, aliases=("发票号码",)),
    ),
    unique=(("institution_code", "order_no"),),
    ordered=((("order_date", "delivery_date"), "nondecreasing"),),
)

CANONICAL_SPECS: dict[str, SheetSpec] = {
    s.name: s for s in (CATALOG, LISTED_PRICES, DEMAND, QUOTES, QUOTE_REGIONS, PURCHASES)
}
