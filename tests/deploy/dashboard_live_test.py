#!/usr/bin/python3
"""A live Fabric, scraped by a live Prometheus that loads the shipped rules, answers every query
of the shipped Grafana dashboard.

    tests/deploy/dashboard_live_test.py FABRIC_BINARY

Starts `fabric serve` on four mock cards (tensor_parallel 2 x pipeline_parallel 2, so the
interconnect counters move) on free loopback ports, and Debian's prometheus with the shipped
deploy/prometheus/prometheus.yml: its global settings, rule files and `fabric` job, the job's
targets replaced by the daemon and the intervals shortened to 1 s. Once Prometheus has scraped
the idle daemon, sends completions, waits (bounded) until Prometheus has counted every generated
token and every recording rule has a value, then checks:
  - every rule evaluates without error, every recording rule returns series;
  - every target of every dashboard panel, with the dashboard's variables filled in, returns at
    least one series that is not all NaN; and the variables' label_values() queries find values.
    Panels on metrics that only real (XRT) cards report (temperature, power) may be empty, and
    are reported as skipped, but only while the daemon's /metrics really lacks those metrics;
  - the vLLM-named gauges the Gateway API Inference Extension reads are scraped;
  - promtool check metrics finds nothing in /metrics but the colons of the vllm: names.
Finally the daemon gets SIGTERM and must exit 0. Every wait is bounded. Both processes run in
sessions of their own, and their process groups are killed on any exit: an error, SIGTERM, SIGINT
or SIGHUP (Ctrl-C, `timeout`, a CI runner giving up); should this script be SIGKILLed (as a ctest
timeout does), the kernel kills them (PR_SET_PDEATHSIG).
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMETHEUS_DIR = os.path.join(REPO, "deploy", "prometheus")
DASHBOARD = os.path.join(REPO, "deploy", "grafana", "fabric-dashboard.json")
CONFIG = "deploy/configs/four-mock-cards.yaml"  # relative paths inside resolve from REPO
# Reported by XRT cards' sensors; a mock card has none.
HARDWARE_ONLY_METRICS = ("fabric_device_temperature_celsius", "fabric_device_power_watts")
# What the dashboard's variables stand for here: the one job, every instance, and a rate window
# that covers the whole run.
VARIABLES = {"$__rate_interval": "5m", "$instance": ".*", "$job": "fabric"}
GATEWAY_GAUGES = ("vllm:num_requests_waiting", "vllm:num_requests_running",
                  "vllm:kv_cache_usage_perc")

STARTUP_SECONDS = 30
WAIT_SECONDS = 30
SHUTDOWN_SECONDS = 45


class Failure(Exception):
    pass


class Stopped(Exception):
    """A signal asked this script to stop; the cleanup still runs."""

    def __init__(self, signum):
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)
children = []  # every process spawn() started, for the last sweep of the cleanup


def spawn(args, **kwargs):
    """Popen in a session and process group of its own (stop_group ends it), which the kernel
    SIGKILLs should this script die without cleaning up (SIGKILL)."""
    parent = os.getpid()

    def die_with_parent():  # in the child, before exec
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl
            os.kill(os.getpid(), signal.SIGKILL)

    process = subprocess.Popen(args, start_new_session=True, preexec_fn=die_with_parent, **kwargs)
    children.append(process)
    return process


def stop_group(process, grace_seconds=10):
    """SIGTERM to `process`'s process group, SIGKILL to what is left of it after `grace_seconds`
    (at once for 0), then reaps `process`. Reaping comes last: until then its pid, the group's id,
    cannot go to another process."""
    if process is None or process.returncode is not None:
        return  # never started, or reaped already (and it starts nothing of its own)
    try:
        if grace_seconds > 0:
            os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + grace_seconds
            while time.monotonic() < deadline and not os.waitid(
                    os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def on_stop_signal(signum, frame):
    raise Stopped(signum)


def log(message):
    print(f"dashboard_live_test: {message}", flush=True)


def wait_for(what, predicate, seconds=WAIT_SECONDS, interval=0.25):
    """Polls `predicate` until it returns something truthy; fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise Failure(f"timed out after {seconds}s waiting for {what}")
        time.sleep(interval)


def http(url, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, workdir, target):
        self.workdir = workdir
        self.config = os.path.join(workdir, "prometheus.yml")
        self.process = None
        self.api = None
        self._write_config(target)

    def _write_config(self, target):
        """The shipped config, pointed at `target` and sped up."""
        with open(os.path.join(PROMETHEUS_DIR, "prometheus.yml")) as f:
            shipped = yaml.safe_load(f)
        jobs = [job for job in shipped["scrape_configs"] if job["job_name"] == "fabric"]
        if len(jobs) != 1:
            raise Failure("deploy/prometheus/prometheus.yml has no scrape job named fabric")
        job = {key: value for key, value in jobs[0].items() if not key.endswith("_sd_configs")}
        job["static_configs"] = [{"targets": [target]}]
        config = {
            "global": dict(shipped.get("global", {}), scrape_interval="1s", scrape_timeout="1s",
                           evaluation_interval="1s"),
            "rule_files": [os.path.join(PROMETHEUS_DIR, rules) for rules in shipped["rule_files"]],
            "scrape_configs": [job],
        }
        with open(self.config, "w") as f:
            yaml.safe_dump(config, f)
        subprocess.run(["promtool", "check", "config", self.config], check=True,
                       stdout=subprocess.DEVNULL, timeout=60)
        self.rule_files = config["rule_files"]

    def start(self):
        # A port free when picked may be taken before Prometheus binds it: try a few.
        for _ in range(3):
            port = free_port()
            log_file = open(os.path.join(self.workdir, "prometheus.log"), "w")
            self.process = spawn(
                ["prometheus", f"--config.file={self.config}",
                 f"--storage.tsdb.path={os.path.join(self.workdir, 'tsdb')}",
                 f"--web.listen-address=127.0.0.1:{port}"],
                stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT)
            log_file.close()
            wait_for("prometheus to be ready",
                     lambda: self.process.poll() is not None or self._ready(port))
            if self.process.poll() is None:
                self.api = f"http://127.0.0.1:{port}/api/v1"
                log(f"prometheus ready on 127.0.0.1:{port}")
                return
            if "address already in use" not in self.log():
                raise Failure("prometheus exited")
        raise Failure("prometheus could not bind a port")

    @staticmethod
    def _ready(port):
        try:
            return http(f"http://127.0.0.1:{port}/-/ready", timeout=2) is not None
        except OSError:
            return False

    def log(self):
        with open(os.path.join(self.workdir, "prometheus.log")) as f:
            return f.read()

    def get(self, path, **params):
        url = f"{self.api}/{path}?{urllib.parse.urlencode(params, doseq=True)}"
        reply = json.loads(http(url, timeout=10))
        if reply["status"] != "success":
            raise Failure(f"{path} {params}: {reply}")
        return reply["data"]

    def query(self, expr):
        return self.get("query", query=expr)["result"]

    def stop(self):
        stop_group(self.process)


class Daemon:
    def __init__(self, binary, workdir):
        self.out_path = os.path.join(workdir, "fabric.out")
        self.err_path = os.path.join(workdir, "fabric.err")
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.process = spawn(
                [binary, "serve", "--config", CONFIG, "--host", "127.0.0.1", "--http-port", "0",
                 "--grpc-port", "0"], cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        match = wait_for("the daemon to print its ports", self._ports, STARTUP_SECONDS)
        self.address = match.group(1)
        self.url = f"http://{self.address}"
        log(f"fabric serving on {self.url}")

    def _ports(self):
        if self.process.poll() is not None:
            raise Failure(f"fabric exited with {self.process.returncode} at start-up")
        with open(self.out_path) as f:
            return re.search(r"^fabric: REST http://(\S+:\d+) +gRPC \S+$", f.read(), re.M)

    def output(self):
        with open(self.out_path) as out, open(self.err_path) as err:
            return out.read() + err.read()

    def drain(self):
        """SIGTERM; the daemon must finish and exit 0."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=SHUTDOWN_SECONDS)
        except subprocess.TimeoutExpired:
            raise Failure(f"fabric did not exit within {SHUTDOWN_SECONDS}s of SIGTERM")
        if code != 0:
            raise Failure(f"fabric exited with {code} after SIGTERM, want 0")

    def kill(self):
        stop_group(self.process, grace_seconds=0)


def send_traffic(daemon):
    """Eight requests, four at a time; returns the tokens they generated."""
    bodies = []
    for i, prompt in enumerate(["Once upon a time", "Lily and Tom", "The cat sat", "A dog"]):
        bodies.append(("/v1/completions", {"model": "stories260K", "prompt": prompt,
                                           "max_tokens": 24, "temperature": 0}))
        bodies.append(("/v1/chat/completions", {
            "model": "stories260K", "max_tokens": 24, "seed": i,
            "messages": [{"role": "user", "content": prompt}]}))
    generated, errors = [], []

    def run(path, body):
        try:
            generated.append(json.loads(http(daemon.url + path, body))["usage"]["completion_tokens"])
        except Exception as error:  # reported below, with the others
            errors.append(f"{path}: {error}")

    for batch in (bodies[:4], bodies[4:]):
        threads = [threading.Thread(target=run, args=item, daemon=True) for item in batch]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    if errors or len(generated) != len(bodies):
        raise Failure(f"requests failed: {errors}")
    return sum(generated)


def check_metrics_lint(daemon):
    """promtool's only complaint may be the colons of vLLM's names."""
    text = http(daemon.url + "/metrics")
    lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                          text=True, timeout=60)
    problems = [line for line in (lint.stdout + lint.stderr).splitlines()
                if line and not re.fullmatch(r"vllm:\w+ metric names should not contain ':'", line)]
    if lint.returncode not in (0, 3) or problems:
        raise Failure(f"promtool check metrics: exit {lint.returncode}: {problems}")
    return text


def recording_rules(rule_files):
    names = []
    for path in rule_files:
        with open(path) as f:
            for group in yaml.safe_load(f)["groups"]:
                names += [rule["record"] for rule in group["rules"] if "record" in rule]
    return sorted(set(names))


def fill_variables(expr):
    for name, value in VARIABLES.items():
        expr = expr.replace(name, value)
    if "$" in expr:
        raise Failure(f"unknown dashboard variable in {expr}")
    return expr


def check_structure(dashboard):
    """What Grafana needs to import it: unique ids, panels inside the 24-column grid and not on
    top of each other, every query on the dashboard's data source variable."""
    names = {v["name"] for v in dashboard["templating"]["list"]}
    if "datasource" not in names or dashboard.get("uid") is None:
        raise Failure("the dashboard needs a uid and a datasource variable")
    ids, cells = set(), set()
    for panel in dashboard["panels"]:
        grid = panel["gridPos"]
        if panel["id"] in ids or grid["x"] + grid["w"] > 24:
            raise Failure(f"panel '{panel['title']}': duplicate id or outside the grid")
        ids.add(panel["id"])
        area = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"])
                for y in range(grid["y"], grid["y"] + grid["h"])}
        if area & cells:
            raise Failure(f"panel '{panel['title']}' overlaps another")
        cells |= area
        for target in panel.get("targets", []):
            if panel["datasource"]["uid"] != "${datasource}" or not target.get("expr"):
                raise Failure(f"panel '{panel['title']}': a query off the datasource variable")


def check_variables(prometheus, dashboard):
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) \
            else variable["query"]
        match = re.fullmatch(r"label_values\((.+), *(\w+)\)", query)
        if not match:
            raise Failure(f"variable {variable['name']}: cannot check query {query}")
        series = prometheus.get("series", **{"match[]": fill_variables(match.group(1))})
        values = sorted({s[match.group(2)] for s in series if match.group(2) in s})
        if not values:
            raise Failure(f"variable {variable['name']}: {query} finds no values")
        log(f"variable ${variable['name']}: {values}")


def check_panels(prometheus, dashboard, exported):
    """Returns (checked, skipped) target counts; raises on the first panel without data."""
    checked, skipped, failures = 0, 0, []
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = fill_variables(target["expr"])
            result = prometheus.query(expr)
            label = f"panel '{panel['title']}' [{target['refId']}]"
            if not result:
                needs = [m for m in HARDWARE_ONLY_METRICS if m in expr]
                if needs and not any(m in exported for m in needs):
                    log(f"SKIPPED {label}: needs real cards ({', '.join(needs)} is absent on "
                        "mock cards)")
                    skipped += 1
                    continue
                failures.append(f"{label} returned no series: {expr}")
            elif all(sample["value"][1] == "NaN" for sample in result):
                failures.append(f"{label} returned only NaN: {expr}")
            else:
                log(f"ok {label}: {len(result)} series")
                checked += 1
    if failures:
        raise Failure("\n  ".join(["dashboard queries without data:"] + failures))
    return checked, skipped


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print(__doc__, file=sys.stderr)
        return 2
    for signum in STOP_SIGNALS:
        signal.signal(signum, on_stop_signal)
    workdir = tempfile.mkdtemp(prefix="fabric-dashboard-test-")
    daemon = prometheus = None
    try:
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        check_structure(dashboard)
        daemon = Daemon(sys.argv[1], workdir)
        prometheus = Prometheus(workdir, daemon.address)
        prometheus.start()
        # Traffic only after a scrape of the idle daemon, so that the rates see it arrive.
        wait_for("the first scrape", lambda: [s for s in prometheus.query('up{job="fabric"}')
                                              if s["value"][1] == "1"])
        generated = send_traffic(daemon)
        log(f"8 requests generated {generated} tokens")
        wait_for(f"fabric_generation_tokens_total == {generated} in prometheus",
                 lambda: [s for s in prometheus.query("fabric_generation_tokens_total")
                          if float(s["value"][1]) == generated])
        # Some series are born with the traffic (kernel launches by kernel), and rate() needs
        # two samples of each: wait for the scrape after the one that counted the tokens.
        counted_at = float(prometheus.query("timestamp(fabric_generation_tokens_total)")[0]
                           ["value"][1])
        wait_for("one more scrape", lambda: [
            s for s in prometheus.query('timestamp(up{job="fabric"})')
            if float(s["value"][1]) > counted_at])
        exported = check_metrics_lint(daemon)

        for name in recording_rules(prometheus.rule_files):
            wait_for(f"recording rule {name}", lambda name=name: prometheus.query(name))
        rules = [rule for group in prometheus.get("rules")["groups"] for rule in group["rules"]]
        broken = [f"{r['name']}: {r.get('lastError')}" for r in rules if r["health"] != "ok"]
        if broken:
            raise Failure(f"rules that do not evaluate: {broken}")
        log(f"{len(rules)} rules evaluate; every recording rule has series")

        for gauge in GATEWAY_GAUGES:
            if not prometheus.query(f'{gauge}{{job="fabric", model_name="stories260K"}}'):
                raise Failure(f"{gauge} is not scraped")
        check_variables(prometheus, dashboard)
        checked, skipped = check_panels(prometheus, dashboard, exported)
        daemon.drain()
        log(f"{checked} panel queries returned data, {skipped} skipped (need real cards), "
            "fabric drained and exited 0")
        return 0
    except (Failure, OSError, ValueError, subprocess.SubprocessError) as error:
        log(f"FAILED: {error}")
        if daemon:
            log("fabric output:\n" + daemon.output()[-3000:])
        if prometheus and prometheus.process:
            log("prometheus log:\n" + prometheus.log()[-3000:])
        return 1
    except Stopped as stop:
        log(f"FAILED: {stop}; stopping fabric and prometheus")
        return 128 + stop.signum
    finally:
        for signum in STOP_SIGNALS:  # let the cleanup finish
            signal.signal(signum, signal.SIG_IGN)
        if prometheus:
            prometheus.stop()
        if daemon:
            daemon.kill()
        for process in children:  # any started but not yet handed to daemon or prometheus
            stop_group(process, grace_seconds=0)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
