"""The Ed25519 key that signs the ledger's tree heads, and the secrets derived from it.

Tree heads are signed so that anyone holding the public key can tell a head the platform
published from a forged one, and can hold the platform to it: two signed heads that are not
consistent prove tampering.

The seed is the one secret every sealing process already shares (the deployment configures
the same key everywhere), so other secrets of the log are derived from it with HKDF and a
label of their own: the key of the account tags in leaves. Nothing public (the public key,
a signature) reveals a derived secret.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SEED_BYTES = 32
ACCOUNT_TAG_LABEL = b"tributary/ledger/account-tag/v2"


class TreeSigner:
    """Signs `"{tree_size}.{root_hash}.{timestamp}"` with one Ed25519 key."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError("an Ed25519 seed is 32 bytes")
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.account_tag_key = derive_secret(seed, ACCOUNT_TAG_LABEL)

    @classmethod
    def from_base64(cls, seed_b64: str) -> TreeSigner:
        return cls(base64.b64decode(seed_b64, validate=True))

    @classmethod
    def from_file(cls, path: Path, *, create: bool) -> TreeSigner | None:
        """Load the seed kept in `path`; generate it (mode 0600) if asked and missing."""
        if path.exists():
            return cls.from_base64(path.read_text(encoding="ascii").strip())
        if not create:
            return None
        seed = os.urandom(SEED_BYTES)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            handle.write(base64.b64encode(seed).decode("ascii") + "\n")
        return cls(seed)

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_key).decode("ascii")

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self._key.sign(message)).decode("ascii")


def derive_secret(seed: bytes, label: bytes) -> bytes:
    """A 32-byte secret for one purpose (HKDF-SHA256 of the seed, `label` as its info): the
    same in every process holding the seed, unrelated to the key pair or another label's."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(seed)


def new_seed_b64() -> str:
    """A fresh key for TRIBUTARY_LEDGER_SIGNING_KEY (`tributary keygen`)."""
    return base64.b64encode(os.urandom(SEED_BYTES)).decode("ascii")


def tree_head_message(tree_size: int, root_hash_hex: str, timestamp: str) -> bytes:
    return f"{tree_size}.{root_hash_hex}.{timestamp}".encode()
