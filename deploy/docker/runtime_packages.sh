#!/usr/bin/env bash
# Prints the Debian packages that hold the shared libraries a binary loads, one per line, sorted:
# what the runtime image must install to run what the build image built.
#
#   deploy/docker/runtime_packages.sh build/fabric
#
# Fails, naming the library, when one is missing or belongs to no package (the runtime image
# would not start). Debian 12 ships libraries under both /lib and /usr/lib (merged /usr), and dpkg
# knows each by the path its package used, so every spelling is asked.
set -euo pipefail

binary=${1:?usage: runtime_packages.sh BINARY}
[[ -x "$binary" ]] || { echo "runtime_packages: $binary is not an executable" >&2; exit 1; }

if ldd "$binary" | grep -q 'not found'; then
  echo "runtime_packages: $binary needs libraries that are not installed:" >&2
  ldd "$binary" | grep 'not found' >&2
  exit 1
fi

# Lines look like "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)".
mapfile -t libraries < <(ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }')
spellings() {
  local library=$1
  echo "$library"
  readlink -f "$library"
  case "$library" in
    /usr/lib/*) echo "${library#/usr}" ;;
    /lib/*) echo "/usr$library" ;;
  esac
}

# One dpkg query for every spelling ("package:arch: /path" per line); unknown ones are skipped.
declare -A owner
while IFS= read -r line; do
  owner[${line#*: }]=${line%%:*}
done < <(for library in "${libraries[@]}"; do spellings "$library"; done | sort -u |
  xargs dpkg-query -S 2>/dev/null | grep -v '^diversion by' || true)

packages=()
for library in "${libraries[@]}"; do
  package=""
  while IFS= read -r path; do
    package=${owner[$path]:-}
    [[ -n "$package" ]] && break
  done < <(spellings "$library")
  if [[ -z "$package" ]]; then
    echo "runtime_packages: no Debian package holds $library" >&2
    exit 1
  fi
  packages+=("$package")
done

printf '%s\n' "${packages[@]}" | sort -u
