"""The control plane's options: the service IP range (large by default, refused when not a
network) and the rate of its controllers' clients."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from ome.testing.controlplane import SERVICE_CIDR, ControlPlane


def test_the_default_range_holds_a_large_catalogue_and_keeps_clear_of_pods(
    tmp_path: Path,
) -> None:
    network = ipaddress.ip_network(SERVICE_CIDR)
    assert network.num_addresses - 2 >= 65_000
    # kube-apiserver refuses IPv4 ranges wider than a /12 (k8s.io/kubernetes v1.37.2
    # cmd/kube-apiserver/app/options/validation.go, maxCIDRBits = 20)
    assert network.prefixlen >= 12
    assert not network.overlaps(ipaddress.ip_network("10.244.0.0/16"))  # kwok's pods
    assert not network.overlaps(ipaddress.ip_network("127.0.0.0/8"))
    assert ControlPlane(run_dir=tmp_path).options.service_cidr == SERVICE_CIDR


@pytest.mark.parametrize("cidr", ["nonsense", "10.96.0.1/16", "10.96.0.0/33"])
def test_a_range_that_is_not_a_network_is_refused_with_its_value(cidr: str) -> None:
    with pytest.raises(ValueError, match=rf"service_cidr '{cidr}'"):
        ControlPlane(service_cidr=cidr)


def test_the_controllers_client_rate_is_their_default_unless_given(tmp_path: Path) -> None:
    assert ControlPlane(run_dir=tmp_path)._client_rate_args() == []
    raised = ControlPlane(run_dir=tmp_path, client_qps=400)
    assert raised._client_rate_args() == ["--kube-api-qps=400", "--kube-api-burst=800"]
    assert raised._client_rate() == {"qps": 400, "burst": 800}
