"""Self-made certificates: a CA and a serving certificate for the hosts asked for, and
the checks that decide when to make new ones."""

from __future__ import annotations

import datetime
import ipaddress

from cryptography import x509

from ome.webhooks.certificates import (
    RENEW_BEFORE,
    SERVING_VALIDITY,
    Bundle,
    generate,
    problem,
    service_hosts,
    successor,
)

HOSTS = service_hosts("ome", "ome-webhook-server-service")


def test_service_hosts_include_the_cluster_names() -> None:
    assert "ome-webhook-server-service.ome.svc" in HOSTS
    assert "ome-webhook-server-service.ome.svc.cluster.local" in HOSTS


def test_a_fresh_certificate_serves_its_hosts_and_is_signed_by_its_ca() -> None:
    bundle = generate((*HOSTS, "127.0.0.1"))
    assert problem(bundle, (*HOSTS, "127.0.0.1")) is None
    cert = x509.load_pem_x509_certificate(bundle.cert)
    ca = x509.load_pem_x509_certificate(bundle.ca)
    cert.verify_directly_issued_by(ca)
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_a_certificate_for_other_hosts_is_not_reused() -> None:
    bundle = generate(("127.0.0.1",))
    assert "does not name" in (problem(bundle, HOSTS) or "")


def test_a_certificate_near_expiry_is_not_reused() -> None:
    bundle = generate(HOSTS)
    later = datetime.datetime.now(datetime.UTC) + SERVING_VALIDITY - RENEW_BEFORE / 2
    assert "expires" in (problem(bundle, HOSTS, later) or "")


def test_mismatched_or_broken_files_are_not_reused() -> None:
    one, other = generate(HOSTS), generate(HOSTS)
    assert problem(Bundle(one.cert, other.key, one.ca), HOSTS) is not None
    assert problem(Bundle(one.cert, one.key, other.ca), HOSTS) is not None
    assert problem(Bundle(b"junk", one.key, one.ca), HOSTS) is not None


def test_a_successor_keeps_the_previous_ca_trusted() -> None:
    """While other replicas still serve the previous certificate, the CA bundle the API
    server is given must trust it too, or it refuses their answers."""
    previous = generate(["127.0.0.1"])
    renewed = successor(["127.0.0.1"], previous)
    assert problem(renewed, ["127.0.0.1"]) is None
    trusted = x509.load_pem_x509_certificates(renewed.ca)
    assert len(trusted) == 2
    leaf = x509.load_pem_x509_certificate(previous.cert)
    leaf.verify_directly_issued_by(trusted[1])
    # the one before is not kept: the bundle does not grow with every renewal
    assert len(x509.load_pem_x509_certificates(successor(["127.0.0.1"], renewed).ca)) == 2
    assert successor(["127.0.0.1"], None).ca.count(b"BEGIN CERTIFICATE") == 1
