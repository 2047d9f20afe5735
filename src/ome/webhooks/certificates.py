"""The webhook server's own certificates, for clusters without cert-manager.

A self-signed CA (ten years) signs a serving certificate (one year) for the names the API
server will dial: the Service's DNS names, or the host of a ``url`` clientConfig (an IP
address for ``ome run --local``). The API server trusts the CA through the ``caBundle``
of the webhook configurations. Everything is PEM, laid out as in a ``kubernetes.io/tls``
Secret (``tls.crt``, ``tls.key``, ``ca.crt``) — the layout cert-manager writes too. ECDSA
P-256 keeps generation fast."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, replace

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_VALIDITY = datetime.timedelta(days=3650)
CA_KEY_USAGE = x509.KeyUsage(
    digital_signature=True,
    content_commitment=False,
    key_encipherment=False,
    data_encipherment=False,
    key_agreement=False,
    key_cert_sign=True,
    crl_sign=True,
    encipher_only=False,
    decipher_only=False,
)
"""What a certificate authority's key may do: sign certificates and revocation lists."""
SERVING_VALIDITY = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)
"""A serving certificate this close to expiry is replaced."""
TLS_CERT, TLS_KEY, CA_CERT = "tls.crt", "tls.key", "ca.crt"


@dataclass(frozen=True)
class Bundle:
    """PEM bytes of the serving certificate, its key and the CA that signed it."""

    cert: bytes
    key: bytes
    ca: bytes

    def files(self) -> dict[str, bytes]:
        return {TLS_CERT: self.cert, TLS_KEY: self.key, CA_CERT: self.ca}


def service_hosts(namespace: str, name: str) -> tuple[str, ...]:
    """The names a Service is dialled by from inside the cluster."""
    return (
        name,
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.cluster.local",
    )


def _split(hosts: Sequence[str]) -> tuple[list[str], list[str]]:
    dns, ips = [], []
    for host in hosts:
        try:
            ips.append(str(ipaddress.ip_address(host)))
        except ValueError:
            dns.append(host)
    return dns, ips


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def generate(hosts: Sequence[str], now: datetime.datetime | None = None) -> Bundle:
    """A new CA and a serving certificate for ``hosts`` (DNS names or IP addresses)."""
    if not hosts:
        raise ValueError("a serving certificate needs at least one host")
    now = now or datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(minutes=5)  # clock skew between nodes
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ome-webhook-ca")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + CA_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(CA_KEY_USAGE, critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    dns, ips = _split(hosts)
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + SERVING_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Bundle(
        cert=cert.public_bytes(serialization.Encoding.PEM),
        key=_pem_key(key),
        ca=ca.public_bytes(serialization.Encoding.PEM),
    )


def successor(hosts: Sequence[str], previous: Bundle | None) -> Bundle:
    """A new CA and serving certificate replacing ``previous``, whose CA stays trusted: the
    bundle's CA file is the new CA followed by the previous one, so that while the other
    replicas still serve the previous certificate (until they follow the Secret) the API
    server, given this CA bundle, keeps trusting them."""
    fresh = generate(hosts)
    if previous is None:
        return fresh
    try:
        old = x509.load_pem_x509_certificates(previous.ca)[0]
    except (ValueError, IndexError):  # nothing usable to keep trusting
        return fresh
    return replace(fresh, ca=fresh.ca + old.public_bytes(serialization.Encoding.PEM))


def problem(
    bundle: Bundle, hosts: Sequence[str], now: datetime.datetime | None = None
) -> str | None:
    """Why ``bundle`` cannot serve ``hosts`` for at least :data:`RENEW_BEFORE`, or None:
    unreadable, not signed by its CA, missing a host, or expiring."""
    now = now or datetime.datetime.now(datetime.UTC)
    try:
        cert = x509.load_pem_x509_certificate(bundle.cert)
        ca = x509.load_pem_x509_certificate(bundle.ca)
        key = serialization.load_pem_private_key(bundle.key, password=None)
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature) as err:
        return f"unusable certificate: {err}"
    if key.public_key() != cert.public_key():
        return "the key does not belong to the certificate"
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return "the certificate names no hosts"
    dns, ips = _split(hosts)
    covered = set(names.get_values_for_type(x509.DNSName))
    covered |= {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    missing = [h for h in (*dns, *ips) if h not in covered]
    if missing:
        return f"the certificate does not name {', '.join(missing)}"
    for which, certificate in (("certificate", cert), ("CA", ca)):
        if certificate.not_valid_after_utc - now < RENEW_BEFORE:
            return f"the {which} expires on {certificate.not_valid_after_utc:%Y-%m-%d}"
    return None
