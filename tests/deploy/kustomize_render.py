"""Renders a kustomization the way `kubectl kustomize` does, for the features Fabric's
manifests use (resources, configMapGenerator, strategic-merge patches, replicas, images,
labels); anything else raises RenderError, so a new feature is never silently ignored.
Used by manifests_test.py, so its checks run with or without kubectl.
"""

import copy
import os
import re

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

class RenderError(Exception):
    pass


KUSTOMIZATION_FIELDS = ("apiVersion", "kind", "resources", "configMapGenerator", "patches",
                        "replicas", "images", "labels")
# The strategic-merge keys (patchMergeKey in k8s.io/api) of the lists a patch may merge into;
# any other list is replaced, as kustomize does. Container ports merge on containerPort, Service
# ports on port.
MERGE_KEYS = {"containers": ("name",), "initContainers": ("name",), "volumes": ("name",),
              "volumeMounts": ("mountPath",), "env": ("name",), "imagePullSecrets": ("name",),
              "ports": ("containerPort", "port")}


def load_documents(path):
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def check_supported(where, fields, supported):
    extra = sorted(set(fields) - set(supported))
    if extra:
        raise RenderError(f"{where}: {', '.join(extra)}: not supported by the renderer of "
                          "tests/deploy/kustomize_render.py; extend render() there")


def find_object(docs, kind, name, where):
    for doc in docs:
        if doc["kind"] == kind and doc["metadata"]["name"] == name:
            return doc
    raise RenderError(f"{where}: no {kind} named {name}")


def strategic_merge(target, patch, where):
    for key, value in patch.items():
        if key.startswith("$"):
            raise RenderError(f"{where}: patch directive {key}: not supported")
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            strategic_merge(target[key], value, where)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(target.get(key), list):
            for item in value:
                merge_key = next((k for k in MERGE_KEYS[key] if k in item), None)
                if merge_key is None:
                    raise RenderError(f"{where}: an item of {key} without {MERGE_KEYS[key][0]}")
                match = next((t for t in target[key] if t.get(merge_key) == item[merge_key]), None)
                if match is None:
                    target[key].append(copy.deepcopy(item))
                else:
                    strategic_merge(match, item, where)
        else:
            target[key] = copy.deepcopy(value)


def pod_specs(docs):
    for doc in docs:
        spec = doc.get("spec", {}).get("template", {}).get("spec")
        if isinstance(spec, dict):
            yield spec


def set_image(docs, image, where):
    check_supported(f"{where}: images", image, ("name", "newName", "newTag", "digest"))
    for pod in pod_specs(docs):
        for container in pod.get("containers", []) + pod.get("initContainers", []):
            # name[:tag][@digest]; a registry's :port is followed by a slash, a tag is not.
            name, tag = re.fullmatch(r"(.*?)((?::[^:/@]+)?(?:@.+)?)", container["image"]).groups()
            if name != image["name"]:
                continue
            suffix = (f"@{image['digest']}" if "digest" in image
                      else f":{image['newTag']}" if "newTag" in image else tag)
            container["image"] = image.get("newName", name) + suffix


def render(directory):
    """The objects `kubectl kustomize directory` builds, except that generated ConfigMaps keep
    their names (kustomize appends a hash of their content, and renames the references)."""
    where = os.path.relpath(os.path.join(directory, "kustomization.yaml"), REPO)
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        kustomization = yaml.safe_load(f)
    check_supported(where, kustomization, KUSTOMIZATION_FIELDS)
    docs = []
    for resource in kustomization.get("resources", []):
        path = os.path.normpath(os.path.join(directory, resource))
        docs += render(path) if os.path.isdir(path) else load_documents(path)
    for generator in kustomization.get("configMapGenerator", []):
        check_supported(f"{where}: configMapGenerator", generator, ("name", "files", "behavior"))
        data = {}
        for entry in generator.get("files", []):
            key, _, path = entry.rpartition("=")  # "key=path" or "path"
            with open(os.path.join(directory, path)) as f:
                data[key or os.path.basename(path)] = f.read()
        behavior = generator.get("behavior", "create")
        if behavior == "create":
            docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                         "metadata": {"name": generator["name"]}, "data": data})
        elif behavior in ("replace", "merge"):
            existing = find_object(docs, "ConfigMap", generator["name"], where)
            existing["data"] = data if behavior == "replace" else dict(existing["data"], **data)
        else:
            raise RenderError(f"{where}: configMapGenerator behavior {behavior}: not supported")
    for patch in kustomization.get("patches", []):
        check_supported(f"{where}: patches", patch, ("path",))
        for doc in load_documents(os.path.join(directory, patch["path"])):
            target = find_object(docs, doc["kind"], doc["metadata"]["name"], where)
            strategic_merge(target, doc, f"{where}: {patch['path']}")
    for replicas in kustomization.get("replicas", []):
        check_supported(f"{where}: replicas", replicas, ("name", "count"))
        find_object(docs, "Deployment", replicas["name"], where)["spec"]["replicas"] = \
            replicas["count"]
    for image in kustomization.get("images", []):
        set_image(docs, image, where)
    for labels in kustomization.get("labels", []):
        check_supported(f"{where}: labels", labels, ("pairs",))  # metadata only, as by default
        for doc in docs:
            doc["metadata"].setdefault("labels", {}).update(labels["pairs"])
    return docs
