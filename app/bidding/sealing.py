"""Sealed quotes (密封报价): the opening key and the encryption of quote payloads.

Pure functions: no Flask, no database, no server-side secret. What the server stores (the public
key, the *encrypted* private key, the KDF salts and parameters, the sealed payloads) is not enough
to read a price: the private key can only be recovered with two secrets entered together at the
opening, the procurement officer's and the witness's (the supervisor's, or a second officer's when
``opening_requires_supervisor = false``, DOMAIN.md L2). Neither ``SECRET_KEY`` nor any master key
is involved, so an administrator, a database administrator or a stolen backup learns nothing.

Construction (``kdf["version"] == 1``)
-------------------------------------
*Sealing a quote* is hybrid public-key encryption:

1. a fresh random 256-bit data key per upload encrypts the payload with **AES-256-GCM** (96-bit
   random nonce), with the caller's ``aad`` (project, round, supplier, file SHA-256: see
   :func:`quote_aad`) as associated data, so a ciphertext moved to another row does not open;
2. the data key is wrapped to the opening public key with **HPKE** (RFC 9180, base mode,
   ``DHKEM(X25519, HKDF-SHA256)`` / ``HKDF-SHA256`` / ``AES-256-GCM``) with ``info`` bound to the
   same ``aad``.

Why HPKE over X25519 rather than RSA-OAEP or a home-made ECIES: HPKE is an IETF standard with a
security proof (IND-CCA2), reviewed test vectors and an implementation in ``cryptography`` (≥ 47);
every wrap uses a fresh ephemeral key, X25519 has no padding or parameter choices to get wrong
(unlike RSA, where OAEP vs PKCS#1 v1.5 and key size are pitfalls), keys are 32 bytes and sealing
costs microseconds. The quote prices become public at the opening anyway, so post-quantum
"harvest now, decrypt later" is not a threat model worth a hybrid ML-KEM suite here; switching
suites later only needs a new ``version``.

*Protecting the private key* (two-person rule):

1. each secret (NFC-normalised UTF-8) goes through **Argon2id** (RFC 9106, argon2-cffi's
   low-level API) with its own random 128-bit salt: ``k_officer``, ``k_witness``;
2. the key-encryption key is ``HKDF-SHA256(k_officer ‖ k_witness, salt = salt_officer ‖
   salt_witness, info = label ‖ raw public key)``: both inputs are needed, their order matters
   and the KEK is bound to this key pair;
3. the raw 32-byte X25519 private key is encrypted with **AES-256-GCM** under the KEK, with the
   raw public key and the KDF parameters as associated data.

Argon2id rather than Scrypt: it is the RFC 9106 / OWASP first choice, argon2-cffi is already a
dependency (passwords, ``app.auth.security``) and does not depend on the OpenSSL build. The
defaults (64 MiB, 1 pass, 1 lane per secret: above OWASP's 46 MiB / 1 pass) make an unlock (two
derivations) take ≈ 0.26–0.3 s on the reference machine (2 vCPU), ≈ 0.45 s when it is loaded.
The parameters are stored with each key, so raising them later (``kdf_params``) keeps old keys
readable; tests pass cheap ones.

Byte formats start with a version byte so later versions can be read side by side. Errors never
carry a secret or key material; :class:`UnlockedKey` never shows its key. Python cannot reliably
wipe memory: derived keys are only held in locals and dropped as soon as possible.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import struct
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from argon2.low_level import ARGON2_VERSION, Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hpke import AEAD, KDF, KEM, Suite
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from app.core.errors import N_, DomainError

__all__ = [
    "DEFAULT_KDF_PARAMS",
    "MAX_SECRET_LENGTH",
    "MIN_SECRET_LENGTH",
    "OpeningKeyMaterial",
    "OpeningSecretsRejected",
    "SealBroken",
    "SealedBlob",
    "UnlockedKey",
    "WeakSecret",
    "check_secret_strength",
    "create_opening_key",
    "deserialise_payload",
    "public_key_fingerprint",
    "quote_aad",
    "seal",
    "serialise_payload",
    "unlock_private_key",
    "unseal",
]

# --- parameters ----------------------------------------------------------------------------------

VERSION = 1
MIN_SECRET_LENGTH = 12
MAX_SECRET_LENGTH = 1024  # bounds the work an unlock attempt can cause; far above any real secret
SALT_BYTES = 16
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

#: Argon2id cost per secret (memory in KiB). Tuned for ≈ 0.2–0.5 s per unlock (two derivations).
DEFAULT_KDF_PARAMS: Mapping[str, int] = {"memory_cost": 65536, "time_cost": 1, "parallelism": 1}
# Sanity bounds when reading a stored record (a tampered row must not make the server allocate
# gigabytes) and when tests pass cheap values (Argon2 itself needs memory ≥ 8 KiB per lane).
_KDF_BOUNDS = {"memory_cost": (8, 1 << 20), "time_cost": (1, 16), "parallelism": (1, 8)}

_HPKE = Suite(KEM.X25519, KDF.HKDF_SHA256, AEAD.AES_256_GCM)
_HPKE_NAME = "HPKE-base/DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM"
_KDF_NAME = "argon2id"
_COMBINE_NAME = "HKDF-SHA256"
_WRAP_NAME = "AES-256-GCM"

_LABEL_KEK = b"jicai/opening-kek/v1\x00"
_LABEL_PRIVATE = b"jicai/opening-private-key/v1\x00"
_LABEL_PAYLOAD = b"jicai/quote-payload/v1\x00"
_LABEL_WRAP = b"jicai/quote-key/v1\x00"
_LABEL_AAD = b"jicai/quote-aad/v1\x00"

_V = bytes([VERSION])
_PAYLOAD_MAGIC = b"JCQ"
_HEADER = struct.Struct(">3sBI")  # magic, container version, length of the lines JSON
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


# --- errors ---------------------------------------------------------------------------------------


class WeakSecret(DomainError):
    """An opening secret too short, too long or too easy to guess; ``role`` names the field."""

    default_code = "WEAK_SECRET"

    def __init__(
        self,
        code: str | None = None,
        message: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        role: str | None = None,
    ) -> None:
        self.role = role
        super().__init__(code, message, params=params)


class OpeningSecretsRejected(DomainError):
    """The two secrets do not unlock the opening key (never says which one was wrong)."""

    default_code = "OPENING_SECRETS_REJECTED"

    def __init__(self) -> None:
        super().__init__(
            self.default_code,
            N_(
                "The opening secrets were not accepted. Both persons must enter their own "
                "secret again."
            ),
        )


class SealBroken(DomainError):
    """A sealed quote or an opening-key record that does not open: altered, moved or foreign."""

    default_code = "SEAL_BROKEN"


def _seal_broken() -> SealBroken:
    return SealBroken(
        "SEAL_BROKEN",
        N_(
            "The sealed quote cannot be opened: it was altered, belongs to another quote or was "
            "sealed with another key."
        ),
    )


def _key_invalid() -> SealBroken:
    return SealBroken(
        "OPENING_KEY_INVALID",
        N_("The opening key record is damaged or of an unknown version."),
    )


def _payload_invalid() -> SealBroken:
    return SealBroken(
        "SEAL_PAYLOAD_INVALID",
        N_("The quote payload is damaged or of an unknown version."),
    )


# --- secrets --------------------------------------------------------------------------------------

# Letters left once digits and punctuation are removed (after undoing leetspeak) that make a
# secret obvious: "Password123!", "P@ssw0rd2024", "qwerty123456", "jicai2025!!!".
_COMMON_WORDS = frozenset(
    """
    password passwort passw0rd pass passwd qwerty qwertz azerty qwe asd zxc qaz wsx abc abcd abcde
    admin administrator root user test guest login welcome letmein iloveyou secret changeme default
    opening open key master monkey dragon football baseball sunshine princess shadow
    jicai caigou zhaobiao toubiao kaibiao mima woaini nihao beijing shanghai china zhongguo
    officer supervisor witness procurement tender bid
    """.split()
)
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)
_RUNS = (
    "0123456789",
    "abcdefghijklmnopqrstuvwxyz",
    "qwertyuiopasdfghjklzxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "qazwsxedcrfvtgbyhnujmikolp",
    "1234567890qwertyuiopasdfghjklzxcvbnm",
)


def _normalise_secret(secret: object) -> str:
    if not isinstance(secret, str):
        raise TypeError("an opening secret must be a str")
    return unicodedata.normalize("NFC", secret)


def _is_obvious(secret: str) -> bool:
    low = secret.casefold()
    if len(set(low)) < 5 or low.isdigit():
        return True
    # A repeated unit: "abcabcabcabc", "Passw0rd!Passw0rd!".
    n = len(low)
    for period in range(1, n // 2 + 1):
        if all(low[i] == low[i % period] for i in range(period, n)):
            return True
    # A run on the alphabet, the digits or the keyboard, either direction.
    for run in _RUNS:
        cyclic = run * (n // len(run) + 2)
        if low in cyclic or low in cyclic[::-1]:
            return True
    # A common word (or several) padded with digits and symbols, leetspeak undone inside words:
    # "Password123!", "P@ssw0rd2024", "admin2024admin", "qwerty123456".
    common = "|".join(sorted(_COMMON_WORDS, key=len, reverse=True))
    for variant in (low, _unleet(low)):
        letters = _NOT_LETTER.sub("", variant)
        if not re.sub(common, "", letters):
            return True
    return False


_NOT_LETTER = re.compile(r"[\W\d_]")
_LEET_IN_WORD = re.compile(r"(?<=[^\W\d_])[013457@$]")


def _unleet(text: str) -> str:
    """Read leetspeak characters that follow a letter as letters ("p@$$w0rd" → "password")."""
    for _ in range(len(text)):
        changed = _LEET_IN_WORD.sub(lambda m: m.group().translate(_LEET), text)
        if changed == text:
            break
        text = changed
    return text


def check_secret_strength(secret: str, *, role: str | None = None) -> None:
    """Refuse an opening secret that is too short, too long or obvious (raises :class:`WeakSecret`).

    A secret needs at least :data:`MIN_SECRET_LENGTH` characters and must not be digits only, a
    repetition, an alphabet/keyboard run or a common word padded with digits and symbols.
    Passphrases of several unrelated words (any script) pass. ``role`` (``"officer"`` or
    ``"witness"``) is copied to the error so a form can mark the right field; it is not secret.
    """
    secret = _normalise_secret(secret)
    if len(secret) < MIN_SECRET_LENGTH:
        raise WeakSecret(
            "SECRET_TOO_SHORT",
            N_("The secret must have at least %(min)s characters."),
            params={"min": MIN_SECRET_LENGTH},
            role=role,
        )
    if len(secret) > MAX_SECRET_LENGTH:
        raise WeakSecret(
            "SECRET_TOO_LONG",
            N_("The secret must have at most %(max)s characters."),
            params={"max": MAX_SECRET_LENGTH},
            role=role,
        )
    if _is_obvious(secret):
        raise WeakSecret(
            "SECRET_TOO_WEAK",
            N_(
                "The secret is too easy to guess: avoid common words, sequences, repetitions and "
                "digits only. A passphrase of several unrelated words works well."
            ),
            role=role,
        )


# --- KDF record -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _KdfParams:
    memory_cost: int
    time_cost: int
    parallelism: int
    officer_salt: bytes
    witness_salt: bytes

    def as_record(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "kdf": _KDF_NAME,
            "argon2_version": ARGON2_VERSION,
            "memory_cost": self.memory_cost,
            "time_cost": self.time_cost,
            "parallelism": self.parallelism,
            "hash_len": KEY_BYTES,
            "officer_salt": _b64(self.officer_salt),
            "witness_salt": _b64(self.witness_salt),
            "combine": _COMBINE_NAME,
            "private_key_wrap": _WRAP_NAME,
            "key_type": "X25519",
            "quote_key_wrap": _HPKE_NAME,
            "payload_cipher": "AES-256-GCM",
        }

    def associated_data(self, public_raw: bytes) -> bytes:
        canonical = json.dumps(self.as_record(), sort_keys=True, separators=(",", ":"))
        return _LABEL_PRIVATE + public_raw + b"\x00" + canonical.encode("ascii")


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text.encode("ascii"), validate=True)


def _cost_params(params: Mapping[str, Any] | None) -> dict[str, int]:
    merged = dict(DEFAULT_KDF_PARAMS)
    if params:
        unknown = set(params) - set(DEFAULT_KDF_PARAMS)
        if unknown:
            raise ValueError(f"unknown KDF parameters: {sorted(unknown)}")
        merged.update(params)
    for name, (low, high) in _KDF_BOUNDS.items():
        value = merged[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"KDF parameter {name} must be an integer in [{low}, {high}]")
    if merged["memory_cost"] < 8 * merged["parallelism"]:
        raise ValueError("Argon2 needs memory_cost >= 8 * parallelism")
    return merged


def _parse_kdf(record: object) -> _KdfParams:
    """Read a stored ``kdf`` dict; anything unexpected is a damaged record."""
    try:
        if not isinstance(record, Mapping):
            raise ValueError("kdf is not a mapping")
        expected = {
            "version": VERSION,
            "kdf": _KDF_NAME,
            "argon2_version": ARGON2_VERSION,
            "hash_len": KEY_BYTES,
            "combine": _COMBINE_NAME,
            "private_key_wrap": _WRAP_NAME,
            "key_type": "X25519",
            "quote_key_wrap": _HPKE_NAME,
            "payload_cipher": "AES-256-GCM",
        }
        for name, value in expected.items():
            if record.get(name) != value or type(record.get(name)) is not type(value):
                raise ValueError(f"unexpected {name}")
        costs = _cost_params({name: record.get(name) for name in DEFAULT_KDF_PARAMS})
        officer_salt = _unb64(record.get("officer_salt"))
        witness_salt = _unb64(record.get("witness_salt"))
        if len(officer_salt) != SALT_BYTES or len(witness_salt) != SALT_BYTES:
            raise ValueError("bad salt length")
        if hmac.compare_digest(officer_salt, witness_salt):
            raise ValueError("salts must differ")
    except (ValueError, TypeError, binascii.Error) as exc:
        raise _key_invalid() from exc
    return _KdfParams(officer_salt=officer_salt, witness_salt=witness_salt, **costs)


def _derive_kek(
    params: _KdfParams, officer_secret: str, witness_secret: str, public_raw: bytes
) -> bytes:
    def stretch(secret: str, salt: bytes) -> bytes:
        return hash_secret_raw(
            secret.encode("utf-8"),
            salt,
            time_cost=params.time_cost,
            memory_cost=params.memory_cost,
            parallelism=params.parallelism,
            hash_len=KEY_BYTES,
            type=Type.ID,
            version=ARGON2_VERSION,
        )

    # Both derivations always run, so the time taken says nothing about which secret is wrong.
    k_officer = stretch(officer_secret, params.officer_salt)
    k_witness = stretch(witness_secret, params.witness_salt)
    kek = HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=params.officer_salt + params.witness_salt,
        info=_LABEL_KEK + public_raw,
    ).derive(k_officer + k_witness)
    del k_officer, k_witness
    return kek


# --- key material ---------------------------------------------------------------------------------


def _public_raw(public_key: x25519.X25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _load_public(public_key_pem: str | bytes) -> x25519.X25519PublicKey:
    try:
        pem = public_key_pem.encode("ascii") if isinstance(public_key_pem, str) else public_key_pem
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise _key_invalid() from exc
    if not isinstance(key, x25519.X25519PublicKey):
        raise _key_invalid()
    return key


def public_key_fingerprint(public_key_pem: str | bytes) -> str:
    """A short, stable fingerprint of an opening public key (receipts, the opening record)."""
    digest = hashlib.sha256(_public_raw(_load_public(public_key_pem))).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, 32, 4))


@dataclass(frozen=True)
class OpeningKeyMaterial:
    """What :class:`app.bidding.models.OpeningKey` stores: nothing here opens a quote alone."""

    public_key_pem: str
    encrypted_private_key: bytes = field(repr=False)
    kdf: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        return public_key_fingerprint(self.public_key_pem)

    def __repr__(self) -> str:
        return (
            f"OpeningKeyMaterial(fingerprint={self.fingerprint!r}, "
            f"encrypted_private_key=<{len(self.encrypted_private_key)} bytes>, "
            f"kdf_version={self.kdf.get('version')!r})"
        )


class UnlockedKey:
    """An opening private key unlocked for the opening. Never printed, pickled or stored."""

    __slots__ = ("_private_key", "public_key_pem", "fingerprint")

    def __init__(self, private_key: x25519.X25519PrivateKey, public_key_pem: str) -> None:
        self._private_key = private_key
        self.public_key_pem = public_key_pem
        self.fingerprint = public_key_fingerprint(public_key_pem)

    def __repr__(self) -> str:
        return f"<UnlockedKey fingerprint={self.fingerprint}>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("an unlocked opening key cannot be pickled or copied")


def create_opening_key(
    officer_secret: str,
    witness_secret: str,
    *,
    kdf_params: Mapping[str, int] | None = None,
) -> OpeningKeyMaterial:
    """Generate a round's opening key pair; the private key is kept only under both secrets.

    Raises :class:`WeakSecret` when a secret is weak or both are the same. ``kdf_params``
    overrides :data:`DEFAULT_KDF_PARAMS` (``memory_cost`` KiB, ``time_cost``, ``parallelism``):
    meant for tests; production uses the defaults.
    """
    officer_secret = _normalise_secret(officer_secret)
    witness_secret = _normalise_secret(witness_secret)
    check_secret_strength(officer_secret, role="officer")
    check_secret_strength(witness_secret, role="witness")
    if hmac.compare_digest(officer_secret.encode("utf-8"), witness_secret.encode("utf-8")):
        raise WeakSecret(
            "SECRETS_IDENTICAL",
            N_("The two secrets must be different: each person chooses their own."),
            role="witness",
        )
    costs = _cost_params(kdf_params)
    officer_salt = os.urandom(SALT_BYTES)
    witness_salt = os.urandom(SALT_BYTES)
    while witness_salt == officer_salt:  # pragma: no cover - 2**-128
        witness_salt = os.urandom(SALT_BYTES)
    params = _KdfParams(officer_salt=officer_salt, witness_salt=witness_salt, **costs)

    private_key = x25519.X25519PrivateKey.generate()
    public_key = private_key.public_key()
    public_raw = _public_raw(public_key)
    public_pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")

    kek = _derive_kek(params, officer_secret, witness_secret, public_raw)
    nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(kek).encrypt(
        nonce, private_key.private_bytes_raw(), params.associated_data(public_raw)
    )
    del kek, private_key
    return OpeningKeyMaterial(
        public_key_pem=public_pem,
        encrypted_private_key=_V + nonce + wrapped,
        kdf=params.as_record(),
    )


def _field(source: object, name: str) -> Any:
    if isinstance(source, Mapping):
        return source.get(name)
    return getattr(source, name, None)


def unlock_private_key(
    material: OpeningKeyMaterial | Mapping[str, Any] | Any,
    officer_secret: str,
    witness_secret: str,
) -> UnlockedKey:
    """Unlock the opening private key with both secrets, in their roles' order.

    ``material`` is an :class:`OpeningKeyMaterial`, an ``OpeningKey`` row or a mapping with
    ``public_key_pem``, ``encrypted_private_key`` and ``kdf``. Wrong secret(s), in any
    combination, raise :class:`OpeningSecretsRejected`; a damaged record raises
    :class:`SealBroken` (code ``OPENING_KEY_INVALID``).
    """
    public_key_pem = _field(material, "public_key_pem")
    blob = _field(material, "encrypted_private_key")
    params = _parse_kdf(_field(material, "kdf"))
    public_raw = _public_raw(_load_public(public_key_pem))
    if not isinstance(blob, bytes | bytearray | memoryview):
        raise _key_invalid()
    blob = bytes(blob)
    if len(blob) != 1 + NONCE_BYTES + KEY_BYTES + TAG_BYTES or blob[:1] != _V:
        raise _key_invalid()

    officer_secret = _normalise_secret(officer_secret)
    witness_secret = _normalise_secret(witness_secret)
    if len(officer_secret) > MAX_SECRET_LENGTH or len(witness_secret) > MAX_SECRET_LENGTH:
        raise OpeningSecretsRejected()  # could never have been set; refuse before the costly KDF

    kek = _derive_kek(params, officer_secret, witness_secret, public_raw)
    try:
        private_raw = AESGCM(kek).decrypt(
            blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :], params.associated_data(public_raw)
        )
    except InvalidTag:
        raise OpeningSecretsRejected() from None
    finally:
        del kek
    private_key = x25519.X25519PrivateKey.from_private_bytes(private_raw)
    del private_raw
    if not hmac.compare_digest(_public_raw(private_key.public_key()), public_raw):
        raise _key_invalid()  # pragma: no cover - the AEAD binds the public key
    if isinstance(public_key_pem, bytes):
        public_key_pem = public_key_pem.decode("ascii")
    return UnlockedKey(private_key, public_key_pem)


# --- sealing --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SealedBlob:
    """A sealed payload (``QuoteSubmission.sealed_payload``) and its wrapped data key.

    The wrapped key goes to ``QuoteSubmission.sealed_key``. Neither is secret, both are opaque.
    """

    ciphertext: bytes
    wrapped_key: bytes

    def __repr__(self) -> str:
        return (
            f"SealedBlob(ciphertext=<{len(self.ciphertext)} bytes>, "
            f"wrapped_key=<{len(self.wrapped_key)} bytes>)"
        )


def quote_aad(
    *,
    project_id: int,
    round_no: int,
    supplier_org_id: int,
    file_sha256: str,
    version: int | None = None,
) -> bytes:
    """The associated data binding a sealed quote to its row (use the same call to seal and unseal).

    ``version`` (the submission version) is optional; when given it also stops an older version's
    blob from being copied over a newer one.
    """
    ids = {"project_id": project_id, "round_no": round_no, "supplier_org_id": supplier_org_id}
    for name, value in ids.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise TypeError("version must be an int")
    if not isinstance(file_sha256, str) or not _SHA256_HEX.match(file_sha256.lower()):
        raise ValueError("file_sha256 must be 64 hex digits")
    fields: dict[str, Any] = {
        "project": project_id,
        "round": round_no,
        "supplier": supplier_org_id,
        "sha256": file_sha256.lower(),
    }
    if version is not None:
        fields["version"] = version
    return _LABEL_AAD + json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("ascii")


def _check_aad(aad: object) -> bytes:
    if not isinstance(aad, bytes | bytearray) or not aad:
        raise TypeError("aad must be non-empty bytes (see quote_aad)")
    return bytes(aad)


def _wrap_info(aad: bytes) -> bytes:
    return _LABEL_WRAP + hashlib.sha256(aad).digest()


def seal(payload: bytes, public_key_pem: str, *, aad: bytes) -> SealedBlob:
    """Encrypt ``payload`` to the opening public key, bound to ``aad`` (fresh data key, nonce).

    Anyone holding the public key can seal, so sealing proves nothing about the author: the
    upload receipt (``file_sha256``) and the audit trail do.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("payload must be bytes")
    aad = _check_aad(aad)
    public_key = _load_public(public_key_pem)
    data_key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, bytes(payload), _LABEL_PAYLOAD + aad)
    wrapped_key = _HPKE.encrypt(data_key, public_key, info=_wrap_info(aad))
    del data_key
    return SealedBlob(ciphertext=_V + nonce + ciphertext, wrapped_key=_V + wrapped_key)


def _blob_parts(blob: object) -> tuple[bytes, bytes]:
    if isinstance(blob, SealedBlob):
        ciphertext, wrapped = blob.ciphertext, blob.wrapped_key
    else:  # a QuoteSubmission row
        ciphertext = getattr(blob, "sealed_payload", None)
        wrapped = getattr(blob, "sealed_key", None)
    if not isinstance(ciphertext, bytes | bytearray | memoryview) or not isinstance(
        wrapped, bytes | bytearray | memoryview
    ):
        raise _seal_broken()
    return bytes(ciphertext), bytes(wrapped)


def unseal(blob: SealedBlob | Any, unlocked: UnlockedKey, *, aad: bytes) -> bytes:
    """Decrypt a sealed payload (a :class:`SealedBlob` or a ``QuoteSubmission`` row).

    Altered bytes, another row's ``aad`` or another key raise :class:`SealBroken`.
    """
    if not isinstance(unlocked, UnlockedKey):
        raise TypeError("unlocked must be an UnlockedKey")
    aad = _check_aad(aad)
    ciphertext, wrapped = _blob_parts(blob)
    if (
        ciphertext[:1] != _V
        or wrapped[:1] != _V
        or len(ciphertext) < 1 + NONCE_BYTES + TAG_BYTES
        or len(wrapped) != 1 + KEY_BYTES + KEY_BYTES + TAG_BYTES
    ):
        raise _seal_broken()
    try:
        data_key = _HPKE.decrypt(wrapped[1:], unlocked._private_key, info=_wrap_info(aad))
        return AESGCM(data_key).decrypt(
            ciphertext[1 : 1 + NONCE_BYTES], ciphertext[1 + NONCE_BYTES :], _LABEL_PAYLOAD + aad
        )
    except (InvalidTag, ValueError):
        raise _seal_broken() from None


# --- payload container ----------------------------------------------------------------------------
# Layout: b"JCQ" · container version (1 byte) · length of the lines JSON (4 bytes, big-endian) ·
# lines JSON (UTF-8) · the file's bytes. Tagged JSON values keep types exact: {"$decimal": "23.5"},
# {"$date": "2020-01-17"}, {"$datetime": "2020-01-17T04:00:00+00:00"}; floats are refused.

_TAGS = ("$decimal", "$date", "$datetime")


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a Decimal in a quote line must be finite")
        return {"$decimal": str(value)}
    if isinstance(value, float):
        raise TypeError("floats are not allowed in quote lines: use Decimal")
    if isinstance(value, dt.datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$date": value.isoformat()}
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$"):
                raise ValueError(f"quote line keys must be str not starting with '$': {key!r}")
            out[key] = _encode(item)
        return out
    raise TypeError(f"cannot serialise {type(value).__name__} in a quote line")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(item) for item in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (key, item), = value.items()
            if key == "$decimal":
                return Decimal(item)
            if key == "$date":
                return dt.date.fromisoformat(item)
            if key == "$datetime":
                return dt.datetime.fromisoformat(item)
        return {key: _decode(item) for key, item in value.items()}
    return value


def _refuse(token: str) -> Any:
    raise ValueError(f"unexpected JSON number {token!r}")


def serialise_payload(file_bytes: bytes, lines: list[dict[str, Any]]) -> bytes:
    """Pack the uploaded file and its parsed lines into one versioned container (for :func:`seal`).

    Line values may be ``None``, ``bool``, ``int``, ``str``, finite ``Decimal`` (kept exactly,
    as its string), ``date``, ``datetime``, lists and dicts with ``str`` keys not starting with
    ``$``. A ``float`` raises ``TypeError``: money is never a float (DOMAIN.md P-2).
    """
    if not isinstance(file_bytes, bytes | bytearray | memoryview):
        raise TypeError("file_bytes must be bytes")
    if not isinstance(lines, list | tuple) or not all(isinstance(line, Mapping) for line in lines):
        raise TypeError("lines must be a list of dicts")
    encoded = json.dumps(
        [_encode(line) for line in lines],
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    ).encode("utf-8")
    return _HEADER.pack(_PAYLOAD_MAGIC, VERSION, len(encoded)) + encoded + bytes(file_bytes)


def deserialise_payload(
    data: bytes, *, expected_sha256: str | None = None
) -> tuple[bytes, list[dict[str, Any]]]:
    """Unpack :func:`serialise_payload`; with ``expected_sha256`` also check the file's hash.

    A damaged container raises :class:`SealBroken` (``SEAL_PAYLOAD_INVALID``); a file whose
    SHA-256 differs from ``expected_sha256`` raises :class:`SealBroken` (``SEAL_HASH_MISMATCH``).
    """
    try:
        data = bytes(data)
        magic, version, length = _HEADER.unpack_from(data)
        if magic != _PAYLOAD_MAGIC or version != VERSION or _HEADER.size + length > len(data):
            raise ValueError("bad header")
        raw_lines = data[_HEADER.size : _HEADER.size + length]
        lines = _decode(
            json.loads(raw_lines.decode("utf-8"), parse_float=_refuse, parse_constant=_refuse)
        )
        if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
            raise ValueError("lines must be a list of objects")
        file_bytes = data[_HEADER.size + length :]
    except (ValueError, TypeError, struct.error, ArithmeticError) as exc:
        raise _payload_invalid() from exc
    if expected_sha256 is not None:
        actual = hashlib.sha256(file_bytes).hexdigest()
        expected = expected_sha256.strip().lower().encode("utf-8")
        if not hmac.compare_digest(actual.encode("ascii"), expected):
            raise SealBroken(
                "SEAL_HASH_MISMATCH",
                N_("The sealed file does not match the hash recorded at upload."),
            )
    return file_bytes, lines
