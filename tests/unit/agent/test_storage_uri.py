from __future__ import annotations

import pytest

from ome.agent.storage_uri import (
    AzureUri,
    GcsUri,
    GitHubUri,
    HfUri,
    LocalUri,
    OciUri,
    PvcUri,
    S3Uri,
    StorageUri,
    VendorUri,
    parse_storage_uri,
)


@pytest.mark.parametrize(
    ("uri", "parsed"),
    [
        ("hf://meta-llama/Llama-3.1-8B", HfUri("meta-llama/Llama-3.1-8B", "main")),
        ("hf://gpt2", HfUri("gpt2")),
        ("hf://org/model@v1.0", HfUri("org/model", "v1.0")),
        ("hf://org/model@refs/pr/1", HfUri("org/model", "refs/pr/1")),
        ("hf://Qwen/Qwen2.5_7B.x", HfUri("Qwen/Qwen2.5_7B.x")),
        ("local:///models/llama", LocalUri("/models/llama")),
        ("local:///models/llama/", LocalUri("/models/llama")),
        ("local:///models/../data/x", LocalUri("/data/x")),
        ("pvc://models/llama/8b", PvcUri("models", "llama/8b")),
        ("pvc://team-a:models/llama/", PvcUri("models", "llama", "team-a")),
        ("pvc://my.claim/x", PvcUri("my.claim", "x")),
        ("s3://my-bucket/models/llama", S3Uri("my-bucket", "models/llama")),
        ("s3://my-bucket@us-east-1/models", S3Uri("my-bucket", "models", "us-east-1")),
        ("s3://my-bucket", S3Uri("my-bucket")),
        ("oci://n/ns1/b/bucket/o/models/llama", OciUri("ns1", "bucket", "models/llama")),
        ("oci://n/ns1/b/bucket/o", OciUri("ns1", "bucket", "")),
        ("oci://ns1@us-ashburn-1/bucket/models", OciUri("ns1", "bucket", "models", "us-ashburn-1")),
        ("gs://bucket/path/to/model", GcsUri("bucket", "path/to/model")),
        ("az://acct/container/path", AzureUri("acct", "container", "path")),
        ("az://acct.blob.core.windows.net/container/p", AzureUri("acct", "container", "p")),
        ("github://owner/repo", GitHubUri("owner", "repo", "latest")),
        ("github://owner/repo@v2", GitHubUri("owner", "repo", "v2")),
        ("vendor://acme/models/llama/8b", VendorUri("acme", "models", "llama/8b")),
    ],
)
def test_parses(uri: str, parsed: StorageUri) -> None:
    assert parse_storage_uri(uri) == parsed


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("llama", "unknown scheme"),
        ("ftp://host/model", "unknown scheme"),
        ("hf://", "nothing after hf://"),
        ("hf://org/model@", "empty revision"),
        ("hf://org/team/model", "'org/model' or 'model'"),
        ("hf://org/-model", "start and end with a letter or digit"),
        ("hf://org/mo--del", "without '--'"),
        ("hf:///model", "model id part ''"),
        (f"hf://org/{'a' * 97}", "longer than 96"),
        ("local://models/llama", "must be absolute"),
        ("pvc://claim", "missing subpath"),
        ("pvc://claim/", "missing subpath"),
        ("pvc://Claim/x", "not a valid PersistentVolumeClaim name"),
        ("pvc://:claim/x", "not a valid namespace name"),
        ("pvc://ns:/x", "claim '' is not a valid"),
        ("pvc://claim/a/../../etc", "must not contain '..'"),
        ("s3://B/x", "bucket 'B'"),
        ("s3://bucket@/x", "empty region"),
        ("oci://n/ns/b/bucket", "expected oci://n/"),
        ("oci://bucket/prefix", "expected oci://n/"),
        ("gs:///object", "missing bucket"),
        ("az://acct", "expected az://"),
        ("github://owner", "expected github://"),
        ("github://owner/repo@", "empty tag"),
        ("vendor://acme/models", "expected vendor://"),
    ],
)
def test_rejects_with_the_problem_named(uri: str, problem: str) -> None:
    with pytest.raises(ValueError, match="invalid storage URI") as raised:
        parse_storage_uri(uri)
    assert repr(uri) in str(raised.value)
    assert problem in str(raised.value)


def test_scheme_is_known_from_the_type() -> None:
    assert parse_storage_uri("hf://org/model").scheme == "hf"
    assert parse_storage_uri("pvc://c/x").scheme == "pvc"
