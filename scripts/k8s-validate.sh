#!/usr/bin/env bash
# Renders the Kubernetes manifests (deploy/k8s and deploy/k8s/migrate) and validates them against
# the Kubernetes API schemas that kubernetes-validate (from PyPI) ships, strictly (no unknown
# field), then checks what deploy/README.md says they promise (scripts/k8s_render.py check).
# Nothing is downloaded but the pip install: the schemas are in the package.
#
#   scripts/k8s-validate.sh                 # against Kubernetes 1.30 (PEKEN_K8S_VERSION)
#
# kustomize is rendered by scripts/k8s_render.py, which implements what these kustomizations
# use; when `kubectl` is on the machine its `kubectl kustomize` must render the same.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${PEKEN_K8S_VERSION:-1.30.0}"
venv="${PEKEN_K8S_VENV:-target/k8s-venv}"
if [ ! -x "$venv/bin/kubernetes-validate" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'kubernetes-validate==1.37.0'
fi
out=target/k8s
mkdir -p "$out"
"$venv/bin/python" scripts/k8s_render.py render deploy/k8s >"$out/app.yaml"
"$venv/bin/python" scripts/k8s_render.py render deploy/k8s/migrate >"$out/migrate.yaml"

if command -v kubectl >/dev/null && kubectl kustomize deploy/k8s >"$out/app.kubectl.yaml" 2>/dev/null \
  && kubectl kustomize deploy/k8s/migrate >"$out/migrate.kubectl.yaml" 2>/dev/null; then
  "$venv/bin/python" - "$out" <<'EOF'
import sys, yaml
out = sys.argv[1]
for name in ("app", "migrate"):
    key = lambda d: (d["kind"], d["metadata"]["name"])
    ours = sorted((d for d in yaml.safe_load_all(open(f"{out}/{name}.yaml")) if d), key=key)
    theirs = sorted((d for d in yaml.safe_load_all(open(f"{out}/{name}.kubectl.yaml")) if d), key=key)
    if ours != theirs:
        sys.exit(f"scripts/k8s_render.py and kubectl kustomize render {name} differently")
print("kubectl kustomize renders the same manifests")
EOF
fi

"$venv/bin/kubernetes-validate" --strict --quiet -k "$version" "$out/app.yaml" "$out/migrate.yaml"
echo "deploy/k8s: valid against the Kubernetes $version schemas"
"$venv/bin/python" scripts/k8s_render.py check "$out/app.yaml" "$out/migrate.yaml"
