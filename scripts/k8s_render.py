#!/usr/bin/env python3
"""Renders deploy/k8s's kustomizations and checks what the manifests promise.

    k8s_render.py render DIR          print the rendered manifests of the kustomization in DIR
    k8s_render.py check APP JOB       check the rendered app (deploy/k8s) and Job (migrate)

`kubectl kustomize` may not be on the machine (CI installs nothing beyond PyPI packages for
this), so `render` implements the part of kustomize these manifests use: `resources` (files or
directories with a kustomization), `components`, `namespace`, `labels` (`pairs` with
`includeSelectors: false`, which set metadata labels only) and `images` (`newName`, `newTag`).
Anything else in a kustomization is refused rather than ignored. scripts/k8s-validate.sh
compares the result with `kubectl kustomize` where that exists.
"""

import sys
from pathlib import Path

import yaml

KNOWN_KEYS = {"apiVersion", "kind", "namespace", "labels", "resources", "components", "images"}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


def load_kustomization(directory: Path) -> dict:
    data = yaml.safe_load((directory / "kustomization.yaml").read_text())
    unknown = set(data) - KNOWN_KEYS
    if unknown:
        sys.exit(f"{directory}/kustomization.yaml: not supported by this renderer: {sorted(unknown)}")
    for label in data.get("labels", []):
        if label.get("includeSelectors", False) or label.get("includeTemplates", False):
            sys.exit(f"{directory}: labels with selectors or templates are not supported")
    return data


def set_image(container: dict, images: list) -> None:
    image = container.get("image", "")
    name = image.split("@")[0].rsplit(":", 1)[0] if ":" in image.split("/")[-1] else image.split("@")[0]
    for entry in images:
        if entry["name"] == name:
            new_name = entry.get("newName", name)
            tag = entry.get("newTag")
            container["image"] = f"{new_name}:{tag}" if tag else new_name


def containers(doc: dict):
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec")
    if doc.get("kind") == "CronJob":
        pod = spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
    if not pod:
        return []
    return pod.get("containers", []) + pod.get("initContainers", [])


def render(directory: Path) -> list:
    k = load_kustomization(directory)
    docs = []
    for resource in k.get("resources", []):
        path = directory / resource
        if path.is_dir():
            docs.extend(render(path))
        else:
            docs.extend(d for d in yaml.safe_load_all(path.read_text()) if d)
    images = list(k.get("images", []))
    for component in k.get("components", []):
        c = load_kustomization(directory / component)
        if c.get("kind") != "Component":
            sys.exit(f"{directory / component} is not a Component")
        images.extend(c.get("images", []))
    for doc in docs:
        meta = doc.setdefault("metadata", {})
        if "namespace" in k and doc.get("kind") not in CLUSTER_SCOPED:
            meta["namespace"] = k["namespace"]
        for label in k.get("labels", []):
            meta.setdefault("labels", {}).update(label["pairs"])
        for container in containers(doc):
            set_image(container, images)
    return docs


def quantity(value) -> float:
    """A Kubernetes quantity (CPU or bytes) as a number."""
    value = str(value)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in units.items():
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * factor
    return float(value)


def check(app: list, job: list) -> list:
    problems = []
    by_kind = {}
    for doc in app:
        by_kind.setdefault(doc["kind"], []).append(doc)
    deployment = by_kind["Deployment"][0]
    config = by_kind["ConfigMap"][0]["data"]
    for hpa in by_kind.get("HorizontalPodAutoscaler", []):
        target = hpa["spec"]["scaleTargetRef"]
        if target["kind"] == "Deployment" and target["name"] == deployment["metadata"]["name"]:
            if "replicas" in deployment["spec"]:
                problems.append("the Deployment sets replicas, which its HorizontalPodAutoscaler owns")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    if container["readinessProbe"]["httpGet"]["path"] != "/readyz":
        problems.append("readiness is not /readyz (which depends on the primary database only)")
    if container["livenessProbe"]["httpGet"]["path"] != "/healthz":
        problems.append("liveness is not /healthz (the process answering)")
    limits = container["resources"]["limits"]
    concurrency = int(config["PEKEN_PASSWORD_HASH_CONCURRENCY"])
    if "cpu" not in limits or concurrency > quantity(limits["cpu"]):
        problems.append(f"PEKEN_PASSWORD_HASH_CONCURRENCY ({concurrency}) exceeds the CPU limit")
    hash_bytes = concurrency * int(config["PEKEN_PASSWORD_HASH_MEMORY_KIB"]) * 1024
    if hash_bytes > quantity(limits["memory"]) / 4:
        problems.append(
            f"password hashes take up to {hash_bytes / 2**20:.0f} MiB, more than a quarter of "
            f"the memory limit {limits['memory']}"
        )
    if int(config["PEKEN_HTTP_WORKERS"]) > quantity(limits["cpu"]):
        problems.append("PEKEN_HTTP_WORKERS exceeds the CPU limit")
    jobs = [d for d in job if d["kind"] == "Job"]
    if len(jobs) != 1:
        problems.append("deploy/k8s/migrate renders no single Job")
    else:
        job_image = jobs[0]["spec"]["template"]["spec"]["containers"][0]["image"]
        if job_image != container["image"]:
            problems.append(f"the Job runs {job_image}, the Deployment {container['image']}")
        if jobs[0]["spec"]["template"]["spec"]["containers"][0]["args"] != ["migrate"]:
            problems.append("the Job does not run `peken migrate`")
    if container["image"] == "peken":
        problems.append("the image was not set from deploy/k8s/image")
    return problems


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "render":
        yaml.safe_dump_all(render(Path(sys.argv[2])), sys.stdout, sort_keys=True)
    elif len(sys.argv) == 4 and sys.argv[1] == "check":
        app = [d for d in yaml.safe_load_all(Path(sys.argv[2]).read_text()) if d]
        job = [d for d in yaml.safe_load_all(Path(sys.argv[3]).read_text()) if d]
        problems = check(app, job)
        for problem in problems:
            print(f"deploy/k8s: {problem}", file=sys.stderr)
        if problems:
            sys.exit(1)
        print("deploy/k8s: no replicas under the autoscaler, readiness on the database only, "
              "hash concurrency within the CPU and memory limits, one image for the Job and "
              "the Deployment")
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
