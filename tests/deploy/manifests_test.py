#!/usr/bin/python3
"""Checks the Kubernetes manifests under deploy/kubernetes offline (no cluster):

    tests/deploy/manifests_test.py FABRIC_BINARY
    tests/deploy/manifests_test.py --write-prometheus-rule    # regenerate the PrometheusRule

The test renders every kustomization itself (resources, configMapGenerator, strategic-merge
patches, replicas, images, labels: what these kustomizations use; anything else fails as not
supported), so that these checks run on any machine, with or without kubectl:

  - Deployments, Services, ConfigMaps and PodDisruptionBudgets are valid against the Kubernetes
    API models of Debian's Python client (python3-kubernetes): no unknown field, no field of the
    wrong type, no required field missing. (`kubectl apply --dry-run=client` would need an API
    server for discovery, even with --validate=false, so it cannot run here.);
  - the pod fits Fabric: its config (the ConfigMap) passes `fabric serve --config ... --dry-run`
    in a directory laid out like the image, listens on 0.0.0.0 at the container ports the probes,
    the Service and the InferencePool use; liveness is /health and readiness /ready; the grace
    period covers the preStop pause plus server.drain_timeout_seconds; the pod runs as the
    Dockerfile's non-root user; card overlays ask the device plugin for one card per xrt card,
    whose bitstream is a kernels/hw fabric_<platform>_<profile>.xclbin in a mounted directory;
  - the InferencePool and HTTPRoute point at what the overlay deploys; the ServiceMonitor at the
    Service's metrics port;
  - monitoring/prometheus-rule.yaml is generated from deploy/prometheus: its spec.groups is the
    text of the rule files prometheus.yml loads, comments included (--write-prometheus-rule
    rewrites it from them), and holds exactly their rules.

With kubectl (kustomize v4 or later), `kubectl kustomize` must also build each kustomization
without an error or a warning (deprecated fields warn), build the same objects the test rendered,
and give generated ConfigMaps a hash of their content in their names (so a config change rolls the
pods). Without one (Debian 12's kubernetes-client 1.20 embeds kustomize v2.0.3, which cannot read
current kustomizations), only those kubectl checks are skipped, said so in the output, and the
rest decides the exit status. KUBECTL names the kubectl to use; KUBECTL=none runs as without one.
"""

import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import kubernetes.client
import yaml

from kustomize_render import RenderError, pod_specs, render

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KUBERNETES_DIR = os.path.join(REPO, "deploy", "kubernetes")
PROMETHEUS_DIR = os.path.join(REPO, "deploy", "prometheus")
PROMETHEUS_RULE = os.path.join(KUBERNETES_DIR, "monitoring", "prometheus-rule.yaml")
# Maps of resource quantities: YAML numbers are valid there (e.g. a card count).
QUANTITY_MAPS = ("limits", "requests")
FPGA_RESOURCE = re.compile(r"^(amd\.com/xilinx_|xilinx\.com/fpga-xilinx_)[a-z0-9_]+-\d+$")
# What kernels/hw/Makefile names a bitstream: fabric_<platform>_<profile>.xclbin.
XCLBIN_NAME = re.compile(r"^fabric_([a-z0-9]+)_(unified|prefill|decode)\.xclbin$")

failures = []


def fail(message):
    failures.append(message)
    print(f"manifests_test: FAIL: {message}", flush=True)


def log(message):
    print(f"manifests_test: {message}", flush=True)


# --- the kustomizations: kustomize_render.py ---

# --- kubectl kustomize, when there is one new enough ---

def find_kubectl():
    """(path, kustomize version) of a kubectl that can build these kustomizations, or (None,
    why not)."""
    kubectl = os.environ.get("KUBECTL")
    if kubectl is None:
        kubectl = shutil.which("kubectl")
    elif kubectl in ("", "none"):
        return None, "none (KUBECTL=none)"
    if not kubectl:
        return None, "none on PATH"
    try:
        out = subprocess.run([kubectl, "version", "--client", "-o", "json"], capture_output=True,
                             text=True, timeout=60, stdin=subprocess.DEVNULL).stdout
        version = json.loads(out).get("kustomizeVersion", "")
    except (OSError, ValueError, subprocess.SubprocessError):
        version = ""
    match = re.match(r"v(\d+)", version)
    if not match or int(match.group(1)) < 4:
        return None, f"{kubectl}, kustomize {version or 'older than v4'}"
    return kubectl, version


def canonical(value):
    """`value` with the order of lists of objects (containers, ports, volumes) dropped."""
    if isinstance(value, dict):
        return {key: canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [canonical(item) for item in value]
        if all(isinstance(item, dict) for item in items):
            items.sort(key=lambda item: json.dumps(item, sort_keys=True))
        return items
    return value


def compare_with_kubectl(kubectl, directory, rendered):
    where = os.path.relpath(directory, REPO)
    result = subprocess.run([kubectl, "kustomize", directory], capture_output=True, text=True,
                            timeout=120, stdin=subprocess.DEVNULL)
    if result.returncode != 0 or result.stderr.strip():
        return fail(f"kubectl kustomize {where}: exit {result.returncode}: "
                    f"{result.stderr.strip()}")
    built = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    # Generated ConfigMaps: kustomize names them <name>-<hash of the content>, and renames every
    # reference, so that a new config rolls the pods.
    plain = {d["metadata"]["name"] for d in rendered if d["kind"] == "ConfigMap"}
    renamed = {}
    for doc in built:
        match = re.fullmatch(r"(.+)-[a-z0-9]{10}", doc["metadata"]["name"])
        if doc["kind"] == "ConfigMap" and match and match.group(1) in plain:
            renamed[doc["metadata"]["name"]] = match.group(1)
    for pod in pod_specs(built):
        for volume in pod.get("volumes", []):
            name = volume.get("configMap", {}).get("name")
            if name and name not in renamed:
                fail(f"{where}: kubectl mounts ConfigMap {name}, whose name has no content hash: "
                     "a config change would not roll the pods")

    def unhash(value):
        if isinstance(value, dict):
            return {key: unhash(item) for key, item in value.items()}
        if isinstance(value, list):
            return [unhash(item) for item in value]
        return renamed.get(value, value) if isinstance(value, str) else value

    def by_name(docs):
        return {(d["apiVersion"], d["kind"], d["metadata"]["name"]): canonical(d) for d in docs}

    ours, theirs = by_name(rendered), by_name(unhash(built))
    for key in sorted(set(ours) | set(theirs)):
        if ours.get(key) != theirs.get(key):
            diff = difflib.unified_diff(
                yaml.safe_dump(ours.get(key), sort_keys=True).splitlines(),
                yaml.safe_dump(theirs.get(key), sort_keys=True).splitlines(),
                "rendered by this test", "kubectl kustomize", lineterm="", n=2)
            fail(f"{where}: {key[1]}/{key[2]}: kubectl kustomize builds something else than "
                 "this test's renderer:\n" + "\n".join(list(diff)[:60]))
    return len(built)


# --- the PrometheusRule, generated from deploy/prometheus ---

def rule_files():
    """The rule files deploy/prometheus/prometheus.yml loads, in its order."""
    with open(os.path.join(PROMETHEUS_DIR, "prometheus.yml")) as f:
        listed = yaml.safe_load(f)["rule_files"]
    return [os.path.normpath(os.path.join(PROMETHEUS_DIR, path)) for path in listed]


def shipped_groups():
    groups = []
    for path in rule_files():
        with open(path) as f:
            groups += yaml.safe_load(f)["groups"]
    return groups


def generated_groups():
    """The PrometheusRule's spec.groups: each rule file's groups list, text and comments as they
    are, indented two more spaces (under `spec:`)."""
    text = ""
    for path in rule_files():
        with open(path) as f:
            source = f.read()
        match = re.search(r"^groups:[ \t]*\n", source, re.M)
        if not match or re.search(r"^[^\s#]", source[match.end():], re.M):
            raise RenderError(f"{os.path.relpath(path, REPO)}: want a top-level `groups:` with "
                              "indented items, and nothing after it")
        text += "".join("  " + line if line.strip() else line
                        for line in source[match.end():].splitlines(keepends=True))
    return text


def split_prometheus_rule():
    """(the lines up to `spec:` `groups:`, the rest) of the shipped PrometheusRule."""
    with open(PROMETHEUS_RULE) as f:
        text = f.read()
    match = re.search(r"^spec:\n  groups:\n", text, re.M)
    if not match:
        raise RenderError(f"{os.path.relpath(PROMETHEUS_RULE, REPO)}: want `spec:` then "
                          "`  groups:` on the next line")
    return text[:match.end()], text[match.end():]


def write_prometheus_rule():
    head, _ = split_prometheus_rule()
    with open(PROMETHEUS_RULE, "w") as f:
        f.write(head + generated_groups())
    log(f"wrote {os.path.relpath(PROMETHEUS_RULE, REPO)} from "
        f"{', '.join(os.path.relpath(p, REPO) for p in rule_files())}")


def check_prometheus_rule_file():
    where = os.path.relpath(PROMETHEUS_RULE, REPO)
    try:
        _, groups = split_prometheus_rule()
        expected = generated_groups()
    except (OSError, RenderError, yaml.YAMLError) as error:
        return fail(str(error))
    if groups == expected:
        log(f"{where}: spec.groups is the text of the {len(rule_files())} rule files")
    else:
        diff = difflib.unified_diff(groups.splitlines(), expected.splitlines(), where,
                                    "generated from deploy/prometheus/rules", lineterm="", n=1)
        fail(f"{where}: spec.groups differs from the rule files prometheus.yml loads; run "
             "tests/deploy/manifests_test.py --write-prometheus-rule\n" +
             "\n".join(list(diff)[:40]))
    on_disk = sorted(glob.glob(os.path.join(PROMETHEUS_DIR, "rules", "*.yml")))
    if sorted(rule_files()) != on_disk:
        fail(f"deploy/prometheus/prometheus.yml loads "
             f"{[os.path.relpath(p, REPO) for p in rule_files()]}, but rules/ holds "
             f"{[os.path.relpath(p, REPO) for p in on_disk]}")


# --- schema: the generated API models of the Python client ---

def check_schema(value, type_name, path, attribute=""):
    """Walks `value` against the client's model type `type_name`, strictly."""
    if type_name.startswith("list["):
        if not isinstance(value, list):
            return fail(f"{path}: want a list, got {value!r}")
        for i, item in enumerate(value):
            check_schema(item, type_name[5:-1], f"{path}[{i}]")
    elif type_name.startswith("dict("):
        if not isinstance(value, dict):
            return fail(f"{path}: want a map, got {value!r}")
        inner = type_name[5:-1].split(", ", 1)[1]
        for key, item in value.items():
            if inner == "str" and attribute in QUANTITY_MAPS and isinstance(item, (int, float)):
                continue
            check_schema(item, inner, f"{path}.{key}")
    elif type_name == "str":
        if not isinstance(value, str):
            fail(f"{path}: want a string, got {value!r}")
    elif type_name == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            fail(f"{path}: want an integer, got {value!r}")
    elif type_name == "bool":
        if not isinstance(value, bool):
            fail(f"{path}: want true or false, got {value!r}")
    elif type_name in ("object", "float", "datetime"):
        pass  # int-or-string, numbers and times: the API server parses them
    else:
        model = getattr(kubernetes.client, type_name)
        if not isinstance(value, dict):
            return fail(f"{path}: want an object ({type_name}), got {value!r}")
        by_json_name = {json_name: python_name
                        for python_name, json_name in model.attribute_map.items()}
        for key, item in value.items():
            if key not in by_json_name:
                fail(f"{path}: unknown field {key!r} in {type_name}")
                continue
            python_name = by_json_name[key]
            check_schema(item, model.openapi_types[python_name], f"{path}.{key}", python_name)


def validate_core(doc, where):
    models = {("v1", "ConfigMap"): "V1ConfigMap", ("v1", "Service"): "V1Service",
              ("apps/v1", "Deployment"): "V1Deployment",
              ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget"}
    model = models.get((doc["apiVersion"], doc["kind"]))
    if model is None:
        return False
    check_schema(doc, model, f"{where}:{doc['kind']}/{doc['metadata']['name']}")
    try:  # the models' constructors reject missing required fields
        kubernetes.client.ApiClient()._ApiClient__deserialize(doc, model)
    except ValueError as error:
        fail(f"{where}: {doc['kind']}/{doc['metadata']['name']}: {error}")
    return True


# --- Fabric-specific checks ---

def image_user():
    with open(os.path.join(REPO, "deploy", "docker", "Dockerfile")) as f:
        users = re.findall(r"^USER\s+(\d+)(?::(\d+))?\s*$", f.read(), re.M)
    return int(users[-1][0]) if users else None


def image_layout(workdir):
    """A directory laid out like the image's /opt/fabric: the bundled model and the configs."""
    root = os.path.join(workdir, "opt-fabric")
    shutil.copytree(os.path.join(REPO, "models", "stories260K"),
                    os.path.join(root, "models", "stories260K"))
    shutil.copytree(os.path.join(REPO, "deploy", "configs"), os.path.join(root, "deploy", "configs"))
    return root


def dry_run(binary, config_text, root, where):
    path = os.path.join(root, "pod-config.yaml")
    with open(path, "w") as f:
        f.write(config_text)
    result = subprocess.run([binary, "serve", "--config", path, "--dry-run"], cwd=root,
                            capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        fail(f"{where}: fabric serve --dry-run rejects the ConfigMap's config: "
             f"{result.stdout}{result.stderr}")


def container_ports(container):
    return {port["name"]: port["containerPort"] for port in container.get("ports", [])}


def check_probe(container, kind, path, where):
    probe = container.get(kind)
    if not probe or probe.get("httpGet", {}).get("path") != path:
        return fail(f"{where}: {kind} must GET {path}")
    if probe["httpGet"]["port"] not in container_ports(container):
        fail(f"{where}: {kind} uses port {probe['httpGet']['port']!r}, not a container port")


def prestop_seconds(container):
    command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", [])
    return float(command[1]) if len(command) == 2 and command[0] == "sleep" else 0.0


def check_deployment(deployment, docs, binary, root, where):
    pod = deployment["spec"]["template"]
    labels = pod["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    if any(labels.get(k) != v for k, v in selector.items()):
        fail(f"{where}: the Deployment's selector does not match its pod labels")
    containers = {c["name"]: c for c in pod["spec"]["containers"]}
    fabric = containers.get("fabric")
    if not fabric:
        return fail(f"{where}: no container named fabric")
    check_probe(fabric, "livenessProbe", "/health", where)
    check_probe(fabric, "readinessProbe", "/ready", where)
    check_probe(fabric, "startupProbe", "/health", where)

    config_maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
    mount = next((m for m in fabric.get("volumeMounts", []) if m["mountPath"] == "/etc/fabric"),
                 None)
    args = fabric.get("args", [])
    if not mount or "--config" not in args or \
            not args[args.index("--config") + 1].startswith("/etc/fabric/"):
        return fail(f"{where}: fabric must read --config from the ConfigMap at /etc/fabric")
    config_map = config_maps.get(volumes[mount["name"]].get("configMap", {}).get("name"))
    if not config_map:
        return fail(f"{where}: the config volume names no ConfigMap of this build")
    config_text = config_map["data"][os.path.basename(args[args.index("--config") + 1])]
    config = yaml.safe_load(config_text)
    dry_run(binary, config_text, root, where)

    server = config.get("server", {})
    ports = container_ports(fabric)
    if server.get("host") != "0.0.0.0":
        fail(f"{where}: server.host is {server.get('host')!r}: probes and Services need 0.0.0.0")
    if (ports.get("http"), ports.get("grpc")) != (server.get("http_port", 8080),
                                                  server.get("grpc_port", 50051)):
        fail(f"{where}: container ports {ports} differ from the config's {server}")
    drain = server.get("drain_timeout_seconds", 30)
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    if grace < drain + prestop_seconds(fabric):
        fail(f"{where}: terminationGracePeriodSeconds {grace} < preStop "
             f"{prestop_seconds(fabric)} + drain_timeout_seconds {drain}")

    security = pod["spec"].get("securityContext", {})
    if not security.get("runAsNonRoot") or security.get("runAsUser") != image_user():
        fail(f"{where}: the pod must run as non-root uid {image_user()} (the image's USER)")

    xrt_cards = [c for c in config.get("cards", []) if c.get("kind") == "xrt"]
    fpga = {k: v for k, v in fabric.get("resources", {}).get("limits", {}).items()
            if "/" in k and k.split("/")[0] in ("amd.com", "xilinx.com")}
    if xrt_cards:
        if len(fpga) != 1 or not FPGA_RESOURCE.match(next(iter(fpga))) or \
                int(next(iter(fpga.values()))) != len(xrt_cards):
            fail(f"{where}: {len(xrt_cards)} xrt cards need that many of one device-plugin "
                 f"resource (amd.com/<shell>-<timestamp>), got {fpga}")
    elif fpga:
        fail(f"{where}: mock cards but the pod asks for {fpga}")
    mounts = [m["mountPath"].rstrip("/") + "/" for m in fabric.get("volumeMounts", [])]
    for card in xrt_cards:
        bitstream = card.get("bitstream", "")
        name = XCLBIN_NAME.match(os.path.basename(bitstream))
        if not name or not any(bitstream.startswith(m) for m in mounts) or \
                (fpga and f"_{name.group(1)}_" not in next(iter(fpga))):
            fail(f"{where}: card {card.get('id')}: bitstream {bitstream!r} must be a mounted "
                 "fabric_<platform>_<profile>.xclbin (kernels/hw) for the requested cards")
    return labels, ports


def check_service(service, labels, ports, where):
    if any(labels.get(k) != v for k, v in service["spec"]["selector"].items()):
        fail(f"{where}: Service {service['metadata']['name']} selects no Fabric pod")
    names = {p["name"]: p for p in service["spec"]["ports"]}
    for name in ("http", "grpc", "metrics"):
        if name not in names:
            fail(f"{where}: the Service has no port named {name}")
        elif names[name]["targetPort"] not in ports:
            fail(f"{where}: Service port {name} targets {names[name]['targetPort']!r}")


def check_inference_pool(docs, labels, ports, where):
    pools = [d for d in docs if d["kind"] == "InferencePool"]
    for pool in pools:
        spec = pool["spec"]
        if pool["apiVersion"] != "inference.networking.k8s.io/v1":
            fail(f"{where}: InferencePool apiVersion {pool['apiVersion']}")
        if any(labels.get(k) != v for k, v in spec["selector"]["matchLabels"].items()):
            fail(f"{where}: the InferencePool selects no Fabric pod")
        if [p["number"] for p in spec["targetPorts"]] != [ports["http"]]:
            fail(f"{where}: InferencePool targetPorts {spec['targetPorts']} != REST port")
        ref = spec.get("endpointPickerRef", {})
        if not ref.get("name") or "number" not in ref.get("port", {}):
            fail(f"{where}: endpointPickerRef needs a Service name and port")
    names = {p["metadata"]["name"] for p in pools}
    for route in (d for d in docs if d["kind"] == "HTTPRoute"):
        for rule in route["spec"]["rules"]:
            for backend in rule["backendRefs"]:
                if backend.get("kind") == "InferencePool" and backend["name"] not in names:
                    fail(f"{where}: HTTPRoute points at a missing InferencePool {backend['name']}")
    return len(pools)


def check_monitoring(docs, base_docs, where):
    service = next((d for d in base_docs if d["kind"] == "Service"), None)
    if not service:
        return fail(f"{where}: the base builds no Service to monitor")
    port_names = {p["name"] for p in service["spec"]["ports"]}
    for monitor in (d for d in docs if d["kind"] == "ServiceMonitor"):
        selector = monitor["spec"]["selector"]["matchLabels"]
        if any(service["metadata"]["labels"].get(k) != v for k, v in selector.items()):
            fail(f"{where}: the ServiceMonitor does not select the Service")
        if any(e["port"] not in port_names for e in monitor["spec"]["endpoints"]):
            fail(f"{where}: ServiceMonitor ports {monitor['spec']['endpoints']} not in {port_names}")
    shipped = shipped_groups()
    rules = [d for d in docs if d["kind"] == "PrometheusRule"]
    if len(rules) != 1 or sorted(rules[0]["spec"]["groups"], key=lambda g: g["name"]) != \
            sorted(shipped, key=lambda g: g["name"]):
        fail(f"{where}: the PrometheusRule differs from deploy/prometheus/rules/*.yml")


def main():
    if sys.argv[1:] == ["--write-prometheus-rule"]:
        try:
            write_prometheus_rule()
        except (OSError, RenderError, yaml.YAMLError) as error:
            print(f"manifests_test: {error}", file=sys.stderr)
            return 1
        return 0
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    kubectl, version = find_kubectl()
    if not kubectl:
        log(f"SKIPPED: the kubectl kustomize checks (kubectl builds every kustomization without "
            f"an error or a warning, builds what this test renders, hashes generated ConfigMap "
            f"names) need kubectl with kustomize v4 or later; found {version}. Every other "
            f"check runs on this test's own rendering.")
    check_prometheus_rule_file()
    directories = sorted(os.path.dirname(p) for p in glob.glob(
        os.path.join(KUBERNETES_DIR, "**", "kustomization.yaml"), recursive=True))
    rendered = {}
    for directory in directories:
        try:
            rendered[directory] = render(directory)
        except RenderError as error:
            fail(str(error))
        except (OSError, yaml.YAMLError, KeyError, TypeError) as error:
            fail(f"{os.path.relpath(directory, REPO)}: cannot render: "
                 f"{type(error).__name__}: {error}")
    base_docs = rendered.get(os.path.join(KUBERNETES_DIR, "base"), [])
    pools = 0
    with tempfile.TemporaryDirectory(prefix="fabric-manifests-") as workdir:
        root = image_layout(workdir)
        for directory, docs in rendered.items():
            where = os.path.relpath(directory, REPO)
            core = sum(validate_core(doc, where) for doc in docs)
            deployments = [d for d in docs if d["kind"] == "Deployment"]
            for deployment in deployments:
                result = check_deployment(deployment, docs, binary, root, where)
                if result:
                    for service in (d for d in docs if d["kind"] == "Service"):
                        check_service(service, *result, where)
                    pools += check_inference_pool(docs, *result, where)
            if os.path.basename(directory) == "monitoring":
                check_monitoring(docs, base_docs, where)
            built = ("; kubectl kustomize builds the same"
                     if kubectl and compare_with_kubectl(kubectl, directory, docs) else "")
            log(f"{where}: {len(docs)} objects, {core} checked against the API models, "
                f"{len(deployments)} Deployment(s){built}")
    if pools == 0:
        fail("no overlay builds an InferencePool")
    if failures:
        log(f"{len(failures)} problem(s)")
        return 1
    if kubectl:
        log(f"passed ({len(directories)} kustomizations; kubectl kustomize {version})")
    else:
        log(f"passed ({len(directories)} kustomizations), except the kubectl kustomize checks: "
            "SKIPPED, no kubectl with kustomize v4 or later (see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
