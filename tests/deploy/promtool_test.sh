#!/usr/bin/env bash
# promtool accepts every shipped Prometheus file: the scrape config (with the rule files it
# loads), the rules, and the alerts' unit tests; and file_sd reads the example targets.
#
#   tests/deploy/promtool_test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../../deploy/prometheus"
command -v promtool >/dev/null || { echo "promtool_test: promtool is not installed" >&2; exit 1; }

promtool check config prometheus.yml
promtool check rules rules/*.yml
promtool test rules tests/*.yml
# Targets files are not checked by `check config`: each must be a list of {targets, labels}.
/usr/bin/python3 - targets/*.yml <<'PY'
import sys, yaml
for path in sys.argv[1:]:
    groups = yaml.safe_load(open(path))
    ok = isinstance(groups, list) and all(
        isinstance(g, dict) and set(g) <= {"targets", "labels"} and g.get("targets")
        and all(isinstance(t, str) and ":" in t for t in g["targets"]) for g in groups)
    if not ok:
        sys.exit(f"promtool_test: {path} is not a file_sd list of {{targets: [host:port], labels}}")
    print(f"promtool_test: {path}: {sum(len(g['targets']) for g in groups)} targets")
PY
echo "promtool_test: passed"
