"""Generated certificates carry what the apiserver and clients check."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ome.testing import pki


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_generated_pki(tmp_path: Path) -> None:
    keys = pki.generate(tmp_path)
    ca = load(keys.ca.cert)
    server = load(keys.apiserver.cert)
    admin = load(keys.admin.cert)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert server.issuer == ca.subject == admin.issuer
    names = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    usage = admin.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage
    groups = admin.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    assert [g.value for g in groups] == ["system:masters"]
    assert keys.admin.key.stat().st_mode & 0o777 == 0o600
    assert keys.service_account_pub.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
