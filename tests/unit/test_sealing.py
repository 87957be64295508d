"""Sealed quotes (app.bidding.sealing): the opening key under two secrets, seal/unseal, payloads."""
from __future__ import annotations

import ast
import base64
import copy
import datetime as dt
import hashlib
import json
import pickle
import re
import time
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from app.bidding import sealing
from app.bidding.sealing import (
    DEFAULT_KDF_PARAMS,
    OpeningKeyMaterial,
    OpeningSecretsRejected,
    SealBroken,
    SealedBlob,
    UnlockedKey,
    WeakSecret,
    check_secret_strength,
    create_opening_key,
    deserialise_payload,
    public_key_fingerprint,
    quote_aad,
    seal,
    serialise_payload,
    unlock_private_key,
    unseal,
)
from app.core.errors import DomainError

ROOT = Path(__file__).resolve().parents[2]
CHEAP = {"memory_cost": 8, "time_cost": 1, "parallelism": 1}
OFFICER = "blue-harbour-lantern-19"
WITNESS = "quiet maple engine 开标见证"
OTHER = "seven-purple-otters-jump"

FILE = (
    "供应商,品种,规格,包装,报价\n"
    "汕头明治,地喹氯铵含片,0.25mg,24片/盒,23.333333\n"
    "Example Pharma,atorvastatin 20 mg,20mg,7片/盒,6.600000\n"
).encode("utf-8")
FILE_SHA = hashlib.sha256(FILE).hexdigest()
LINES = [
    {
        "lot": "L-001",
        "product_id": 17,
        "pack_price": Decimal("23.333333"),
        "pack_qty": 24,
        "unit_price": Decimal("0.972222"),
        "declared_capacity": Decimal("1200000"),
        "tiers": [{"min_quantity": 1000, "pack_price": Decimal("22.100000")}],
        "regions": ["440000", "350000"],
        "bundle_discount": None,
        "valid_until": dt.date(2026, 12, 31),
        "over_ceiling": False,
    },
    {
        "lot": "L-002",
        "product_id": 18,
        "pack_price": Decimal("6.600000"),
        "pack_qty": 7,
        "unit_price": Decimal("0.942857"),
        "declared_capacity": Decimal("1E+6"),
        "tiers": [],
        "regions": [],
        "bundle_discount": Decimal("0.050000"),
        "valid_until": None,
        "over_ceiling": True,
    },
]


def _aad(supplier: int = 7, *, sha: str = FILE_SHA, project: int = 3, round_no: int = 1) -> bytes:
    return quote_aad(project_id=project, round_no=round_no, supplier_org_id=supplier, file_sha256=sha)


@pytest.fixture(scope="module")
def material() -> OpeningKeyMaterial:
    return create_opening_key(OFFICER, WITNESS, kdf_params=CHEAP)


@pytest.fixture(scope="module")
def unlocked(material: OpeningKeyMaterial) -> UnlockedKey:
    return unlock_private_key(material, OFFICER, WITNESS)


@pytest.fixture(scope="module")
def sealed(material: OpeningKeyMaterial) -> SealedBlob:
    return seal(serialise_payload(FILE, LINES), material.public_key_pem, aad=_aad())


def _private_raw(unlocked: UnlockedKey) -> bytes:
    return unlocked._private_key.private_bytes_raw()


def _encodings(raw: bytes) -> list[bytes]:
    """The key bytes and their usual text encodings, to search stored fields for."""
    return [
        raw,
        raw.hex().encode(),
        raw.hex().upper().encode(),
        base64.b64encode(raw),
        base64.b64encode(raw).rstrip(b"="),
        base64.urlsafe_b64encode(raw).rstrip(b"="),
    ]


# --- round trip -----------------------------------------------------------------------------------


def test_round_trip_keeps_file_bytes_and_exact_decimals(material, unlocked, sealed):
    plain = unseal(sealed, unlocked, aad=_aad())
    file_bytes, lines = deserialise_payload(plain, expected_sha256=FILE_SHA)
    assert file_bytes == FILE
    assert lines == LINES
    first, second = lines
    assert type(first["pack_price"]) is Decimal and str(first["pack_price"]) == "23.333333"
    assert str(second["pack_price"]) == "6.600000"  # trailing zeros kept
    assert str(second["declared_capacity"]) == "1E+6"  # exponent kept
    assert str(first["tiers"][0]["pack_price"]) == "22.100000"
    assert first["valid_until"] == dt.date(2026, 12, 31)
    assert list(first) == list(LINES[0])  # key order kept


def test_payload_container_round_trip_and_versioned_header():
    when = dt.datetime(2020, 1, 17, 4, 0, tzinfo=dt.timezone.utc)
    data = serialise_payload(b"", [{"at": when, "p": Decimal("-0.000001"), "n": "价"}])
    assert data[:4] == b"JCQ\x01"
    assert deserialise_payload(data) == (b"", [{"at": when, "p": Decimal("-0.000001"), "n": "价"}])
    assert deserialise_payload(serialise_payload(b"x", [])) == (b"x", [])


def test_payload_refuses_floats_and_non_finite_decimals():
    with pytest.raises(TypeError, match="Decimal"):
        serialise_payload(b"", [{"pack_price": 23.333333}])
    with pytest.raises(ValueError):
        serialise_payload(b"", [{"pack_price": Decimal("NaN")}])
    with pytest.raises(ValueError):
        serialise_payload(b"", [{"$decimal": "1"}])  # reserved tag keys
    with pytest.raises(TypeError):
        serialise_payload(b"", [["not", "a", "dict"]])
    # A float smuggled into the JSON is refused on reading too.
    raw = b'[{"p":23.5}]'
    data = b"JCQ\x01" + len(raw).to_bytes(4, "big") + raw
    with pytest.raises(SealBroken) as exc:
        deserialise_payload(data)
    assert exc.value.code == "SEAL_PAYLOAD_INVALID"


@pytest.mark.parametrize(
    "data",
    [b"", b"JCQ", b"XYZ\x01\x00\x00\x00\x02[]", b"JCQ\x02\x00\x00\x00\x02[]", b"JCQ\x01\x00\x00\x00\x09[]"],
)
def test_damaged_container_is_refused(data):
    with pytest.raises(SealBroken) as exc:
        deserialise_payload(data)
    assert exc.value.code == "SEAL_PAYLOAD_INVALID"


def test_file_hash_is_checked_against_the_row(unlocked, sealed):
    plain = unseal(sealed, unlocked, aad=_aad())
    assert deserialise_payload(plain, expected_sha256=FILE_SHA.upper())[0] == FILE
    with pytest.raises(SealBroken) as exc:
        deserialise_payload(plain, expected_sha256="0" * 64)
    assert exc.value.code == "SEAL_HASH_MISMATCH"


def test_unseal_accepts_a_quote_submission_row_and_unlock_a_row_or_mapping(material, sealed):
    row = SimpleNamespace(sealed_payload=sealed.ciphertext, sealed_key=sealed.wrapped_key)
    key_row = SimpleNamespace(
        public_key_pem=material.public_key_pem,
        encrypted_private_key=material.encrypted_private_key,
        kdf=json.loads(json.dumps(material.kdf)),  # as read back from a JSON column
    )
    key = unlock_private_key(key_row, OFFICER, WITNESS)
    assert deserialise_payload(unseal(row, key, aad=_aad()))[0] == FILE
    mapping = {
        "public_key_pem": material.public_key_pem,
        "encrypted_private_key": memoryview(material.encrypted_private_key),
        "kdf": dict(material.kdf),
    }
    assert unlock_private_key(mapping, OFFICER, WITNESS).fingerprint == material.fingerprint


def test_secrets_are_unicode_normalised(material):
    decomposed = create_opening_key(OFFICER, "cafe\u0301-noir-lumière-42", kdf_params=CHEAP)
    unlock_private_key(decomposed, OFFICER, "café-noir-lumi\u00e8re-42")  # NFC form


# --- two secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("officer", "witness"),
    [
        (OFFICER, OTHER),  # officer's secret alone
        (OTHER, WITNESS),  # witness's secret alone
        (OFFICER, OFFICER),
        (WITNESS, WITNESS),
        (OFFICER, ""),
        ("", WITNESS),
        (WITNESS, OFFICER),  # swapped roles
        (OFFICER + " ", WITNESS),
        (OFFICER, WITNESS + "x" * 2000),  # too long: refused before the KDF
    ],
)
def test_one_secret_alone_or_swapped_secrets_cannot_unlock(material, officer, witness):
    with pytest.raises(OpeningSecretsRejected) as exc:
        unlock_private_key(material, officer, witness)
    err = exc.value
    assert isinstance(err, DomainError)
    assert err.code == "OPENING_SECRETS_REJECTED"
    assert err.params == {}
    # The same message whichever secret was wrong, and no secret in it.
    assert err.message == OpeningSecretsRejected().message
    for text in (str(err), repr(err), err.message):
        assert OFFICER not in text and WITNESS not in text and OTHER not in text
    # No chained InvalidTag (or anything else) to leak through a traceback.
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


def test_private_key_bytes_never_stored(material, unlocked):
    raw = _private_raw(unlocked)
    assert len(raw) == 32
    pem_body = base64.b64decode("".join(material.public_key_pem.strip().splitlines()[1:-1]))
    kdf_json = json.dumps(material.kdf).encode()
    haystacks = [material.encrypted_private_key, material.public_key_pem.encode(), pem_body, kdf_json]
    for needle in _encodings(raw):
        for haystack in haystacks:
            assert needle not in haystack
    # Nor any 8-byte window of it (the ciphertext is not the key plus a header).
    for i in range(len(raw) - 7):
        assert raw[i : i + 8] not in material.encrypted_private_key


def test_two_keys_from_the_same_secrets_differ(material):
    again = create_opening_key(OFFICER, WITNESS, kdf_params=CHEAP)
    assert again.public_key_pem != material.public_key_pem
    assert again.encrypted_private_key != material.encrypted_private_key
    assert again.kdf["officer_salt"] != material.kdf["officer_salt"]
    assert again.kdf["witness_salt"] != material.kdf["witness_salt"]


def test_kdf_dict_carries_no_secret(material):
    kdf = material.kdf
    assert json.loads(json.dumps(kdf)) == kdf  # plain JSON for the column
    assert kdf["version"] == 1 and kdf["kdf"] == "argon2id" and kdf["combine"] == "HKDF-SHA256"
    assert {k: kdf[k] for k in CHEAP} == CHEAP
    assert len(base64.b64decode(kdf["officer_salt"])) == 16
    assert kdf["officer_salt"] != kdf["witness_salt"]
    text = json.dumps(kdf, ensure_ascii=False)
    for secret in (OFFICER, WITNESS):
        raw = secret.encode()
        for needle in (secret, raw.hex(), base64.b64encode(raw).decode(), secret.split()[0]):
            assert needle not in text
    assert set(kdf) == {
        "version", "kdf", "argon2_version", "memory_cost", "time_cost", "parallelism", "hash_len",
        "officer_salt", "witness_salt", "combine", "private_key_wrap", "key_type",
        "quote_key_wrap", "payload_cipher",
    }


@pytest.mark.parametrize(
    "change",
    [
        {"memory_cost": 16},  # a cheaper cost derives another key
        {"time_cost": 2},
        {"officer_salt": base64.b64encode(b"\x00" * 16).decode()},
    ],
)
def test_changed_kdf_record_does_not_unlock(material, change):
    tampered = {**material.kdf, **change}
    fields = {**material.__dict__, "kdf": tampered}
    with pytest.raises(OpeningSecretsRejected):
        unlock_private_key(fields, OFFICER, WITNESS)


@pytest.mark.parametrize(
    "change",
    [
        {"version": 2},
        {"kdf": "scrypt"},
        {"memory_cost": 1 << 30},  # a tampered row must not make the server allocate 1 TiB
        {"memory_cost": "8"},
        {"officer_salt": "not base64!"},
        {"witness_salt": base64.b64encode(b"short").decode()},
        {"version": True},
    ],
)
def test_damaged_kdf_record_is_refused_before_any_work(material, change):
    fields = {**material.__dict__, "kdf": {**material.kdf, **change}}
    with pytest.raises(SealBroken) as exc:
        unlock_private_key(fields, OFFICER, WITNESS)
    assert exc.value.code == "OPENING_KEY_INVALID"


def test_swapped_salts_do_not_unlock(material):
    kdf = {
        **material.kdf,
        "officer_salt": material.kdf["witness_salt"],
        "witness_salt": material.kdf["officer_salt"],
    }
    with pytest.raises(OpeningSecretsRejected):
        unlock_private_key({**material.__dict__, "kdf": kdf}, WITNESS, OFFICER)


def test_every_byte_of_the_encrypted_private_key_is_protected(material):
    blob = material.encrypted_private_key
    for i in range(len(blob)):
        tampered = bytearray(blob)
        tampered[i] ^= 0x01
        fields = {**material.__dict__, "encrypted_private_key": bytes(tampered)}
        with pytest.raises((OpeningSecretsRejected, SealBroken)):
            unlock_private_key(fields, OFFICER, WITNESS)
    for bad in (blob[:-1], blob + b"\x00", b""):
        with pytest.raises(SealBroken):
            unlock_private_key({**material.__dict__, "encrypted_private_key": bad}, OFFICER, WITNESS)


def test_encrypted_private_key_is_bound_to_its_public_key(material):
    other = create_opening_key(OFFICER, WITNESS, kdf_params=CHEAP)
    mixed = {**material.__dict__, "public_key_pem": other.public_key_pem}
    with pytest.raises(OpeningSecretsRejected):
        unlock_private_key(mixed, OFFICER, WITNESS)


# --- seal / unseal --------------------------------------------------------------------------------


def test_wrong_aad_fails(unlocked, sealed):
    for aad in (
        _aad(project=4),
        _aad(round_no=2),
        _aad(sha="a" * 64),
        _aad() + b" ",
        quote_aad(project_id=3, round_no=1, supplier_org_id=7, file_sha256=FILE_SHA, version=2),
    ):
        with pytest.raises(SealBroken) as exc:
            unseal(sealed, unlocked, aad=aad)
        assert exc.value.code == "SEAL_BROKEN"


def test_blob_copied_to_another_supplier_fails(material, unlocked, sealed):
    # Supplier 8 uploaded a quote with the same file: its row's aad differs by the supplier only.
    theirs = seal(serialise_payload(FILE, LINES), material.public_key_pem, aad=_aad(8))
    assert deserialise_payload(unseal(theirs, unlocked, aad=_aad(8)))[0] == FILE
    with pytest.raises(SealBroken):
        unseal(sealed, unlocked, aad=_aad(8))  # supplier 7's blob copied into supplier 8's row
    # Nor can the payload or the wrapped key alone be moved between rows.
    for mixed in (
        SealedBlob(sealed.ciphertext, theirs.wrapped_key),
        SealedBlob(theirs.ciphertext, sealed.wrapped_key),
    ):
        for aad in (_aad(7), _aad(8)):
            with pytest.raises(SealBroken):
                unseal(mixed, unlocked, aad=aad)


def test_tampering_any_byte_fails(material, unlocked):
    small = serialise_payload(b"23.333333", [{"p": Decimal("23.333333")}])
    blob = seal(small, material.public_key_pem, aad=_aad())
    for part in ("ciphertext", "wrapped_key"):
        data = getattr(blob, part)
        for i in range(len(data)):
            tampered = bytearray(data)
            tampered[i] ^= 0x80
            with pytest.raises(SealBroken):
                unseal(SealedBlob(**{**blob.__dict__, part: bytes(tampered)}), unlocked, aad=_aad())
        for bad in (data[:-1], data + b"\x00", b""):
            with pytest.raises(SealBroken):
                unseal(SealedBlob(**{**blob.__dict__, part: bad}), unlocked, aad=_aad())


def test_another_rounds_key_cannot_unseal(sealed):
    other = create_opening_key(OFFICER, WITNESS, kdf_params=CHEAP)
    with pytest.raises(SealBroken):
        unseal(sealed, unlock_private_key(other, OFFICER, WITNESS), aad=_aad())


def test_two_seals_of_the_same_payload_differ(material):
    payload = serialise_payload(FILE, LINES)
    a = seal(payload, material.public_key_pem, aad=_aad())
    b = seal(payload, material.public_key_pem, aad=_aad())
    assert a.ciphertext != b.ciphertext and a.wrapped_key != b.wrapped_key
    assert a.ciphertext[1:13] != b.ciphertext[1:13]  # nonces
    assert a.wrapped_key[1:33] != b.wrapped_key[1:33]  # HPKE ephemeral keys
    assert len(a.wrapped_key) == 1 + 32 + 32 + 16


def test_sealed_bytes_hold_no_trace_of_prices_or_file(material, sealed):
    stored = sealed.ciphertext + sealed.wrapped_key
    for needle in (b"23.333333", b"6.600000", b"0.942857", "汕头明治".encode(), b"JCQ", b"pack_price"):
        assert needle not in stored
    for i in range(0, len(FILE) - 16, 8):
        assert FILE[i : i + 16] not in stored
    # Also for a large file made of a repeated price.
    big = b"23.333333," * 100_000
    blob = seal(serialise_payload(big, LINES), material.public_key_pem, aad=_aad())
    assert b"23.333333" not in blob.ciphertext and b"23.33" not in blob.ciphertext[:4096]


def test_seal_refuses_a_wrong_public_key_and_empty_aad(material):
    with pytest.raises(TypeError):
        seal(b"x", material.public_key_pem, aad=b"")
    with pytest.raises(SealBroken) as exc:
        seal(b"x", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", aad=_aad())
    assert exc.value.code == "OPENING_KEY_INVALID"


def test_quote_aad_is_canonical():
    assert _aad() == quote_aad(
        file_sha256=FILE_SHA.upper(), supplier_org_id=7, round_no=1, project_id=3
    )
    assert _aad(7) != _aad(8)
    with pytest.raises(ValueError):
        quote_aad(project_id=1, round_no=1, supplier_org_id=1, file_sha256="abc")
    with pytest.raises(TypeError):
        quote_aad(project_id="1", round_no=1, supplier_org_id=1, file_sha256=FILE_SHA)


def test_sealing_a_megabyte_is_fast(material):
    payload = serialise_payload(bytes(range(256)) * 4096, LINES * 100)
    best = min(_timed(lambda: seal(payload, material.public_key_pem, aad=_aad())) for _ in range(3))
    assert best < 0.05, best


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


# --- weak secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("secret", "code"),
    [
        ("short-1!", "SECRET_TOO_SHORT"),
        ("", "SECRET_TOO_SHORT"),
        ("x" * 1025 + "Yz9", "SECRET_TOO_LONG"),
        ("aaaaaaaaaaaa", "SECRET_TOO_WEAK"),
        ("123456789012", "SECRET_TOO_WEAK"),
        ("201901171200", "SECRET_TOO_WEAK"),  # digits only (dates, phone numbers)
        ("abcdefghijkl", "SECRET_TOO_WEAK"),
        ("lkjihgfedcba", "SECRET_TOO_WEAK"),
        ("qwertyuiopas", "SECRET_TOO_WEAK"),
        ("1qaz2wsx3edc", "SECRET_TOO_WEAK"),
        ("abcabcabcabc", "SECRET_TOO_WEAK"),
        ("hunter2hunter2", "SECRET_TOO_WEAK"),
        ("Password123!", "SECRET_TOO_WEAK"),
        ("P@ssw0rd2024", "SECRET_TOO_WEAK"),
        ("p@$$w0rd!!!!", "SECRET_TOO_WEAK"),
        ("qwerty123456", "SECRET_TOO_WEAK"),
        ("admin2024admin", "SECRET_TOO_WEAK"),
        ("jicai2025!!!", "SECRET_TOO_WEAK"),
        ("12345!@#$%^&", "SECRET_TOO_WEAK"),  # no letter at all
    ],
)
def test_weak_secrets_are_refused(secret, code):
    with pytest.raises(WeakSecret) as exc:
        check_secret_strength(secret, role="officer")
    err = exc.value
    assert isinstance(err, DomainError)
    assert err.code == code and err.role == "officer"
    if secret:
        assert secret not in err.message and secret not in repr(err)
    with pytest.raises(WeakSecret):
        create_opening_key(secret, WITNESS, kdf_params=CHEAP)
    with pytest.raises(WeakSecret) as exc:
        create_opening_key(OFFICER, secret, kdf_params=CHEAP)
    assert exc.value.role == "witness"


@pytest.mark.parametrize(
    "secret",
    [OFFICER, WITNESS, "correct horse battery staple", "开标密码是春江花月夜二〇二四", "Tr0ub4dor&3xyz"],
)
def test_reasonable_secrets_pass(secret):
    check_secret_strength(secret)


def test_both_persons_need_different_secrets():
    with pytest.raises(WeakSecret) as exc:
        create_opening_key(OFFICER, OFFICER, kdf_params=CHEAP)
    assert exc.value.code == "SECRETS_IDENTICAL"


def test_kdf_params_are_validated():
    for bad in ({"memory_cost": 4}, {"time_cost": 0}, {"parallelism": 2, "memory_cost": 8}, {"salt": 1}):
        with pytest.raises(ValueError):
            create_opening_key(OFFICER, WITNESS, kdf_params=bad)


# --- no key in reprs ------------------------------------------------------------------------------


def test_reprs_hide_keys(material, unlocked, sealed):
    raw = _private_raw(unlocked)
    texts = [repr(unlocked), str(unlocked), f"{unlocked}", repr(material), repr(sealed)]
    for text in texts:
        for needle in _encodings(raw):
            assert needle.decode("latin-1") not in text
        assert OFFICER not in text and WITNESS not in text
    assert repr(unlocked) == f"<UnlockedKey fingerprint={material.fingerprint}>"
    assert material.encrypted_private_key.hex() not in repr(material)
    assert material.encrypted_private_key.hex()[:16] not in repr(material)
    assert "bytes>" in repr(sealed) and sealed.ciphertext[1:9].hex() not in repr(sealed)
    assert not hasattr(unlocked, "__dict__")  # nothing else can be hung on it
    with pytest.raises(TypeError):
        pickle.dumps(unlocked)
    with pytest.raises(TypeError):
        copy.deepcopy(unlocked)


def test_fingerprint_is_stable(material, unlocked):
    fp = public_key_fingerprint(material.public_key_pem)
    assert fp == material.fingerprint == unlocked.fingerprint
    assert re.fullmatch(r"[0-9a-f]{4}(:[0-9a-f]{4}){7}", fp)


# --- production parameters ------------------------------------------------------------------------


def test_default_kdf_parameters_round_trip():
    started = time.perf_counter()
    material = create_opening_key(OFFICER, WITNESS)
    created = time.perf_counter()
    key = unlock_private_key(material, OFFICER, WITNESS)
    unlocked_at = time.perf_counter()
    assert {k: material.kdf[k] for k in DEFAULT_KDF_PARAMS} == dict(DEFAULT_KDF_PARAMS)
    assert DEFAULT_KDF_PARAMS["memory_cost"] >= 46 * 1024  # OWASP floor for one Argon2id pass
    blob = seal(b"payload", material.public_key_pem, aad=_aad())
    assert unseal(blob, key, aad=_aad()) == b"payload"
    # Memory-hard, not instant; generous upper bound for a loaded CI machine.
    assert 0.02 < unlocked_at - created < 10
    assert created - started < 10


# --- translations ---------------------------------------------------------------------------------


def test_po_fragment_translates_every_message():
    extracted = {
        message if isinstance(message, str) else message[0]
        for _lineno, message, _comments, _context in extract_from_file(
            "python", ROOT / "app/bidding/sealing.py", keywords={"N_": None}
        )
    }
    assert len(extracted) >= 8, extracted
    with open(ROOT / "app/bidding/messages_zh_CN.po", "rb") as fh:
        catalog = read_po(fh, locale="zh_CN")
    translated = {m.id: m.string for m in catalog if m.id}
    assert extracted <= set(translated), extracted - set(translated)
    for msgid, msgstr in translated.items():
        assert msgstr and not catalog[msgid].fuzzy, msgid
        assert sorted(re.findall(r"%\(\w+\)s", msgid)) == sorted(re.findall(r"%\(\w+\)s", msgstr))


def test_module_is_pure():
    tree = ast.parse((ROOT / "app/bidding/sealing.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"flask", "sqlalchemy", "flask_babel"}
    assert {name for name in imported if name.startswith("app")} == {"app.core.errors"}
    assert set(sealing.__all__) <= set(dir(sealing))
