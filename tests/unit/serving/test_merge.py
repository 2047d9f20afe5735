"""Strategic merge of pod-spec-like objects."""

from __future__ import annotations

import copy

from ome.serving.merge import COMPONENT, POD, RUNNER, merge


def test_objects_merge_recursively_and_the_patch_wins() -> None:
    base = {"nodeSelector": {"a": "1", "b": "1"}, "dnsPolicy": "ClusterFirst"}
    patch = {"nodeSelector": {"b": "2", "c": "2"}}
    assert merge(base, patch, POD) == {
        "nodeSelector": {"a": "1", "b": "2", "c": "2"},
        "dnsPolicy": "ClusterFirst",
    }


def test_none_removes_a_key() -> None:
    assert merge({"a": 1, "b": 2}, {"a": None}) == {"b": 2}


def test_containers_merge_by_name_keeping_their_place() -> None:
    base = {"containers": [{"name": "main", "image": "a:1"}, {"name": "side", "image": "s:1"}]}
    patch = {"containers": [{"name": "extra", "image": "e:1"}, {"name": "main", "image": "a:2"}]}
    merged = merge(base, patch, POD)
    assert merged["containers"] == [
        {"name": "main", "image": "a:2"},
        {"name": "side", "image": "s:1"},
        {"name": "extra", "image": "e:1"},
    ]


def test_container_lists_merge_by_their_keys() -> None:
    base = {
        "containers": [
            {
                "name": "main",
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "1"}],
                "ports": [{"containerPort": 8080, "name": "http"}],
                "volumeMounts": [{"mountPath": "/dev/shm", "name": "dshm"}],
                "args": ["--a"],
            }
        ]
    }
    patch = {
        "containers": [
            {
                "name": "main",
                "env": [{"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
                "ports": [{"containerPort": 8080, "name": "web"}],
                "volumeMounts": [{"mountPath": "/data", "name": "data"}],
                "args": ["--b"],
            }
        ]
    }
    (main,) = merge(base, patch, POD)["containers"]
    assert main["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},
        {"name": "C", "value": "3"},
    ]
    assert main["ports"] == [{"containerPort": 8080, "name": "web"}]
    assert [m["mountPath"] for m in main["volumeMounts"]] == ["/dev/shm", "/data"]
    assert main["args"] == ["--b"]  # a container's args are replaced


def test_a_volume_keeps_only_the_fields_of_the_patch() -> None:
    base = {"volumes": [{"name": "cache", "emptyDir": {"medium": "Memory"}}]}
    patch = {"volumes": [{"name": "cache", "hostPath": {"path": "/cache"}}]}
    assert merge(base, patch, POD) == {
        "volumes": [{"name": "cache", "hostPath": {"path": "/cache"}}]
    }


def test_lists_without_a_merge_key_are_replaced() -> None:
    base = {"tolerations": [{"key": "a"}], "containers": [{"name": "m", "command": ["x", "y"]}]}
    patch = {"tolerations": [{"key": "b"}], "containers": [{"name": "m", "command": ["z"]}]}
    merged = merge(base, patch, POD)
    assert merged["tolerations"] == [{"key": "b"}]
    assert merged["containers"][0]["command"] == ["z"]


def test_runner_args_are_appended() -> None:
    assert merge({"args": ["--a"]}, {"args": ["--b"]}, RUNNER) == {"args": ["--a", "--b"]}


def test_a_component_merges_runner_leader_and_worker() -> None:
    base = {
        "minReplicas": 1,
        "annotations": {"a": "1"},
        "runner": {"name": "main", "args": ["--a"], "env": [{"name": "A", "value": "1"}]},
        "worker": {"runner": {"name": "w", "args": ["--w"]}, "size": 1},
    }
    patch = {
        "minReplicas": 2,
        "annotations": {"b": "2"},
        "runner": {"args": ["--b"], "env": [{"name": "B", "value": "2"}]},
        "worker": {"size": 3, "runner": {"args": ["--x"]}},
    }
    assert merge(base, patch, COMPONENT) == {
        "minReplicas": 2,
        "annotations": {"a": "1", "b": "2"},
        "runner": {
            "name": "main",
            "args": ["--a", "--b"],
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        },
        "worker": {"runner": {"name": "w", "args": ["--w", "--x"]}, "size": 3},
    }


def test_inputs_are_left_unchanged() -> None:
    base = {"containers": [{"name": "m", "env": [{"name": "A", "value": "1"}]}], "x": {"y": 1}}
    patch = {"containers": [{"name": "m", "env": [{"name": "A", "value": "2"}]}], "x": {"z": 2}}
    before = copy.deepcopy((base, patch))
    merge(base, patch, POD)
    assert (base, patch) == before
