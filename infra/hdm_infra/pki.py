"""A small private certificate authority for the local test/demo servers (TLS on 127.0.0.1 only).

``ensure_ca(folder)`` makes (once) a CA certificate and key; ``issue(ca, folder, name, ...)`` signs a server or
client certificate with it; ``ensure_self_signed(cert, key, hosts)`` makes a server certificate that is its own
trust anchor (the API emulators': clients trust the server's ``cert.pem`` itself). Keys are written mode 0600
into folders of mode 0700. Nothing here is meant for production certificates: the validity is long and the
names are loopback names.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


def _private_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder.chmod(0o700)
    return folder


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    data = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    path.chmod(0o600)


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _self_signed(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.CertificateBuilder]:
    """A new key and a certificate builder naming ``common_name`` as subject and issuer, valid for ten years."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
    )
    return key, builder


def ensure_ca(folder: Path, common_name: str = "hdm local test CA") -> CertFiles:
    """The CA in ``folder`` (``ca.pem``, ``ca.key``), created on first use."""
    folder = _private_folder(Path(folder))
    files = CertFiles(folder / "ca.pem", folder / "ca.key")
    if files.cert.exists() and files.key.exists():
        return files
    key, builder = _self_signed(common_name)
    cert = (
        builder
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                     content_commitment=False, key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(files.key, key)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def issue(ca: CertFiles, folder: Path, name: str, hosts: Sequence[str] = LOOPBACK_NAMES,
          client: bool = False, replace: bool = False) -> CertFiles:
    """A certificate ``<name>.pem`` + key ``<name>.key`` in ``folder`` signed by ``ca`` (created on first use).

    A server certificate names ``hosts`` (IP addresses or DNS names) in its subjectAltName; a client
    certificate (``client=True``) carries ``name`` as its common name and the clientAuth usage. ``replace``
    makes a new one even when the files exist.
    """
    folder = _private_folder(Path(folder))
    files = CertFiles(folder / f"{name}.pem", folder / f"{name}.key")
    if files.cert.exists() and files.key.exists() and not replace:
        return files
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=825))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                              else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_cert.public_key()), critical=False)
    )
    if not client:
        builder = builder.add_extension(_san(hosts), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    _write_key(files.key, key)
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files


def ensure_self_signed(cert_path: Path, key_path: Path, hosts: Sequence[str] = LOOPBACK_NAMES[:2],
                       common_name: str = "hdm local server") -> CertFiles:
    """A self-signed server certificate naming ``hosts`` at ``cert_path`` + key at ``key_path`` (created on first use).

    It is marked as a CA so that clients can trust the file itself (``requests``' ``verify=cert_path``).
    """
    cert_path, key_path = Path(cert_path), Path(key_path)
    _private_folder(cert_path.parent)
    files = CertFiles(cert_path, key_path)
    if cert_path.exists() and key_path.exists():
        key_path.chmod(0o600)
        return files
    key, builder = _self_signed(common_name)
    cert = (
        builder
        .add_extension(_san(hosts), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_key(key_path, key)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return files
