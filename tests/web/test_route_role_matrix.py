"""Every route × every role of DOMAIN.md L1 (plus anonymous and an organisation administrator).

``EXPECTED`` is the access decision for each endpoint: the status each actor gets for a GET (or,
for a POST-only route, a POST carrying a valid CSRF token). A route without a row fails the suite:
whoever adds a route decides here who may use it. URL parameters are filled from real objects
(``PARAMETERS``): a route taking an id has one row per variant, e.g. a user of the actor's own
organisation and one of another organisation.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

from app.auth.roles import ROLES
from tests.web.conftest import page_csrf_token

# The columns of every row: anonymous, the seven roles of DOMAIN.md L1, then a supplier user who is
# its organisation's administrator (``is_org_admin``, a flag, not a role).
ACTORS = ("anonymous", *ROLES, "org_admin")


def row(*statuses: int) -> dict[str, int]:
    assert len(statuses) == len(ACTORS), f"a row needs {len(ACTORS)} statuses, one per actor of {ACTORS}"
    return dict(zip(ACTORS, statuses))


# fmt: off
EXPECTED: dict[str, dict] = {
    #                                    anon  platf  offic  super  insti  suppl  distr  price  orgadm
    "main.dashboard":               row(302,  200,   200,   200,   200,   200,   200,   200,   200),
    "main.healthz":                 row(200,  200,   200,   200,   200,   200,   200,   200,   200),
    "auth.login":                   row(200,  302,   302,   302,   302,   302,   302,   302,   302),
    "auth.logout":                  row(302,  302,   302,   302,   302,   302,   302,   302,   302),
    "auth.profile":                 row(302,  200,   200,   200,   200,   200,   200,   200,   200),
    "auth.tokens":                  row(302,  200,   200,   200,   200,   200,   200,   200,   200),
    "auth.revoke_token": {
        "own":                      row(302,  302,   302,   302,   302,   302,   302,   302,   302),
        "other":                    row(302,  404,   404,   404,   404,   404,   404,   404,   404),
    },
    # User administration: platform administrators everywhere, organisation administrators their own
    # organisation only (another organisation's user is a 404: its existence is not revealed).
    "auth.list_users":              row(302,  200,   403,   403,   403,   403,   403,   403,   200),
    "auth.create_user":             row(302,  200,   403,   403,   403,   403,   403,   403,   200),
    "auth.edit_user": {
        "own_org":                  row(302,  200,   403,   403,   403,   403,   403,   403,   200),
        "other_org":                row(302,  200,   403,   403,   403,   403,   403,   403,   404),
    },
    "auth.reset_password": {
        "own_org":                  row(302,  200,   403,   403,   403,   403,   403,   403,   200),
        "other_org":                row(302,  200,   403,   403,   403,   403,   403,   403,   404),
    },
    # Organisations: read by the authorities and the platform, registered by the platform only.
    "orgs.list_orgs":               row(302,  200,   200,   200,   403,   403,   403,   200,   403),
    "orgs.show_org": {
        "own_org":                  row(302,  200,   200,   200,   403,   403,   403,   200,   403),
        "other_org":                row(302,  200,   200,   200,   403,   403,   403,   200,   403),
    },
    "orgs.create_org":              row(302,  200,   403,   403,   403,   403,   403,   403,   403),
    "audit.list_events":            row(302,  200,   403,   200,   403,   403,   403,   403,   403),
    "notifications.inbox":          row(302,  200,   200,   200,   200,   200,   200,   200,   200),
    "notifications.mark_read": {
        "own":                      row(302,  302,   302,   302,   302,   302,   302,   302,   302),
        "other":                    row(302,  404,   404,   404,   404,   404,   404,   404,   404),
    },
    # Procurement projects (app/projects): read by officers and supervisors (all), institutions (the
    # projects they take part in) and suppliers (from bidding_open on; earlier a 404); changed only by
    # officers of the project's authority. The "draft"/"bidding" projects belong to the officer's
    # authority and the institution takes part in both. Setup pages of a frozen project (bidding
    # open) send the officer back to the project (302); POSTs here carry no form data, so they
    # change nothing (no move chosen, removal not confirmed).
    "projects.list_projects":       row(302,  403,   200,   200,   200,   200,   403,   403,   200),
    "projects.create_project":      row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    "projects.show_project": {
        "draft":                    row(302,  403,   200,   200,   200,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   200,   200,   200,   200,   403,   403,   200),
    },
    "projects.ruleset": {
        "draft":                    row(302,  403,   200,   200,   200,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   200,   200,   200,   200,   403,   403,   200),
    },
    "projects.edit_timeline": {
        "draft":                    row(302,  403,   200,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    },
    "projects.institutions": {
        "draft":                    row(302,  403,   200,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "projects.create_lot": {
        "draft":                    row(302,  403,   200,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "projects.transition": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "projects.edit_lot": {
        "draft":                    row(302,  403,   200,   403,   403,   403,   403,   403,   403),
        "frozen":                   row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "projects.lot_products": {
        "draft":                    row(302,  403,   200,   403,   403,   403,   403,   403,   403),
        "frozen":                   row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "projects.remove_lot": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "frozen":                   row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    # Winner selection (app/selection): officers and supervisors read every outcome, suppliers their own
    # (a project they may read; "no run yet" here), only officers of the authority run it (before the
    # opening they are sent back to the results, 302). Neither project has a run: a download is a 404.
    "selection.index":              row(302,  403,   200,   200,   403,   200,   403,   403,   200),
    "selection.results": {
        "draft":                    row(302,  403,   200,   200,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   200,   200,   403,   200,   403,   403,   200),
    },
    "selection.run": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "selection.history": {
        "draft":                    row(302,  403,   200,   200,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   200,   200,   403,   403,   403,   403,   403),
    },
    "selection.download": {
        "draft":                    row(302,  403,   404,   404,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   404,   404,   403,   403,   403,   403,   403),
    },
    # Product catalog (app/catalog): read by officers, supervisors, institutions, suppliers and price officers;
    # changed, imported and exported by officers; suppliers propose their own products (a proposal of another
    # organisation is a 404) and officers review them. POSTs carry no form data here, so they change nothing
    # (retirement not confirmed, no review decision). Without an earlier refused upload there is no report.
    "catalog.list_products":        row(302,  403,   200,   200,   200,   200,   403,   200,   200),
    "catalog.export_products":      row(302,  403,   200,   200,   200,   200,   403,   200,   200),
    "catalog.show_product": {
        "active":                   row(302,  403,   200,   200,   200,   200,   403,   200,   200),
    },
    "catalog.create_product":       row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    "catalog.edit_product": {
        "active":                   row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    },
    "catalog.retire_product": {
        "active":                   row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "catalog.disable_code": {
        "active":                   row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    },
    "catalog.import_catalog":       row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    "catalog.import_report":        row(302,  403,   404,   403,   403,   403,   403,   403,   403),
    "catalog.template":             row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    "catalog.list_proposals":       row(302,  403,   200,   200,   403,   200,   403,   403,   200),
    "catalog.propose_product":      row(302,  403,   403,   403,   403,   200,   403,   403,   200),
    "catalog.show_proposal": {
        "own_org":                  row(302,  403,   200,   200,   403,   200,   403,   403,   200),
        "other_org":                row(302,  403,   200,   200,   403,   404,   403,   403,   404),
    },
    "catalog.review_proposal": {
        "own_org":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "other_org":                row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    # Sealed bidding (app/bidding): officers and supervisors see counts and hashes, suppliers their own
    # receipts and documents (another organisation's is a 404), nobody a price before the opening; the
    # platform administrator has no access at all. Ceremonies belong to officers of the authority: the
    # key ceremony only while demand is frozen, the opening only once it is due (else back, 302). The
    # matrix suppliers have no eligible product (template: back, 302); POSTs carry no form data (302).
    "bidding.index":                row(302,  403,   200,   200,   403,   200,   403,   403,   200),
    "bidding.project_bidding": {
        "draft":                    row(302,  403,   200,   200,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   200,   200,   403,   200,   403,   403,   200),
    },
    "bidding.key_ceremony": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "bidding.quote_template": {
        "draft":                    row(302,  403,   403,   403,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   403,   403,   403,   302,   403,   403,   302),
    },
    "bidding.upload_quote": {
        "draft":                    row(302,  403,   403,   403,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   403,   403,   403,   200,   403,   403,   200),
    },
    "bidding.withdraw_quote": {
        "draft":                    row(302,  403,   403,   403,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   403,   403,   403,   302,   403,   403,   302),
    },
    "bidding.receipt": {
        "own":                      row(302,  403,   200,   200,   403,   200,   403,   403,   200),
        "other":                    row(302,  403,   200,   200,   403,   404,   403,   403,   404),
    },
    "bidding.opening": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "bidding.opening_record": {
        "draft":                    row(302,  403,   200,   200,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   200,   200,   403,   404,   403,   403,   404),
    },
    "bidding.bids": {
        "draft":                    row(302,  403,   200,   200,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   200,   200,   403,   403,   403,   403,   403),
    },
    "bidding.export_bids": {
        "draft":                    row(302,  403,   302,   302,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   302,   403,   403,   403,   403,   403),
    },
    # Negotiation rounds (app/bidding/negotiation_views.py): the matrix projects are not opened, so the
    # officer's round pages go back (302); suppliers post revisions only where the project is visible.
    "negotiation.project_negotiation": {
        "draft":                    row(302,  403,   200,   200,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   200,   200,   403,   200,   403,   403,   200),
    },
    "negotiation.new_round": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "negotiation.revise": {
        "draft":                    row(302,  403,   403,   403,   403,   404,   403,   403,   404),
        "bidding":                  row(302,  403,   403,   403,   403,   302,   403,   403,   302),
    },
    "negotiation.open_round": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "bidding.qualifications":       row(302,  403,   200,   200,   403,   200,   403,   403,   200),
    "bidding.upload_qualification": row(302,  403,   403,   403,   403,   200,   403,   403,   200),
    "bidding.show_qualification": {
        "own":                      row(302,  403,   200,   200,   403,   200,   403,   403,   200),
        "other":                    row(302,  403,   200,   200,   403,   404,   403,   403,   404),
    },
    "bidding.review_qualification": {
        "own":                      row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "other":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "bidding.qualification_file": {
        "own":                      row(302,  403,   200,   200,   403,   200,   403,   403,   200),
        "other":                    row(302,  403,   200,   200,   403,   404,   403,   403,   404),
    },
    # Institutions' master data and demand collection (app/demand, app/orgs/institutions.py): officers,
    # supervisors and the platform read institutions, officers import, edit and create their users. Hospitals
    # report their own demand (the form, upload and template send them back, 302, when the project is not
    # collecting demand: draft, bidding) and read only their own reports (another's is a 404); officers and
    # supervisors follow every report; officers remind, freeze and decide amendments (POSTs here carry no
    # confirmation or decision: back, 302). The report and amendment are in the "bidding" project.
    "demand.list_institutions":     row(302,  200,   200,   200,   403,   403,   403,   403,   403),
    "demand.edit_institution": {
        "any":                      row(302,  200,   200,   200,   403,   403,   403,   403,   403),
    },
    "demand.import_institutions":   row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    "demand.institutions_template": row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    "demand.create_institution_user": {
        "any":                      row(302,  403,   200,   403,   403,   403,   403,   403,   403),
    },
    "demand.index":                 row(302,  403,   200,   200,   200,   403,   403,   403,   403),
    "demand.my_report": {
        "draft":                    row(302,  403,   403,   403,   200,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   403,   403,   200,   403,   403,   403,   403),
    },
    "demand.report_form": {
        "draft":                    row(302,  403,   403,   403,   302,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   403,   403,   302,   403,   403,   403,   403),
    },
    "demand.upload_report": {
        "draft":                    row(302,  403,   403,   403,   302,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   403,   403,   302,   403,   403,   403,   403),
    },
    "demand.report_template": {
        "draft":                    row(302,  403,   403,   403,   302,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   403,   403,   302,   403,   403,   403,   403),
    },
    "demand.show_report": {
        "own":                      row(302,  403,   200,   200,   200,   403,   403,   403,   403),
        "other":                    row(302,  403,   200,   200,   404,   403,   403,   403,   403),
    },
    "demand.completeness": {
        "draft":                    row(302,  403,   200,   200,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   200,   200,   403,   403,   403,   403,   403),
    },
    "demand.export_demand": {
        "draft":                    row(302,  403,   200,   200,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   200,   200,   403,   403,   403,   403,   403),
    },
    "demand.remind": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "demand.freeze": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "demand.set_floor": {
        "draft":                    row(302,  403,   302,   403,   403,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
    "demand.amendments": {
        "draft":                    row(302,  403,   200,   200,   200,   403,   403,   403,   403),
        "bidding":                  row(302,  403,   200,   200,   200,   403,   403,   403,   403),
    },
    "demand.decide_amendment": {
        "pending":                  row(302,  403,   302,   403,   403,   403,   403,   403,   403),
    },
}
# fmt: on


@dataclass
class World:
    """The actors and the objects URL parameters are filled from."""

    users: dict[str, object] = field(default_factory=dict)  # actor → its user (anonymous → None)
    colleagues: dict[str, object] = field(default_factory=dict)  # actor → another user of its organisation
    tokens: dict[str, object] = field(default_factory=dict)  # actor → an API token of its own
    notes: dict[str, object] = field(default_factory=dict)  # actor → a notification in its inbox
    projects: dict[str, object] = field(default_factory=dict)  # "draft" / "bidding" → a procurement project
    lots: dict[str, object] = field(default_factory=dict)  # "draft" / "frozen" → a lot of one of them
    products: dict[str, object] = field(default_factory=dict)  # "active" → a catalog product
    proposals: dict[str, object] = field(default_factory=dict)  # supplier actor → a proposal of its organisation
    stranger_proposal: object = None  # a proposal of the stranger's organisation
    qualifications: dict[str, object] = field(default_factory=dict)  # supplier actor → its qualification document
    receipts: dict[str, object] = field(default_factory=dict)  # supplier actor → its quote version ("bidding")
    demand: dict[str, object] = field(default_factory=dict)  # reports, lines, an amendment (demand_builders)
    stranger_qualification: object = None
    stranger_receipt: object = None
    stranger: object = None  # a user of an organisation no actor belongs to
    stranger_token: object = None
    stranger_note: object = None


def _own(mapping: str, fallback: str):
    def resolve(world: World, actor: str) -> int:
        obj = getattr(world, mapping).get(actor) or getattr(world, fallback)
        return obj.id

    return resolve


# URL parameter → {variant: resolver(world, actor) → value}. Anonymous has nothing of its own: its
# "own" variants use the stranger's objects.
PARAMETERS = {
    "user_id": {
        "own_org": _own("colleagues", "stranger"),
        "other_org": lambda world, actor: world.stranger.id,
    },
    "org_id": {
        "own_org": lambda world, actor: (world.users.get(actor) or world.stranger).org_id,
        "other_org": lambda world, actor: world.stranger.org_id,
    },
    "token_id": {
        "own": _own("tokens", "stranger_token"),
        "other": lambda world, actor: world.stranger_token.id,
    },
    "notification_id": {
        "own": _own("notes", "stranger_note"),
        "other": lambda world, actor: world.stranger_note.id,
    },
    "project_id": {
        "draft": lambda world, actor: world.projects["draft"].id,
        "bidding": lambda world, actor: world.projects["bidding"].id,
    },
    "lot_id": {
        "draft": lambda world, actor: world.lots["draft"].id,
        "frozen": lambda world, actor: world.lots["frozen"].id,
    },
    "product_id": {
        "active": lambda world, actor: world.products["active"].id,
    },
    "proposal_id": {
        "own_org": _own("proposals", "stranger_proposal"),
        "other_org": lambda world, actor: world.stranger_proposal.id,
    },
    "qualification_id": {
        "own": _own("qualifications", "stranger_qualification"),
        "other": lambda world, actor: world.stranger_qualification.id,
    },
    "submission_id": {
        "own": _own("receipts", "stranger_receipt"),
        "other": lambda world, actor: world.stranger_receipt.id,
    },
    "institution_id": {
        "any": lambda world, actor: world.demand["institution"].id,
    },
    "report_id": {
        "own": lambda world, actor: world.demand["own_report"].id,
        "other": lambda world, actor: world.demand["other_report"].id,
    },
    "amendment_id": {
        "pending": lambda world, actor: world.demand["amendment"].id,
    },
}


def _routes(app):
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"), key=lambda r: r.rule)


def _variants(rule) -> list[tuple[str | None, dict]]:
    """(variant key, {param: resolver}) for each combination of the rule's parameters' variants."""
    names = sorted(rule.arguments)
    if not names:
        return [(None, {})]
    choices = [[(name, key, resolve) for key, resolve in PARAMETERS[name].items()] for name in names]
    return [("/".join(key for _, key, _ in combo), {name: resolve for name, _, resolve in combo})
            for combo in itertools.product(*choices)]


def _method(rule) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def test_every_route_has_a_decision(app):
    problems = []
    for rule in _routes(app):
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        where = f"{rule.rule} ({rule.endpoint}, {', '.join(methods)})"
        if not ({"GET", "POST"} & rule.methods):
            problems.append(f"{where}: the matrix only knows GET and POST routes; teach it this method")
            continue
        unknown = sorted(set(rule.arguments) - set(PARAMETERS))
        if unknown:
            problems.append(f"{where}: add a resolver for URL parameter(s) {unknown} to PARAMETERS "
                            "in tests/web/test_route_role_matrix.py")
            continue
        decision = EXPECTED.get(rule.endpoint)
        if decision is None:
            problems.append(f"{where}: no access decision. Add a row for {rule.endpoint!r} to EXPECTED in "
                            f"tests/web/test_route_role_matrix.py saying what each of {', '.join(ACTORS)} gets")
            continue
        variants = [key for key, _ in _variants(rule)]
        if variants == [None]:
            if set(decision) != set(ACTORS):
                problems.append(f"{where}: its row must give a status for exactly {ACTORS}")
        elif set(decision) != set(variants):
            problems.append(f"{where}: its decision needs one row per variant {variants}, has {sorted(decision)}")
    endpoints = {r.endpoint for r in _routes(app)}
    for stale in sorted(set(EXPECTED) - endpoints):
        problems.append(f"EXPECTED has a row for {stale!r}, which is no longer a route: remove it")
    assert not problems, "route × role decisions are missing or stale:\n  " + "\n  ".join(problems)


@pytest.fixture()
def world(db, make_org, make_user, monkeypatch):
    from app.auth.services import create_api_token
    from app.notifications.services import post_notification

    # Nobody logs in with a password here (test_auth.py covers that): skip ~20 Argon2 hashes.
    monkeypatch.setattr("app.auth.services.hash_password", lambda password: "$argon2id$not-a-hash")
    world = World(users={"anonymous": None})
    for actor in ACTORS[1:]:
        role = "supplier_user" if actor == "org_admin" else actor
        user = make_user(role, username=f"m_{actor}", is_org_admin=(actor == "org_admin"))
        world.users[actor] = user
        world.colleagues[actor] = make_user(role, org=user.org, username=f"m_{actor}_colleague")
        world.tokens[actor] = create_api_token(user=user, name="matrix")[0]
        world.notes[actor] = post_notification(user_id=user.id, title="matrix")
    world.stranger = make_user("supplier_user", org=make_org("supplier", name="Stranger Pharma"), username="m_stranger")
    world.stranger_token = create_api_token(user=world.stranger, name="stranger")[0]
    world.stranger_note = post_notification(user_id=world.stranger.id, title="stranger")
    _matrix_projects(world)
    _matrix_catalog(world)
    from tests.web.bidding_builders import matrix_bidding

    matrix_bidding(world)
    from tests.web.demand_builders import matrix_demand

    matrix_demand(world)
    # A refused request rolls back the session it shares with the test: keep the setup.
    db.session.commit()
    return world


def _matrix_projects(world: World) -> None:
    """A draft project and one open for bidding, of the officer's authority, the institution taking part."""
    import datetime as dt

    from app.core.db import utcnow
    from app.projects import lifecycle, services

    officer, institution = world.users["procurement_officer"], world.users["institution_user"].org
    now = utcnow()
    for key in ("draft", "bidding"):
        project = services.create_project(
            actor=officer, code=f"MATRIX-{key.upper()}", name=f"matrix {key}", preset="nvbp-4",
            demand_due_at=now + dt.timedelta(days=1), bid_deadline=now + dt.timedelta(days=30),
            opening_at=now + dt.timedelta(days=31))
        lot = services.add_lot(project, actor=officer, lot_no=1, generic_name="阿托伐他汀", form_group="口服常释剂型",
                               representative_spec="20mg", ceiling_ucp="1.5")
        services.add_institutions(project, [institution.id], actor=officer)
        world.projects[key] = project
        world.lots["frozen" if key == "bidding" else key] = lot
    from tests.web.bidding_builders import give_opening_key

    give_opening_key(world.projects["bidding"], officer)  # bidding opens only with an opening key
    for state in ("demand_collection", "demand_frozen", "bidding_open"):
        lifecycle.transition_project(world.projects["bidding"], state, actor=officer, now=now)


def _matrix_catalog(world: World) -> None:
    """A catalog product, and a pending proposal of each supplier organisation (both actors', the stranger's)."""
    from app.catalog import services as catalog

    def values(spec: str) -> dict:
        return {"generic_name": "阿托伐他汀钙片", "dosage_form": "片剂", "spec": spec, "pack_qty": 7, "min_unit": "片",
                "approval_no": "国药准字H20000001"}

    world.products["active"] = catalog.create_product(values("10mg"), manufacturer=world.stranger.org)
    for actor in ("supplier_user", "org_admin"):
        user = world.users[actor]
        world.proposals[actor] = catalog.propose_product(user.org, values("20mg"), user)
    world.stranger_proposal = catalog.propose_product(world.stranger.org, values("40mg"), world.stranger)


class Actor:
    """One browser: a test client signed in as the actor, signed in again if a route ended its session.

    The session is opened as a successful login leaves it (Flask-Login's ``_user_id``): passwords
    and the login form are test_auth.py's business, access decisions this file's.
    """

    def __init__(self, app, name: str, user):
        self.client = app.test_client()
        self.name, self.user = name, user
        self.token = None
        self.ensure_session()

    def ensure_session(self) -> None:
        if self.user is None:
            if self.token is None:
                self.token = page_csrf_token(self.client, "/login")
            return
        with self.client.session_transaction() as sess:
            if "_user_id" in sess:
                return
            sess["_user_id"] = self.user.get_id()
            sess["_fresh"] = True
        self.token = page_csrf_token(self.client, "/")

    def request(self, method: str, url: str):
        self.ensure_session()
        if method == "GET":
            return self.client.get(url)
        return self.client.post(url, data={"csrf_token": self.token})


def test_route_role_matrix(app, world):
    actors = {name: Actor(app, name, world.users[name]) for name in ACTORS}
    problems = []
    checked = 0
    for rule in _routes(app):
        decision = EXPECTED.get(rule.endpoint)
        if decision is None or not set(rule.arguments) <= set(PARAMETERS):
            continue  # reported by test_every_route_has_a_decision
        method = _method(rule)
        for variant, resolvers in _variants(rule):
            expected_row = decision if variant is None else decision.get(variant, {})
            for name in ACTORS:
                actor = actors[name]
                values = {param: resolve(world, name) for param, resolve in resolvers.items()}
                url = rule.build(values, append_unknown=False)[1]
                response = actor.request(method, url)
                checked += 1
                expected = expected_row.get(name)
                label = f"{method} {url} [{rule.endpoint}{'/' + variant if variant else ''}] as {name}"
                if response.status_code != expected:
                    problems.append(f"{label}: got {response.status_code}, EXPECTED says {expected}")
                elif name == "anonymous" and expected == 302 and not response.location.startswith("/login"):
                    problems.append(f"{label}: anonymous is sent to {response.location}, not to the login page")
    assert checked > 0
    assert not problems, f"{len(problems)} of {checked} route × actor checks differ:\n  " + "\n  ".join(problems)
