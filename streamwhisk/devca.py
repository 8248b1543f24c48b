"""A local certificate authority, made once per user, outside every project: the dev Ollama's TLS.

Course code reaches Ollama as `https://{AUTH}@{OLLAMA_HOST}`, so the dev Ollama must speak
TLS with a certificate that the project's code trusts. The CA lives in the user's data folder
(`$XDG_DATA_HOME/streamwhisk/ca`, `~/.local/share/streamwhisk/ca`, or `STREAMWHISK_CA_DIR`),
keys readable by the user only. `bundle.pem` is the public CAs (certifi's) plus this one:
what workers and test runs get as SSL_CERT_FILE and REQUESTS_CA_BUNDLE, so real HTTPS keeps
working beside the dev Ollama. Where the user names a bundle of their own (a company's CA, a
CI's), they get `bundle-<hash>.pem` instead: their bundle plus this CA, never less than theirs.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .paths import data_root

if TYPE_CHECKING:  # cryptography is imported only where a certificate is made
    from cryptography.hazmat.primitives.asymmetric import ec

# what requests, httpx (the ollama and openai clients), ssl and curl read their CAs from
BUNDLE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
SERVER_NAMES = ("localhost",)
SERVER_ADDRESSES = ("127.0.0.1", "::1")
CA_DAYS = 3650
SERVER_DAYS = 365


def ca_folder() -> Path:
    explicit = os.environ.get("STREAMWHISK_CA_DIR")
    return Path(explicit) if explicit else data_root() / "ca"


@dataclass(frozen=True)
class DevCA:
    folder: Path

    @property
    def ca_cert(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def server_cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.folder / "server-key.pem"

    @property
    def bundle(self) -> Path:
        return self.folder / "bundle.pem"

    def exists(self) -> bool:
        return self.bundle.is_file() and self.server_key.is_file()

    def owns(self, path: str) -> bool:
        return Path(path).resolve().parent == self.folder.resolve()

    def combined_with(self, bundles: list[str]) -> Path:
        """The user's bundles (files, or folders of certificates) and this CA in one file,
        made once per content; a bundle of ours already holds it and is taken as it is."""
        ours = [path for path in bundles if self.owns(path)]
        if ours:
            return Path(ours[0])
        parts = [_certificates(Path(path)) for path in bundles]
        text = "".join(parts) + self.ca_cert.read_text()
        combined = self.folder / f"bundle-{hashlib.sha256(text.encode()).hexdigest()[:16]}.pem"
        if not combined.is_file():
            _write(combined, text.encode(), 0o644)
        return combined

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_cert, self.server_key)
        return context


def trust_dev_ca(env: MutableMapping[str, str], user: Mapping[str, str] | None = None) -> bool:
    """Make `env` trust the user's dev CA beside the CAs it trusts already: where the user
    (`user`, by default `env` itself) names a bundle of their own in SSL_CERT_FILE,
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE, a bundle of theirs plus the dev CA, else the public
    CAs plus the dev CA. False when there is no CA yet."""
    ca = DevCA(ca_folder())
    if not ca.exists():
        return False
    user = env if user is None else user
    theirs = sorted({user[key] for key in BUNDLE_VARIABLES if user.get(key)})
    bundle = ca.bundle if not theirs else ca.combined_with(theirs)
    for key in BUNDLE_VARIABLES:
        if key != "CURL_CA_BUNDLE" or user.get(key):
            env[key] = str(bundle)
    return True


def dev_ca(folder: Path | None = None) -> DevCA:
    """The user's dev CA, made on first use; its server certificate renewed when it expires."""
    import certifi

    ca = DevCA(folder or ca_folder())
    ca.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_file = ca.folder / "ca-key.pem"
    if not key_file.is_file() or not ca.ca_cert.is_file():
        _make_ca(ca, key_file)
    if not ca.server_cert.is_file() or _expires_soon(ca.server_cert):
        _make_server_certificate(ca, key_file)
    expected = certifi.contents() + ca.ca_cert.read_text()
    if not ca.bundle.is_file() or ca.bundle.read_text() != expected:
        _write(ca.bundle, expected.encode(), 0o644)
    return ca


def _make_ca(ca: DevCA, key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                         f"streamwhisk dev CA ({os.getuid()})")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(key_file, _private_pem(key), 0o600)
    _write(ca.ca_cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    ca.server_cert.unlink(missing_ok=True)  # signed by the old CA, if any


def _make_server_certificate(ca: DevCA, key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    ca_certificate = x509.load_pem_x509_certificate(ca.ca_cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    names: list[x509.GeneralName] = [x509.DNSName(n) for n in SERVER_NAMES]
    names += [x509.IPAddress(ipaddress.ip_address(a)) for a in SERVER_ADDRESSES]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_certificate.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SERVER_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(ca.server_key, _private_pem(key), 0o600)
    _write(ca.server_cert, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _expires_soon(path: Path) -> bool:
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(path.read_bytes())
    remaining = certificate.not_valid_after_utc - datetime.datetime.now(datetime.UTC)
    return remaining < datetime.timedelta(days=7)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _certificates(path: Path) -> str:
    """The PEM text of a bundle file, or of every certificate file in a folder (unreadable
    ones are left out: they could not have been trusted either)."""
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    texts = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "-----BEGIN CERTIFICATE-----" in text:
            texts.append(text if text.endswith("\n") else text + "\n")
    return "".join(texts)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Whole or not at all: written beside, then renamed over."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.chmod(partial, mode)
    os.replace(partial, path)
