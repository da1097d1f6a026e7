"""``--target kubernetes``: ``DIR/k8s/``, manifests that run the bundle's image as replicas.

- ``deployment.yaml``: the image (``--image``, default ``<name>:<version>``), readiness, liveness and
  startup probes on ``/ping``, resource requests and limits, a non-root, read-only, no-privilege security
  context (the image's uid 10001), ``PORT`` and ``WORKERS``;
- ``service.yaml``: a ClusterIP Service on port 80;
- ``hpa.yaml``: a HorizontalPodAutoscaler (``autoscaling/v2``) on CPU utilisation;
- ``pdb.yaml``: a PodDisruptionBudget keeping one replica through voluntary disruptions;
- ``kustomization.yaml``: lists them and names the image, so ``kustomize edit set image`` swaps it
  without editing the Deployment (``kubectl apply -k k8s/``).

    >>> dns_label("Churn_Model v2")
    'churn-model-v2'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.packaging.docker import UID


@dataclass(frozen=True)
class Resources:
    cpu_request: str = "500m"
    memory_request: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"


@dataclass(frozen=True)
class Cluster:
    """What the manifests say about the model and how many replicas run it."""

    name: str  # the model's name (a DNS label is made from it)
    image: str
    version: str | None = None
    digest: str | None = None
    replicas: int = 2
    max_replicas: int = 10
    cpu_target: int = 70  # percent of the CPU request the autoscaler aims for
    workers: int = 1
    resources: Resources = Resources()


def dns_label(text: str) -> str:
    """``text`` as a Kubernetes name (RFC 1123 label: lower case, digits and '-', at most 63)."""
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:63].strip("-")
    return label or "model"


def _labels(cluster: Cluster) -> dict[str, str]:
    labels = {"app.kubernetes.io/name": dns_label(cluster.name), "app.kubernetes.io/component": "model-server"}
    if cluster.version:
        labels["app.kubernetes.io/version"] = dns_label(cluster.version)
    labels["app.kubernetes.io/managed-by"] = "dockyard"
    return labels


def _probe(path: str, *, period: int, failures: int, delay: int = 0) -> dict[str, Any]:
    probe: dict[str, Any] = {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": 3,
        "failureThreshold": failures,
    }
    if delay:
        probe["initialDelaySeconds"] = delay
    return probe


def deployment(cluster: Cluster) -> dict[str, Any]:
    name = dns_label(cluster.name)
    selector = {"app.kubernetes.io/name": name}
    annotations = {"dockyard.io/model-name": cluster.name}
    if cluster.version:
        annotations["dockyard.io/model-version"] = cluster.version
    if cluster.digest:
        annotations["dockyard.io/model-digest"] = cluster.digest
    r = cluster.resources
    container = {
        "name": "model",
        "image": cluster.image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": 8080, "protocol": "TCP"}],
        "env": [{"name": "PORT", "value": "8080"}, {"name": "WORKERS", "value": str(cluster.workers)}],
        "startupProbe": _probe("/ping", period=5, failures=24),  # up to 2 minutes to load the model
        "readinessProbe": _probe("/ping", period=5, failures=3),
        "livenessProbe": _probe("/ping", period=15, failures=3),
        "resources": {
            "requests": {"cpu": r.cpu_request, "memory": r.memory_request},
            "limits": {"cpu": r.cpu_limit, "memory": r.memory_limit},
        },
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": UID,
            "runAsGroup": UID,
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108  the container's own scratch space
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": _labels(cluster), "annotations": annotations},
        "spec": {
            "replicas": cluster.replicas,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": _labels(cluster), "annotations": annotations},
                "spec": {
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": UID,
                        "runAsGroup": UID,
                        "fsGroup": UID,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "automountServiceAccountToken": False,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }


def service(cluster: Cluster) -> dict[str, Any]:
    name = dns_label(cluster.name)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": _labels(cluster)},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": name},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def autoscaler(cluster: Cluster) -> dict[str, Any]:
    name = dns_label(cluster.name)
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "labels": _labels(cluster)},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": cluster.replicas,
            "maxReplicas": max(cluster.max_replicas, cluster.replicas),
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": cluster.cpu_target},
                    },
                }
            ],
        },
    }


def disruption_budget(cluster: Cluster) -> dict[str, Any]:
    name = dns_label(cluster.name)
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": _labels(cluster)},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": name}}},
    }


def image_parts(image: str) -> dict[str, str]:
    """kustomize's ``images`` entry for ``image`` (``repo[:tag]`` or ``repo@sha256:...``): ``kustomize edit
    set image REPO=...`` replaces it.

    >>> image_parts("registry.example.com/churn:3")
    {'name': 'registry.example.com/churn', 'newTag': '3'}
    """
    if "@" in image:
        repo, digest = image.split("@", 1)
        return {"name": repo, "digest": digest}
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = image.rsplit(":", 1)
        return {"name": repo, "newTag": tag}
    return {"name": image}


MANIFESTS = {
    "deployment.yaml": deployment,
    "service.yaml": service,
    "hpa.yaml": autoscaler,
    "pdb.yaml": disruption_budget,
}


def write_kubernetes(directory: Path, cluster: Cluster) -> list[Path]:
    """Write ``directory/k8s/``; the files written."""
    import yaml

    folder = directory / "k8s"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, build in MANIFESTS.items():
        path = folder / filename
        path.write_text(yaml.safe_dump(build(cluster), sort_keys=False), encoding="utf-8")
        written.append(path)
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": list(MANIFESTS),
        "images": [image_parts(cluster.image)],
    }
    path = folder / "kustomization.yaml"
    path.write_text(yaml.safe_dump(kustomization, sort_keys=False), encoding="utf-8")
    written.append(path)
    return written
