#!/usr/bin/env bash
# The committed OpenAPI document must give a working client with a mainstream generator:
# openapi-python-client (from PyPI, into target/openapi-client-venv) generates a Python client
# from openapi/openapi.json with scripts/openapi-client.yaml, and every module of it must
# import. The check fails when the generator refuses the document, warns about any part of it
# (it leaves such operations out), or the client does not import.
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${PEKEN_OPENAPI_CLIENT_VENV:-target/openapi-client-venv}"
# Absolute, since the import check below runs inside the generated client.
case "$venv" in /*) ;; *) venv="$PWD/$venv" ;; esac
if [ ! -x "$venv/bin/openapi-python-client" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'openapi-python-client==0.29.1'
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
"$venv/bin/openapi-python-client" generate --path openapi/openapi.json \
  --output-path "$work/client" --config scripts/openapi-client.yaml \
  >"$work/generate.log" 2>&1 || status=$?
cat "$work/generate.log"
if [ "$status" -ne 0 ] || grep -qiE 'warning|error|unsupported|not be generated' "$work/generate.log"; then
  echo "openapi-python-client refused or warned about openapi/openapi.json" >&2
  exit 1
fi
cd "$work/client"
"$venv/bin/python" - <<'PY'
import importlib
import pkgutil

import peken_client

modules = [m.name for m in pkgutil.walk_packages(peken_client.__path__, "peken_client.")]
for name in modules:
    importlib.import_module(name)
operations = [m for m in modules if m.startswith("peken_client.api.") and m.count(".") == 3]
print(f"openapi-python-client: {len(operations)} operations, {len(modules)} modules, all import")
PY
