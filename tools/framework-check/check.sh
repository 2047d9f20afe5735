#!/usr/bin/env bash
# ome-framework on its own, as a user gets it: build its wheel, install only that wheel
# (dependencies from the package index) into a fresh virtualenv, and check that
#  1. none of the operator's storage packages came along;
#  2. a project with pytest but without pytest-asyncio still runs its tests (the plugin is
#     opt-in), and opting in without pytest-asyncio fails with a clear usage error;
#  3. with ome-framework[testing], examples/widget_operator.py reconciles a Widget on a
#     control plane started from that virtualenv, and the project of docs/library.md
#     ("Writing your own operator"), written into an empty directory, passes its tests
#     with the plugin.
# Usage: tools/framework-check/check.sh [PYTHON]  (the control-plane binaries must be cached)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${1:-python3}"
work="$(mktemp -d -t ome-framework-check.XXXXXX)"
trap 'rm -rf "$work"' EXIT
forbidden="boto3 botocore huggingface-hub hf-xet fsspec httpx2"
step() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

step "building the framework wheel"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$work/dist" "$root/framework"
wheel="$(ls "$work"/dist/ome_framework-*.whl)"
echo "$wheel"

step "installing it alone into a fresh virtualenv"
"$python" -m venv "$work/venv"
bin="$work/venv/bin"
"$bin/pip" install --quiet "$wheel"
"$bin/pip" list --format=freeze | tee "$work/installed.txt"
site="$("$bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "site-packages: $(du -sm "$site" | cut -f1) MB"

no_operator_packages() {
    for name in $forbidden; do
        if "$bin/pip" show --quiet "$name" 2>/dev/null; then
            echo "FAIL: $name is installed" >&2
            exit 1
        fi
    done
    echo "none of: $forbidden"
}
no_operator_packages

step "a project without pytest-asyncio runs its own tests"
"$bin/pip" install --quiet pytest
(cd "$here/plain-project" && "$bin/python" -m pytest -q -p no:cacheprovider)
step "opting in without pytest-asyncio is a usage error"
set +e
(cd "$here/plain-project" && "$bin/python" -m pytest -q -p no:cacheprovider \
    -p ome.testing.pytest_plugin) >"$work/optin.txt" 2>&1
status=$?
set -e
cat "$work/optin.txt"
if [ "$status" -ne 4 ] || ! grep -q "pip install 'ome-framework\[testing\]'" "$work/optin.txt"; then
    echo "FAIL: expected a usage error (exit 4) naming pytest-asyncio, got exit $status" >&2
    exit 1
fi

step "installing ome-framework[testing]"
"$bin/pip" install --quiet "$wheel[testing]"
no_operator_packages

step "the Widget example operator against a control plane from this virtualenv"
(cd "$work" && "$bin/python" "$here/widget_smoke.py" "$root/examples")

step "the guide's project and its tests, using the plugin"
"$bin/python" "$here/guide.py" "$root/docs/library.md" "$work/widget-operator"
(cd "$work/widget-operator" && "$bin/python" -m pytest -q -p no:cacheprovider tests)

step "framework check passed"
