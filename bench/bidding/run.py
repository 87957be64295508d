"""Bidding load run: 300 suppliers upload quotes in the last minute before the bid deadline.

Against gunicorn (``-w 4 -k gthread --threads 4``) and PostgreSQL, on loopback only:

1. creates a fresh database ``jicai_bench_bidding`` (template0, UTF8, C.UTF-8) and migrates it;
2. sets up through the services (not HTTP) a project with a few lots, 300 supplier organisations
   with a user, an approved qualification and one eligible product per lot, and the officer's and
   supervisor's accounts; all the suppliers share one password hash computed once with cheap
   argon2 parameters (hashing 300 passwords at the default cost would take a minute and is not
   what is measured);
3. starts gunicorn; each supplier logs in through ``/login`` (its own session, CSRF token read
   from the page first);
4. the key ceremony (``open_bidding``) opens bidding with the deadline ~70 s ahead; each
   supplier's template is built by the real ``quote_template`` and filled with openpyxl;
5. the load generator (threads, ``http.client``) fires the uploads spread over the last minute
   before the deadline (a fifth of the suppliers upload twice: the second must supersede the
   first), then a burst of uploads right after the deadline;
6. measures the bare ``/healthz`` endpoint on the same server, same concurrency, as a baseline;
7. verifies from the database: every accepted receipt is stored, each supplier has exactly one
   current (``submitted``) quote and it is its last accepted one, nothing else was stored, every
   late attempt stored nothing and has its ``bidding.quote_refused`` / ``BID_AFTER_DEADLINE`` audit
   event; then stops gunicorn and drops the database.

Prints ``name: value unit`` lines; exits 1 on any lost or duplicated quote, any accepted late
upload, or any server error.

Run: ``.venv/bin/python bench/bidding/run.py [--suppliers 300] [--lots 3]``
"""
from __future__ import annotations

import argparse
import datetime as dt
import http.client
import io
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DB_NAME = "jicai_bench_bidding"
ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DB_URL = f"postgresql://postgres@127.0.0.1:5432/{DB_NAME}"
PASSWORD = "bench-supplier-pass-42"
OFFICER_SECRET = "amber walrus tiptoes 4 moons"
WITNESS_SECRET = "quiet lanterns over 9 rivers"
SECRET_KEY = "bench-bidding-secret-key"
PROJECT_CODE = "BENCH-BID-1"
WINDOW_S = 60.0  # uploads are spread over the last minute before the deadline
TAIL_MARGIN_S = 4.0  # ... ending this long before it (an upload still in flight at the deadline is refused)
RECEIPT_RE = re.compile(r"QR\d{5}-[0-9A-F]{12}")
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# --- the database ------------------------------------------------------------------------------------

def admin_exec(sql: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def create_database() -> None:
    admin_exec(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    admin_exec(f"CREATE DATABASE {DB_NAME} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'")


def drop_database() -> None:
    admin_exec(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


# --- set-up through the services ---------------------------------------------------------------------

@dataclass
class World:
    project_id: int
    officer: str
    supervisor: str
    suppliers: list[tuple[str, int]]  # (username, org id)
    lots: list[int]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def setup(app, n_suppliers: int, n_lots: int) -> World:
    import app.auth.services as auth_services
    from argon2 import PasswordHasher

    from app.bidding.models import QualificationDocument
    from app.catalog.models import Product
    from app.core.tx import transaction
    from app.documents.models import StoredDocument
    from app.extensions import db
    from app.orgs.services import create_organisation
    from app.orgs.uscc import make_uscc
    from app.projects import lifecycle, services

    cheap = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    real_hash = auth_services.hash_password
    with app.app_context(), transaction():
        authority = create_organisation(kind="procurement_authority", name="国家组织药品联合采购办公室",
                                        uscc=make_uscc("91110000000000001"))
        officer = auth_services.create_user(actor=None, username="bench_officer", display_name="王经办", password=PASSWORD,
                                            role="procurement_officer", org=authority)
        supervisor = auth_services.create_user(actor=None, username="bench_supervisor", display_name="李监督",
                                               password=PASSWORD, role="supervisor", org=authority)
        now = utcnow()
        project = services.create_project(actor=officer, code=PROJECT_CODE, name="压力测试 最后一分钟报价", kind="alliance",
                                          preset="nvbp-4", demand_due_at=now + dt.timedelta(seconds=20),
                                          bid_deadline=now + dt.timedelta(days=1),
                                          opening_at=now + dt.timedelta(days=1, hours=1))
        lots = [services.add_lot(project, actor=officer, lot_no=n, generic_name=f"压测药{n}", form_group="口服常释剂型",
                                 representative_spec="20mg", ceiling_ucp="2.5") for n in range(1, n_lots + 1)]
        institution = create_organisation(kind="medical_institution", name="压测医院", uscc=make_uscc("12110000000000002"))
        services.add_institutions(project, [institution.id], actor=officer)
        lifecycle.transition_project(project, "demand_collection", actor=officer)
        auth_services.hash_password = lambda _password: cheap
        try:
            suppliers, by_lot = [], {lot.lot_no: [] for lot in lots}
            for k in range(n_suppliers):
                org = create_organisation(kind="supplier", name=f"压测制药有限公司{k:03d}",
                                          uscc=make_uscc(f"91320000{k:08d}Y"))
                user = auth_services.create_user(actor=None, username=f"supplier{k:03d}", display_name=f"报价员{k:03d}",
                                                 password=PASSWORD, role="supplier_user", org=org)
                suppliers.append((user.username, org.id))
                for lot in lots:
                    product = Product(generic_name=lot.generic_name, dosage_form="片剂", spec="20mg", pack_qty=7,
                                      min_unit="片", manufacturer_id=org.id,
                                      nhsa_code=f"XA10AAA{lot.lot_no:03d}A001010{org.id:06d}"[:23])
                    db.session.add(product)
                    by_lot[lot.lot_no].append(product)
                doc = StoredDocument(sha256=f"{k:064x}", filename="licence.pdf", size=1, content=b"x", owner_org_id=org.id)
                db.session.add(doc)
                db.session.flush()
                db.session.add(QualificationDocument(supplier_org_id=org.id, kind="licence", title="药品生产许可证",
                                                     document_id=doc.id, status="approved",
                                                     expires_on=(now + dt.timedelta(days=365)).date()))
            db.session.flush()
        finally:
            auth_services.hash_password = real_hash
        for lot in lots:
            services.set_eligible_products(lot, [p.id for p in by_lot[lot.lot_no]], actor=officer)
        lifecycle.transition_project(project, "demand_frozen", actor=officer)
        return World(project_id=project.id, officer=officer.username, supervisor=supervisor.username,
                     suppliers=suppliers, lots=[lot.lot_no for lot in lots])


def open_bidding(app, world: World, deadline: dt.datetime) -> None:
    """The timeline (deadline, opening) and the key ceremony, through the services."""
    from app.auth.models import User
    from app.bidding import services as bidding
    from app.core.tx import transaction
    from app.extensions import db
    from app.projects import services
    from app.projects.models import ProcurementProject
    from sqlalchemy import select

    with app.app_context(), transaction():
        project = db.session.get(ProcurementProject, world.project_id)
        officer = db.session.scalar(select(User).where(User.username == world.officer))
        services.update_project_timeline(project, actor=officer, bid_deadline=deadline,
                                         opening_at=deadline + dt.timedelta(minutes=5))
        bidding.open_bidding(project, actor=officer, actor_password=PASSWORD, officer_secret=OFFICER_SECRET,
                             witness_username=world.supervisor, witness_password=PASSWORD, witness_secret=WITNESS_SECRET)


def build_quotes(app, world: World, twice: set[int], late: list[int]) -> dict[int, list[bytes]]:
    """Each supplier's real template, filled: one file, a second (other prices) for ``twice``, a late one for ``late``."""
    import openpyxl

    from app.auth.models import User
    from app.bidding import services as bidding
    from app.extensions import db
    from app.projects.models import ProcurementProject
    from app.spreadsheets.specs import QUOTES
    from app.spreadsheets.template import template_columns
    from sqlalchemy import select

    columns = {tc.column.key: i + 1 for i, tc in enumerate(template_columns(QUOTES)) if tc.number is None}
    files: dict[int, list[bytes]] = {}
    with app.app_context():
        project = db.session.get(ProcurementProject, world.project_id)
        users = {u.username: u for u in db.session.scalars(select(User).where(User.role == "supplier_user"))}
        for k, (username, _org) in enumerate(world.suppliers):
            _name, template = bidding.quote_template(project, actor=users[username])
            wb = openpyxl.load_workbook(io.BytesIO(template))
            ws = wb[QUOTES.sheet_title]
            out = []
            for version in range(1 + (k in twice) + (k in late)):
                for r in range(3, ws.max_row + 1):
                    if ws.cell(r, columns["lot_no"]).value is None:
                        continue
                    # Distinct prices per supplier and version: every file has its own SHA-256.
                    ws.cell(r, columns["pack_price"]).value = f"{7 + k / 1000 + version / 100000:.5f}"
                    ws.cell(r, columns["declared_capacity"]).value = 100000 + k
                buf = io.BytesIO()
                wb.save(buf)
                out.append(buf.getvalue())
            files[k] = out
        db.session.remove()
    return files


# --- HTTP on loopback --------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Session:
    """A browser-like session: one cookie jar, a fresh loopback connection per request."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            hdrs = dict(headers or {})
            if self.cookies:
                hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            for name, value in resp.getheaders():
                if name.lower() == "set-cookie":
                    key, _, rest = value.partition("=")
                    self.cookies[key.strip()] = rest.split(";", 1)[0]
            return resp.status, data
        finally:
            conn.close()

    def login(self, username: str) -> None:
        status, page = self.request("GET", "/login")
        token = CSRF_RE.search(page.decode()).group(1)
        form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token}).encode()
        status, page = self.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise RuntimeError(f"login of {username} failed: {status} {page[:300]!r}")

    def fetch_csrf(self, path: str) -> None:
        status, page = self.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path}: {status}")
        self.csrf = CSRF_RE.search(page.decode()).group(1)

    def upload(self, path: str, data: bytes, filename: str):
        boundary = f"----jicai{random.getrandbits(64):016x}"
        body = b"".join([
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{self.csrf}\r\n'.encode(),
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\r\n\r\n".encode(),
            data, f"\r\n--{boundary}--\r\n".encode()])
        return self.request("POST", path, body, {"Content-Type": f"multipart/form-data; boundary={boundary}"})


@dataclass
class Attempt:
    supplier: int
    sha256: str
    scheduled: float
    late: bool
    status: int = 0
    latency: float = 0.0
    receipt: str | None = None
    refused_deadline: bool = False
    done_at: float = 0.0
    body: bytes = field(default=b"", repr=False)


def sleep_until(t: float) -> None:
    delay = t - time.time()
    if delay > 0:
        time.sleep(delay)


def do_upload(session: Session, path: str, attempt: Attempt, data: bytes) -> None:
    sleep_until(attempt.scheduled)
    t0 = time.perf_counter()
    try:
        attempt.status, attempt.body = session.upload(path, data, f"报价-{attempt.supplier:03d}.xlsx")
    except Exception as err:  # noqa: BLE001 - a transport error is recorded as status 0
        attempt.status, attempt.body = 0, repr(err).encode()
    attempt.latency = time.perf_counter() - t0
    attempt.done_at = time.time()
    text = attempt.body.decode("utf-8", "replace")
    if attempt.status == 200:
        found = RECEIPT_RE.search(text)
        attempt.receipt = found.group(0) if found else None
    attempt.refused_deadline = attempt.status == 422 and ("截止" in text or "deadline" in text)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def healthz_baseline(port: int, total: int, concurrency: int) -> tuple[float, list[float]]:
    session = Session(port)
    latencies: list[float] = []
    lock = threading.Lock()

    def one(_i):
        t0 = time.perf_counter()
        status, _ = session.request("GET", "/healthz")
        dt_ = time.perf_counter() - t0
        assert status == 200, status
        with lock:
            latencies.append(dt_)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    return total / (time.perf_counter() - t0), latencies


# --- verification from the database ------------------------------------------------------------------

def verify(app, world: World, attempts: list[Attempt]) -> dict:
    from sqlalchemy import select

    from app.audit.models import AuditEvent
    from app.bidding.models import QuoteSubmission
    from app.extensions import db

    org_of = {k: org for k, (_u, org) in enumerate(world.suppliers)}
    with app.app_context():
        rows = db.session.scalars(select(QuoteSubmission).where(QuoteSubmission.project_id == world.project_id)).all()
        refusals = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "bidding.quote_refused")).all()
        db.session.remove()
    by_receipt = {r.receipt_no: r for r in rows}
    stored_sha = {r.file_sha256 for r in rows}
    refused_sha = {e.summary.get("sha256") for e in refusals if e.summary.get("code") == "BID_AFTER_DEADLINE"}
    accepted = [a for a in attempts if a.receipt]
    lost, duplicated, problems = 0, 0, []
    for a in accepted:
        row = by_receipt.get(a.receipt)
        if row is None or row.supplier_org_id != org_of[a.supplier] or row.file_sha256 != a.sha256:
            lost += 1
            problems.append(f"receipt {a.receipt} of supplier {a.supplier} not stored as sent")
    for k, org in org_of.items():
        mine = [a for a in accepted if a.supplier == k]
        current = [r for r in rows if r.supplier_org_id == org and r.status == "submitted"]
        stored = [r for r in rows if r.supplier_org_id == org]
        if len(stored) > len(mine) or len(current) > 1:
            duplicated += max(len(stored) - len(mine), len(current) - 1, 1)
            problems.append(f"supplier {k}: {len(stored)} stored, {len(current)} current, {len(mine)} accepted")
        if mine:
            last = max(mine, key=lambda a: a.done_at)
            if len(current) != 1 or current[0].receipt_no != last.receipt:
                lost += 1
                problems.append(f"supplier {k}: current is not its last accepted receipt {last.receipt}")
            versions = sorted(r.version for r in stored)
            if versions != list(range(1, len(stored) + 1)) or len({r.receipt_no for r in stored}) != len(stored):
                duplicated += 1
                problems.append(f"supplier {k}: versions {versions}")
    late = [a for a in attempts if a.late]
    late_stored = [a for a in late if a.sha256 in stored_sha or a.receipt]
    late_unaudited = [a for a in late if a.sha256 not in refused_sha]
    # In-window attempts that were not accepted must have been refused for the deadline (and audited).
    missing = [a for a in attempts if not a.late and not a.receipt
               and not (a.refused_deadline and a.sha256 in refused_sha and a.sha256 not in stored_sha)]
    return {"lost": lost, "duplicated": duplicated, "problems": problems, "late_stored": late_stored,
            "late_unaudited": late_unaudited, "missing": missing, "rows": len(rows)}


# --- the run -----------------------------------------------------------------------------------------

def start_gunicorn(port: int, instance: Path, log: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=DB_URL, SECRET_KEY=SECRET_KEY, JICAI_INSTANCE_PATH=str(instance))
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen([gunicorn, "-w", "4", "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{port}",
                             "--timeout", "120", "app:create_app()"], cwd=ROOT, env=env,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            status, _ = Session(port).request("GET", "/healthz")
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def stop_gunicorn(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)  # the master stops its workers
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suppliers", type=int, default=300)
    ap.add_argument("--lots", type=int, default=3)
    ap.add_argument("--late", type=int, default=40, help="uploads fired right after the deadline")
    ap.add_argument("--twice", type=float, default=0.2, help="share of suppliers that upload twice")
    ap.add_argument("--seed", type=int, default=20261123)
    args = ap.parse_args(argv)
    rnd = random.Random(args.seed)
    started = time.time()

    from app import create_app
    from app.core.migrate import upgrade

    scratch = Path(tempfile.mkdtemp(prefix="jicai-bench-bidding-"))
    os.environ["JICAI_INSTANCE_PATH"] = str(scratch / "instance")
    proc = None
    app = None
    try:
        create_database()
        upgrade(DB_URL)
        app = create_app({"DATABASE_URL": DB_URL, "SECRET_KEY": SECRET_KEY})
        t0 = time.perf_counter()
        world = setup(app, args.suppliers, args.lots)
        print(f"bidding.setup: {time.perf_counter() - t0:.1f} s", flush=True)

        port = free_port()
        proc = start_gunicorn(port, scratch / "instance", scratch / "gunicorn.log")
        sessions = [Session(port) for _ in world.suppliers]
        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda pair: pair[0].login(pair[1][0]), zip(sessions, world.suppliers)))
        print(f"bidding.logins: {len(sessions)} sessions in {time.perf_counter() - t0:.1f} s", flush=True)

        n = len(world.suppliers)
        twice = set(rnd.sample(range(n), int(n * args.twice)))
        late = rnd.sample(range(n), min(args.late, n))
        deadline = utcnow() + dt.timedelta(seconds=WINDOW_S + 15 + 0.15 * n)  # templates are built in the gap
        open_bidding(app, world, deadline)
        t0 = time.perf_counter()
        files = build_quotes(app, world, twice, set(late))
        print(f"bidding.templates_filled: {n} templates in {time.perf_counter() - t0:.1f} s", flush=True)
        path = f"/bidding/projects/{world.project_id}/quote"
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda s: s.fetch_csrf(path), sessions))
        d = deadline.timestamp()
        window_start = d - WINDOW_S
        if time.time() > window_start:
            print(f"bidding.error: preparation overran the window by {time.time() - window_start:.1f} s", file=sys.stderr)
            return 1
        print(f"bidding.deadline_in: {d - time.time():.1f} s", flush=True)

        import hashlib

        def sha(b: bytes) -> str:
            return hashlib.sha256(b).hexdigest()

        plans: list[list[tuple[Attempt, bytes]]] = []
        last_in_time = d - TAIL_MARGIN_S
        for k in range(n):
            first_at = rnd.uniform(window_start, last_in_time - (15 if k in twice else 0))
            plan = [(Attempt(k, sha(files[k][0]), first_at, False), files[k][0])]
            if k in twice:
                plan.append((Attempt(k, sha(files[k][1]), rnd.uniform(first_at + 5, last_in_time), False), files[k][1]))
            plans.append(plan)
        for i, k in enumerate(late):  # the burst right after the deadline
            data = files[k][-1]
            plans.append([(Attempt(k, sha(data), d + 0.2 + 1.5 * i / max(1, len(late)), True), data)])

        def run_plan(plan):
            for attempt, data in plan:
                do_upload(sessions[attempt.supplier], path, attempt, data)

        # A supplier's own uploads run in order (in one thread); suppliers run concurrently.
        load_start = time.time()
        with ThreadPoolExecutor(len(plans)) as pool:
            list(pool.map(run_plan, plans))
        attempts = [a for plan in plans for a, _ in plan]
        in_time = [a for a in attempts if not a.late]
        late_attempts = [a for a in attempts if a.late]
        accepted = [a for a in in_time if a.receipt]
        span = max(a.done_at for a in in_time) - min(a.scheduled for a in in_time)
        lat = [a.latency * 1000 for a in in_time]
        server_errors = [a for a in attempts if a.status >= 500 or a.status == 0]
        peak = max(sum(1 for b in in_time if b.scheduled <= a.scheduled < b.done_at) for a in in_time)

        # The baseline: the bare /healthz on the same server, the same number of requests and concurrency.
        base_rate, base_lat = healthz_baseline(port, len(in_time), max(8, peak))
        base_lat = [x * 1000 for x in base_lat]
        # The run's throughput is what the minute offered (arrivals are spread over it); the capacity estimate is the
        # uploads served per second of busy time (total latency / peak concurrency), to compare with /healthz, which
        # is measured closed-loop at the same concurrency.
        busy = sum(a.latency for a in in_time) / max(1, peak)
        report = verify(app, world, attempts)

        print(f"bidding.suppliers: {n} suppliers")
        print(f"bidding.lots: {len(world.lots)} lots")
        print(f"bidding.upload_attempts_in_time: {len(in_time)} uploads")
        print(f"bidding.uploads_accepted: {len(accepted)} uploads")
        print(f"bidding.reuploads_superseding: {len(twice)} suppliers")
        print(f"bidding.refused_in_flight_at_deadline: {len(in_time) - len(accepted)} uploads")
        print(f"bidding.window: {span:.1f} s")
        print(f"bidding.offered_rate: {len(in_time) / span:.1f} uploads/s")
        print(f"bidding.peak_concurrency: {peak} uploads")
        print(f"bidding.throughput: {len(accepted) / span:.1f} uploads/s")
        print(f"bidding.capacity_estimate: {len(in_time) / busy:.1f} uploads/s")
        print(f"bidding.latency_p50: {percentile(lat, 0.50):.1f} ms")
        print(f"bidding.latency_p99: {percentile(lat, 0.99):.1f} ms")
        print(f"bidding.latency_max: {max(lat):.1f} ms")
        print(f"healthz.throughput: {base_rate:.1f} requests/s")
        print(f"healthz.latency_p50: {percentile(base_lat, 0.50):.1f} ms")
        print(f"healthz.latency_p99: {percentile(base_lat, 0.99):.1f} ms")
        print(f"ratio_capacity_healthz_over_upload: {base_rate / (len(in_time) / busy):.1f} x")
        print(f"ratio_latency_p50_upload_over_healthz: {percentile(lat, 0.5) / percentile(base_lat, 0.5):.1f} x")
        print(f"bidding.stored_versions: {report['rows']} rows")
        print(f"bidding.lost: {report['lost']}")
        print(f"bidding.duplicated: {report['duplicated']}")
        late_refused = sum(1 for a in late_attempts if a.refused_deadline and a not in report["late_stored"])
        print(f"bidding.late_refused: {late_refused} of {len(late_attempts)}")
        print(f"bidding.late_audited: {len(late_attempts) - len(report['late_unaudited'])} of {len(late_attempts)}")
        print(f"bidding.server_errors: {len(server_errors)}")
        print(f"bidding.load_wall: {time.time() - load_start:.1f} s", flush=True)
        ok = (report["lost"] == 0 and report["duplicated"] == 0 and not report["late_stored"]
              and not report["late_unaudited"] and late_refused == len(late_attempts) and not report["missing"]
              and not server_errors)
        for line in report["problems"][:10]:
            print(f"bidding.problem: {line}", file=sys.stderr)
        for a in (report["missing"] + server_errors)[:5]:
            print(f"bidding.unexplained: supplier {a.supplier} status {a.status} {a.body[:300]!r}", file=sys.stderr)
        return 0 if ok else 1
    finally:
        stop_gunicorn(proc)
        if app is not None:
            app.extensions["jicai.db"]["engine"].dispose()
        try:
            drop_database()
        except Exception as err:  # noqa: BLE001
            print(f"bidding.warning: could not drop {DB_NAME}: {err}", file=sys.stderr)
        shutil.rmtree(scratch, ignore_errors=True)
        print(f"bidding.total_wall: {time.time() - started:.1f} s", flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
