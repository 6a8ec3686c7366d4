#!/usr/bin/python3
"""The container image, as far as a machine without a Docker engine can check it:

    tests/deploy/docker_test.py FABRIC_BINARY

  - the Dockerfile (no hadolint in Debian, so a lint of its own): a pinned Debian 12 base
    shared by a build and a runtime stage, the build running deploy/install_deps.sh and building
    the `fabric` target, a numeric non-root USER, a HEALTHCHECK on /ready, exec-form ENTRYPOINT
    and CMD, EXPOSE matching the default config's ports, COPY sources that exist and that
    .dockerignore lets through;
  - deploy/docker/runtime_packages.sh names Debian packages, installed here, for every shared
    library the binary loads (what the runtime stage installs);
  - the runtime stage, run by hand: a directory laid out as the COPY lines lay out /opt/fabric,
    the entrypoint running the image's CMD (ports switched to free ones) as the image's user in a
    PID namespace of its own, so fabric is PID 1 as in a container; the HEALTHCHECK command then
    succeeds, and SIGTERM makes fabric drain and exit 0;
  - the entrypoint's two modes: mock without XRT, and XRT (XILINX_XRT, LD_LIBRARY_PATH) when an
    XRT directory is mounted; it refuses, naming the library, an XRT without the
    libxrt_coreutil.so.2 fabric is linked against.
"""

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCKERFILE = os.path.join(REPO, "deploy", "docker", "Dockerfile")
ENTRYPOINT = os.path.join(REPO, "deploy", "docker", "entrypoint.sh")
STARTUP_SECONDS = 30
SHUTDOWN_SECONDS = 45

failures = []


def fail(message):
    failures.append(message)
    print(f"docker_test: FAIL: {message}", flush=True)


def log(message):
    print(f"docker_test: {message}", flush=True)


def instructions():
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    with open(DOCKERFILE) as f:
        text = re.sub(r"\\\n", " ", "\n".join(
            line for line in f.read().splitlines() if not line.lstrip().startswith("#")))
    return [(m.group(1).upper(), m.group(2).strip())
            for m in (re.match(r"\s*(\w+)\s+(.*)", line) for line in text.splitlines()) if m]


def stages(steps):
    result, current = [], None
    for instruction, args in steps:
        if instruction == "FROM":
            current = {"from": args, "steps": []}
            result.append(current)
        elif current is not None:
            current["steps"].append((instruction, args))
    return result


def dockerignored(path):
    with open(os.path.join(REPO, ".dockerignore")) as f:
        patterns = [l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")]
    parts = path.split("/")
    return any(re.fullmatch(re.escape(p).replace(r"\*\*/", "(.*/)?").replace(r"\*", "[^/]*"),
                            "/".join(parts[:i + 1]))
               for p in patterns for i in range(len(parts)))


def check_dockerfile():
    steps = instructions()
    args = {m.group(1): m.group(2) for i, a in steps if i == "ARG"
            for m in [re.match(r"(\w+)=(\S+)", a)] if m}
    base = args.get("DEBIAN_IMAGE", "")
    if not re.fullmatch(r"debian:12\.\d+(-slim)?(@sha256:[0-9a-f]{64})?", base):
        fail(f"the base image must be a pinned Debian 12 point release, got {base!r}")
    built = stages(steps)
    if len(built) < 2 or any(not s["from"].startswith("${DEBIAN_IMAGE}") for s in built):
        fail("want a build and a runtime stage, both FROM ${DEBIAN_IMAGE}")
        return {}
    build, runtime = built[0], built[-1]
    runs = " ".join(a for i, a in build["steps"] if i == "RUN")
    if "deploy/install_deps.sh" not in runs or "--target fabric" not in runs:
        fail("the build stage must run deploy/install_deps.sh and build the fabric target")
    final = dict(runtime["steps"])  # the last of each instruction
    user = final.get("USER", "")
    if not re.fullmatch(r"[1-9]\d*(:\d+)?", user):
        fail(f"the runtime stage must end with a numeric non-root USER, got {user!r}")
    if "/ready" not in final.get("HEALTHCHECK", ""):
        fail("the runtime stage needs a HEALTHCHECK on /ready")
    for instruction in ("ENTRYPOINT", "CMD"):
        if not final.get(instruction, "").startswith("["):
            fail(f"{instruction} must be in exec form (a JSON array)")
    for instruction, arguments in runtime["steps"] + build["steps"]:
        if instruction == "COPY" and not arguments.startswith("--from"):
            for source in shlex.split(arguments)[:-1]:
                if source != "." and (not os.path.exists(os.path.join(REPO, source))
                                      or dockerignored(source)):
                    fail(f"COPY {source}: missing from the build context")
    cmd = yaml.safe_load(final.get("CMD", "[]"))
    config_path = cmd[cmd.index("--config") + 1]
    with open(os.path.join(REPO, config_path)) as f:
        server = yaml.safe_load(f)["server"]
    exposed = sorted(int(p) for p in final.get("EXPOSE", "").split())
    if exposed != sorted([server["http_port"], server["grpc_port"]]):
        fail(f"EXPOSE {exposed} differs from {config_path}'s ports")
    for pattern in (".git", "build"):
        if not dockerignored(pattern):
            fail(f".dockerignore must exclude {pattern}")
    log(f"Dockerfile: {len(built)} stages from {base}, USER {user}, CMD {cmd}")
    return {"cmd": cmd, "user": user, "healthcheck": final["HEALTHCHECK"],
            "copies": [shlex.split(a) for i, a in runtime["steps"]
                       if i == "COPY" and not a.startswith("--from")]}


def check_runtime_packages(binary):
    result = subprocess.run([os.path.join(REPO, "deploy", "docker", "runtime_packages.sh"),
                             binary], capture_output=True, text=True, timeout=120)
    packages = result.stdout.split()
    if result.returncode != 0 or "libc6" not in packages:
        return fail(f"runtime_packages.sh: exit {result.returncode}: {result.stderr}")
    for package in packages:
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package],
                                capture_output=True, text=True).stdout
        if "install ok installed" not in status:
            fail(f"runtime_packages.sh names {package}, which is not installed")
    log(f"runtime packages: {' '.join(packages)}")


def image_root(workdir, binary, copies):
    """/opt/fabric as the runtime stage's COPY lines lay it out, and the binary on PATH."""
    root = os.path.join(workdir, "opt-fabric")
    bindir = os.path.join(workdir, "bin")
    os.makedirs(bindir)
    shutil.copy(binary, os.path.join(bindir, "fabric"))
    shutil.copy(ENTRYPOINT, os.path.join(bindir, "fabric-entrypoint"))
    for source, destination in ((c[0], c[1]) for c in copies if not c[1].startswith("/")):
        shutil.copytree(os.path.join(REPO, source), os.path.join(root, destination))
    for directory, _, _ in os.walk(workdir):
        os.chmod(directory, 0o755)  # readable by the image's user
    return root, bindir


def run_as_container(image, root, bindir, workdir):
    """The CMD through the entrypoint as the image's user, fabric as PID 1 of its namespace."""
    cmd = [a for a in image["cmd"]]
    cmd[cmd.index("--host") + 1] = "127.0.0.1"
    cmd += ["--http-port", "0", "--grpc-port", "0"]
    uid, _, gid = image["user"].partition(":")
    wrapper = []
    if os.geteuid() == 0:
        wrapper = ["unshare", "--pid", "--fork", "--kill-child",
                   "setpriv", f"--reuid={uid}", f"--regid={gid or uid}", "--clear-groups"]
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "FABRIC_XRT_DIR": os.path.join(workdir, "no-xrt")}
    out_path, err_path = os.path.join(workdir, "out"), os.path.join(workdir, "err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        process = subprocess.Popen(wrapper + ["fabric-entrypoint"] + cmd, cwd=root, env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        match = None
        while not match and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
            with open(out_path) as f:
                match = re.search(r"^fabric: REST http://\S+:(\d+) ", f.read(), re.M)
        if not match:
            with open(out_path) as out, open(err_path) as err:
                return fail(f"fabric did not start: {out.read()} {err.read()}")
        with open(err_path) as f:
            if "mock mode" not in f.read():
                fail("the entrypoint did not report mock mode")
        healthcheck = re.sub(r"^(--\S+\s+)*CMD\s+", "", image["healthcheck"])
        health = subprocess.run(["sh", "-c", healthcheck], timeout=30, capture_output=True,
                                env={"PATH": "/usr/bin:/bin", "FABRIC_HTTP_PORT": match.group(1)})
        if health.returncode != 0:
            fail(f"the HEALTHCHECK command failed: {health.stderr}")
        # Under unshare, fabric is its child (setpriv and the entrypoint exec into it).
        children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True,
                                  text=True).stdout.split()
        target = int(children[0]) if wrapper and children else process.pid
        if wrapper:
            with open(f"/proc/{target}/status") as f:
                nspid = re.search(r"^NSpid:\s+(.*)$", f.read(), re.M).group(1).split()
            if nspid[-1] != "1":
                fail(f"fabric is PID {nspid[-1]} in its namespace, want 1 (the entrypoint execs)")
        os.kill(target, signal.SIGTERM)
        code = process.wait(timeout=SHUTDOWN_SECONDS)
        if code != 0:
            fail(f"fabric exited with {code} after SIGTERM, want 0")
        log(f"ran the image's CMD as uid {uid}{' and PID 1' if wrapper else ''}: healthy on "
            f"port {match.group(1)}, drained on SIGTERM, exit {code}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def linked_xrt_library(binary):
    """The libxrt_coreutil soname `binary` needs, which the entrypoint must require."""
    dynamic = subprocess.run(["readelf", "-d", binary], capture_output=True, text=True,
                             timeout=60).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(libxrt_coreutil\.so[.\d]*)\]", dynamic)
    with open(ENTRYPOINT) as f:
        required = re.search(r"^xrt_library=(\S+)$", f.read(), re.M)
    if not required or needed != [required.group(1)]:
        fail(f"the entrypoint requires {required and required.group(1)} of the host's XRT, but "
             f"fabric links {needed}")
    return required.group(1) if required else "libxrt_coreutil.so.2"


def check_entrypoint_modes(workdir, binary):
    library = linked_xrt_library(binary)
    other = library.rsplit(".", 1)[0] + ".99"  # another ABI's soname
    stub_dir = os.path.join(workdir, "stub")
    os.makedirs(stub_dir)
    with open(os.path.join(stub_dir, "fabric"), "w") as f:
        f.write('#!/bin/sh\necho "args=$* XILINX_XRT=${XILINX_XRT:-} LD=${LD_LIBRARY_PATH:-}"\n')
    os.chmod(os.path.join(stub_dir, "fabric"), 0o755)
    for xrt, libraries in (("xrt", (library, other)), ("xrt-other-abi", (other,))):
        os.makedirs(os.path.join(workdir, xrt, "lib"))
        for name in libraries:
            open(os.path.join(workdir, xrt, "lib", name), "w").close()

    def run(xrt):
        return subprocess.run(
            ["sh", ENTRYPOINT, "serve", "--dry-run"], capture_output=True, text=True, timeout=30,
            env={"PATH": f"{stub_dir}:/usr/bin:/bin", "FABRIC_XRT_DIR": os.path.join(workdir, xrt)})

    for mode, xrt in (("mock mode", "missing"), ("XRT mode", "xrt")):
        result = run(xrt)
        xrt_dir = os.path.join(workdir, "xrt")
        want = (f"XILINX_XRT={xrt_dir} LD={xrt_dir}/lib" if xrt == "xrt"
                else "XILINX_XRT= LD=")
        if result.returncode != 0 or mode not in result.stderr or \
                f"args=serve --dry-run {want}" not in result.stdout:
            fail(f"entrypoint, {mode}: exit {result.returncode}: {result.stdout!r} "
                 f"{result.stderr!r}")
    result = run("xrt-other-abi")
    if result.returncode == 0 or result.stdout or library not in result.stderr or \
            other not in result.stderr:
        fail(f"entrypoint, an XRT with {other} only: want a refusal naming both libraries, got "
             f"exit {result.returncode}: {result.stdout!r} {result.stderr!r}")
    log(f"entrypoint: mock mode without XRT; XRT mode, XILINX_XRT and LD_LIBRARY_PATH set, with "
        f"the {library} fabric links; a refusal with {other} only")


def main():
    if len(sys.argv) != 2 or not os.access(sys.argv[1], os.X_OK):
        print(__doc__, file=sys.stderr)
        return 2
    binary = os.path.abspath(sys.argv[1])
    image = check_dockerfile()
    check_runtime_packages(binary)
    with tempfile.TemporaryDirectory(prefix="fabric-docker-") as workdir:
        if image:
            root, bindir = image_root(workdir, binary, image["copies"])
            run_as_container(image, root, bindir, workdir)
        check_entrypoint_modes(workdir, binary)
    if failures:
        log(f"{len(failures)} problem(s)")
        return 1
    log("passed (no Docker engine here: the image itself was not built)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
