"""Leader-election settings are checked when they are made."""

from __future__ import annotations

import datetime

import pytest

from ome.runtime.leaderelection import LeaderElectionConfig, micro_time


def config(**overrides: object) -> LeaderElectionConfig:
    values: dict[str, object] = {"name": "ome", "namespace": "ome-system", "identity": "a"}
    return LeaderElectionConfig(**(values | overrides))  # type: ignore[arg-type]


def test_defaults_are_controller_runtimes() -> None:
    settings = config()
    assert (settings.lease_duration, settings.renew_deadline, settings.retry_period) == (15, 10, 2)
    assert settings.path == "/apis/coordination.k8s.io/v1/namespaces/ome-system/leases/ome"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"renew_deadline": 15.0}, "lease_duration .* must be greater than renew_deadline"),
        ({"renew_deadline": 2.0}, r"renew_deadline .* must be greater than 1.2 x retry_period"),
        ({"retry_period": 0.0}, "must be > 0"),
        ({"identity": ""}, "non-empty identity"),
        ({"name": ""}, "lease name and namespace"),
    ],
)
def test_inconsistent_settings_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        config(**overrides)


def test_micro_time_is_utc_with_microseconds() -> None:
    moment = datetime.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=datetime.UTC)
    assert micro_time(moment) == "2026-01-02T03:04:05.000006Z"
