"""Key material: Ed25519 signing keys and the master key-encryption key (KEK).

Keys live under ``SESAME_KEY_DIR`` (files of mode 0600, created on first start) or come from the environment
(``SESAME_SIGNING_KEY`` / ``SESAME_MASTER_KEK`` as ``kid:base64url``). Every key has a key id. Rotation
adds a new current key and keeps the old ones: old public keys keep verifying tokens and attestations, and old
KEKs keep unwrapping data keys until ``sesame keys rotate`` has re-wrapped them all.

Layout::

    <key_dir>/signing/<purpose>/<kid>.key   base64url Ed25519 seed (the current key and retired ones)
    <key_dir>/signing/<purpose>/current     the current kid
    <key_dir>/kek/<kid>.key                  base64url 32-byte AES key
    <key_dir>/kek/current

Purposes: ``platform`` (access tokens, attestations issued for custodial verifiers, checkout decisions) and
``ledger`` (checkpoints).
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from sesame.errors import SesameError
from sesame.settings import Settings

PURPOSES = ("platform", "ledger")


class KeyError_(SesameError):
    status = 500
    type_slug = "key-error"
    title = "Key material unavailable"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwk_thumbprint(public: Ed25519PublicKey) -> str:
    """RFC 7638 thumbprint of an OKP key: a stable, standard key id."""
    x = b64url(public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    canonical = json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())[:16]


def public_jwk(public: Ed25519PublicKey, *, kid: str) -> dict[str, str]:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw), "kid": kid, "alg": "EdDSA", "use": "sig"}


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def seed(self) -> bytes:
        return self.private.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )

    @classmethod
    def generate(cls) -> SigningKey:
        private = Ed25519PrivateKey.generate()
        return cls(kid=jwk_thumbprint(private.public_key()), private=private)

    @classmethod
    def from_seed(cls, seed: bytes) -> SigningKey:
        private = Ed25519PrivateKey.from_private_bytes(seed)
        return cls(kid=jwk_thumbprint(private.public_key()), private=private)


def _write_secret(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    os.chmod(path, 0o600)


class KeyRing:
    """Every key of one deployment. Build with ``KeyRing.load(key_dir=..., ...)``."""

    def __init__(
        self,
        *,
        signing: dict[str, list[SigningKey]],
        current_signing: dict[str, str],
        keks: dict[str, bytes],
        current_kek: str,
        key_dir: Path | None,
    ) -> None:
        self._signing = signing
        self._current_signing = current_signing
        self._keks = keks
        self._current_kek = current_kek
        self._key_dir = key_dir

    # -- loading ---------------------------------------------------------------------------------------------
    @classmethod
    def load(cls, *, key_dir: Path, signing_env: str | None = None, kek_env: str | None = None) -> KeyRing:
        """Read keys from ``key_dir``, creating any that are missing; environment values take precedence.

        Several workers may start at once on an empty ``key_dir``: an exclusive lock on ``key_dir/.lock`` makes
        the first one create the keys and the others read them, so every worker signs and wraps with the same keys.
        """
        key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(key_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            return cls._load_locked(key_dir=key_dir, signing_env=signing_env, kek_env=kek_env)
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    @classmethod
    def _load_locked(cls, *, key_dir: Path, signing_env: str | None, kek_env: str | None) -> KeyRing:
        signing: dict[str, list[SigningKey]] = {}
        current_signing: dict[str, str] = {}
        for purpose in PURPOSES:
            folder = key_dir / "signing" / purpose
            keys = [
                SigningKey.from_seed(b64url_decode(p.read_text().strip()))
                for p in sorted(folder.glob("*.key"))
            ]
            current_file = folder / "current"
            if purpose == "platform" and signing_env:
                env_key = SigningKey.from_seed(b64url_decode(signing_env.split(":", 1)[-1]))
                keys = [k for k in keys if k.kid != env_key.kid] + [env_key]
                current_signing[purpose] = env_key.kid
            elif keys and current_file.exists():
                current_signing[purpose] = current_file.read_text().strip()
            else:
                new = SigningKey.generate()
                _write_secret(folder / f"{new.kid}.key", b64url(new.seed))
                _write_secret(current_file, new.kid)
                keys.append(new)
                current_signing[purpose] = new.kid
            signing[purpose] = keys

        keks: dict[str, bytes] = {}
        kek_folder = key_dir / "kek"
        for path in sorted(kek_folder.glob("*.key")):
            keks[path.stem] = b64url_decode(path.read_text().strip())
        if kek_env:
            kid, _, value = kek_env.partition(":")
            keks[kid] = b64url_decode(value)
            current_kek = kid
        elif keks and (kek_folder / "current").exists():
            current_kek = (kek_folder / "current").read_text().strip()
        else:
            current_kek = cls._new_kek_file(kek_folder, keks)
        return cls(
            signing=signing,
            current_signing=current_signing,
            keks=keks,
            current_kek=current_kek,
            key_dir=key_dir,
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> KeyRing:
        return cls.load(
            key_dir=settings.key_dir, signing_env=settings.signing_key, kek_env=settings.master_kek
        )

    @staticmethod
    def _new_kek_file(folder: Path, keks: dict[str, bytes]) -> str:
        kid = "kek-" + secrets.token_hex(6)
        material = secrets.token_bytes(32)
        _write_secret(folder / f"{kid}.key", b64url(material))
        _write_secret(folder / "current", kid)
        keks[kid] = material
        return kid

    # -- signing ---------------------------------------------------------------------------------------------
    def signing_key(self, purpose: str = "platform") -> SigningKey:
        kid = self._current_signing[purpose]
        for key in self._signing[purpose]:
            if key.kid == kid:
                return key
        raise KeyError_(f"current {purpose} key {kid} is missing")

    def signing_keys(self, purpose: str) -> list[SigningKey]:
        """Every key of ``purpose``, retired ones included (they still verify what they signed)."""
        return list(self._signing[purpose])

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        for keys in self._signing.values():
            for key in keys:
                if key.kid == kid:
                    return key.public
        return None

    def jwks(self) -> list[dict[str, str]]:
        return [public_jwk(k.public, kid=k.kid) for k in self._signing["platform"]]

    def rotate_signing(self, purpose: str = "platform") -> SigningKey:
        if self._key_dir is None:
            raise KeyError_("keys given by the environment are rotated by the environment")
        new = SigningKey.generate()
        folder = self._key_dir / "signing" / purpose
        _write_secret(folder / f"{new.kid}.key", b64url(new.seed))
        _write_secret(folder / "current", new.kid)
        self._signing[purpose].append(new)
        self._current_signing[purpose] = new.kid
        return new

    # -- key encryption --------------------------------------------------------------------------------------
    @property
    def current_kek_id(self) -> str:
        return self._current_kek

    def wrap(self, key: bytes) -> tuple[str, bytes]:
        """Wrap a data key under the current KEK (RFC 3394 AES key wrap); returns ``(kek_id, wrapped)``."""
        return self._current_kek, aes_key_wrap(self._keks[self._current_kek], key)

    def unwrap(self, kek_id: str, wrapped: bytes) -> bytes:
        kek = self._keks.get(kek_id)
        if kek is None:
            raise KeyError_(f"unknown key-encryption key {kek_id}")
        try:
            return aes_key_unwrap(kek, wrapped)
        except InvalidUnwrap as exc:
            raise KeyError_("a wrapped data key failed its integrity check") from exc

    def rotate_kek(self) -> str:
        if self._key_dir is None:
            raise KeyError_("keys given by the environment are rotated by the environment")
        self._current_kek = self._new_kek_file(self._key_dir / "kek", self._keks)
        return self._current_kek
