"""Ed25519 signatures over the lock file and over site overlays (optional extra ``governance``).

A lock file pins every guideline file's sha256, but it sits next to the files it
protects: whoever can edit one can re-hash it into the other. A detached signature
made with a key kept elsewhere closes that gap. ``neuroguide audit verify --trust
KEY`` accepts the lock only when ``lock.json.sig`` is a valid signature by one of the
trusted public keys; a site signs its own overlay the same way.

The signed statement names the file, its sha256, the signer and the date, so a
signature cannot be moved to another file or re-dated::

    neuroguide-signature-v1
    file: lock.json
    sha256: <hex>
    signer: <text>
    date: <YYYY-MM-DD>

Keys are PEM files: the private key PKCS #8 (optionally encrypted with a passphrase),
the public key SubjectPublicKeyInfo. A key's id is the first 16 hex digits of the
sha256 of its raw 32-byte public key. The ``cryptography`` package is imported only
when a function here is called.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import attrs

from .exceptions import InputError, install_hint

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

__all__ = [
    "SIGNATURE_SUFFIX",
    "Signature",
    "SignatureCheck",
    "generate_keys",
    "key_id",
    "sign_file",
    "signature_path",
    "verify_file",
]

SIGNATURE_SUFFIX = ".sig"
ALGORITHM = "ed25519"
_HEADER = "neuroguide-signature-v1"

Verdict = Literal["valid", "missing", "invalid", "untrusted-key", "wrong-file", "unreadable"]


@attrs.frozen(kw_only=True)
class Signature:
    """A detached signature file (``<file>.sig``, JSON)."""

    algorithm: str
    file: str
    sha256: str
    signer: str
    date: dt.date
    key_id: str
    signature: str
    """Base64 of the 64-byte Ed25519 signature of :meth:`statement`."""

    def statement(self) -> bytes:
        """The exact bytes that are signed."""
        return (
            f"{_HEADER}\nfile: {self.file}\nsha256: {self.sha256}\nsigner: {self.signer}\n"
            f"date: {self.date.isoformat()}\n"
        ).encode()

    def to_json(self) -> str:
        """The signature file's text."""
        data = attrs.asdict(self)
        data["date"] = self.date.isoformat()
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@attrs.frozen(kw_only=True)
class SignatureCheck:
    """The result of :func:`verify_file`: ``ok`` only for a valid signature by a trusted key."""

    file: str
    verdict: Verdict
    message: str
    key_id: str | None = None
    signer: str | None = None
    date: dt.date | None = None

    @property
    def ok(self) -> bool:
        """True for a valid signature by a trusted key over the file as it is now."""
        return self.verdict == "valid"


def _crypto() -> Any:
    """Import the signing library, or say which extra provides it."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - the tests install the extra
        raise InputError("signing", "cryptography", f"the optional extra: {install_hint('governance')}") from None
    return ed25519, serialization


def signature_path(path: Path) -> Path:
    """Where the detached signature of ``path`` lives: ``<path>.sig``."""
    return path.with_name(path.name + SIGNATURE_SUFFIX)


def _raw_public(public: Ed25519PublicKey) -> bytes:
    _, serialization = _crypto()
    raw: bytes = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw


def key_id(public: Ed25519PublicKey) -> str:
    """The key id: the first 16 hex digits of the sha256 of the raw public key."""
    return hashlib.sha256(_raw_public(public)).hexdigest()[:16]


def generate_keys(private: Path, public: Path, *, passphrase: bytes | None = None) -> str:
    """Create a new Ed25519 key pair; never overwrite an existing file.

    The private key file is created readable by its owner only. Keep it offline
    (or generate the key inside a hardware security module instead) and give out
    only the public key.

    Args:
        private: where to write the private key (PEM, PKCS #8).
        public: where to write the public key (PEM).
        passphrase: encrypt the private key with this passphrase.

    Returns:
        The new key's id.

    Raises:
        InputError: a file already exists or cannot be written.

    """
    ed25519, serialization = _crypto()
    for path in (private, public):
        if path.exists():
            raise InputError("key file", str(path), "a path that does not exist yet (keys are never overwritten)")
    key = ed25519.Ed25519PrivateKey.generate()
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    pub = key.public_key()
    try:
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        public.write_bytes(
            pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        )
    except OSError as exc:
        raise InputError("key file", str(exc.filename), f"a writable path ({exc.strerror})") from None
    return key_id(pub)


def _load_private(path: Path, passphrase: bytes | None) -> Ed25519PrivateKey:
    ed25519, serialization = _crypto()
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=passphrase)
    except OSError as exc:
        raise InputError("key", str(path), f"a readable private key file ({exc.strerror})") from None
    except (ValueError, TypeError) as exc:
        raise InputError(
            "key", str(path), f"an Ed25519 private key in PEM (and its passphrase if any): {exc}"
        ) from None
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise InputError("key", str(path), "an Ed25519 private key (this is another algorithm)")
    return cast("Ed25519PrivateKey", key)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Read a trusted public key (PEM).

    Raises:
        InputError: unreadable, not PEM, or not Ed25519.

    """
    ed25519, serialization = _crypto()
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except OSError as exc:
        raise InputError("trust", str(path), f"a readable public key file ({exc.strerror})") from None
    except ValueError as exc:
        raise InputError("trust", str(path), f"an Ed25519 public key in PEM: {exc}") from None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise InputError("trust", str(path), "an Ed25519 public key (this is another algorithm)")
    return cast("Ed25519PublicKey", key)


def sign_file(
    path: Path, key: Path, *, signer: str, date: dt.date, passphrase: bytes | None = None, name: str | None = None
) -> Path:
    """Write ``<path>.sig``, a detached signature of the file as it is now.

    Args:
        path: the file to sign (``lock.json``, a site overlay).
        key: the signer's private key file.
        signer: who signs, as it will be shown (e.g. "Example Test Hospital CDS committee").
        date: the signing date (recorded and signed).
        passphrase: the private key's passphrase, if it is encrypted.
        name: the file name to sign as (default: ``path``'s name).

    Returns:
        The signature file's path.

    Raises:
        InputError: the file or key cannot be read.

    """
    private = _load_private(key, passphrase)
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError("file", str(path), f"a readable file to sign ({exc.strerror})") from None
    unsigned = Signature(
        algorithm=ALGORITHM,
        file=name or path.name,
        sha256=digest,
        signer=signer,
        date=date,
        key_id=key_id(private.public_key()),
        signature="",
    )
    raw = private.sign(unsigned.statement())
    signed = attrs.evolve(unsigned, signature=base64.b64encode(raw).decode("ascii"))
    out = signature_path(path)
    out.write_text(signed.to_json(), encoding="utf-8")
    return out


def _read_signature(path: Path) -> Signature:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    return Signature(
        algorithm=str(data["algorithm"]),
        file=str(data["file"]),
        sha256=str(data["sha256"]),
        signer=str(data["signer"]),
        date=dt.date.fromisoformat(str(data["date"])),
        key_id=str(data["key_id"]),
        signature=str(data["signature"]),
    )


def verify_file(path: Path, trusted: Sequence[Path], *, name: str | None = None) -> SignatureCheck:
    """Check ``<path>.sig`` against the file as it is now and the trusted public keys.

    Several trusted keys may be given (during a key rotation, the old and the new).

    Args:
        path: the signed file.
        trusted: public key files to accept.
        name: the file name the signature must name (default: ``path``'s name).

    Returns:
        A :class:`SignatureCheck`; ``ok`` only when the signature is valid, by a trusted
        key, over this file's current sha256.

    Raises:
        InputError: no trusted key was given, or a key file is unusable.

    """
    if not trusted:
        raise InputError("trust", "(none)", "at least one trusted public key file")
    _crypto()
    keys = {key_id(k): k for k in (load_public_key(p) for p in trusted)}
    shown = name or path.name
    sig_file = signature_path(path)
    if not sig_file.is_file():
        return SignatureCheck(file=shown, verdict="missing", message=f"no signature file {sig_file.name}")
    try:
        sig = _read_signature(sig_file)
        raw = base64.b64decode(sig.signature, validate=True)
    except (OSError, ValueError, KeyError, binascii.Error) as exc:
        return SignatureCheck(file=shown, verdict="unreadable", message=f"{sig_file.name} is not a signature: {exc}")

    def found(verdict: Verdict, message: str) -> SignatureCheck:
        return SignatureCheck(
            file=shown, verdict=verdict, message=message, key_id=sig.key_id, signer=sig.signer, date=sig.date
        )

    if sig.algorithm != ALGORITHM:
        return SignatureCheck(file=shown, verdict="unreadable", message=f"unknown algorithm {sig.algorithm}")
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise InputError("file", str(path), f"a readable signed file ({exc.strerror})") from None
    if sig.file != shown:
        return found("wrong-file", f"the signature is for {sig.file}, not {shown}")
    key = keys.get(sig.key_id)
    if key is None:
        return found(
            "untrusted-key", f"signed by key {sig.key_id}, which is not among the trusted keys ({', '.join(keys)})"
        )
    from cryptography.exceptions import InvalidSignature

    try:
        key.verify(raw, sig.statement())
    except InvalidSignature:
        return found("invalid", "the signature does not match its statement")
    if sig.sha256 != digest:
        return found("invalid", f"the file changed after it was signed (signed sha256 {sig.sha256}, now {digest})")
    return found("valid", f"valid signature by key {sig.key_id} ({sig.signer}, {sig.date.isoformat()})")
