#!/usr/bin/env bash
# Installs the Debian packages a task needs when they are missing (as root), or says exactly what
# to install. Usage: scripts/ensure-system-deps.sh demo|test
#   demo: chromium (for report.pdf; without it the report is markdown only)
#   test: chromium, poppler-utils, openssh-server, stress-ng, postgresql, shellcheck, iproute2, sudo, python3,
#         nginx-light, python3-psycopg2 (the foreign test host's web server and report job, tests/fixtures/foreign-host),
#         prometheus, prometheus-alertmanager, prometheus-node-exporter (POST /alerts against a real alerting stack)
set -euo pipefail

usage() { echo "usage: $0 demo|test" >&2; exit 2; }
[ $# -eq 1 ] || usage

case "$1" in
  demo) wanted=(chromium:/usr/bin/chromium) ;;
  test)
    wanted=(
      chromium:/usr/bin/chromium
      poppler-utils:/usr/bin/pdftoppm
      openssh-server:/usr/sbin/sshd
      openssh-client:/usr/bin/ssh-keygen
      stress-ng:/usr/bin/stress-ng
      postgresql:/usr/lib/postgresql
      shellcheck:/usr/bin/shellcheck
      iproute2:/usr/sbin/ip
      sudo:/usr/bin/sudo
      python3:/usr/bin/python3
      procps:/usr/bin/pgrep
      psmisc:/usr/bin/fuser
      curl:/usr/bin/curl
      nginx-light:/usr/sbin/nginx
      python3-psycopg2:/usr/lib/python3/dist-packages/psycopg2
      prometheus:/usr/bin/prometheus
      prometheus-alertmanager:/usr/bin/prometheus-alertmanager
      prometheus-node-exporter:/usr/bin/prometheus-node-exporter
    )
    ;;
  *) usage ;;
esac

missing=()
for item in "${wanted[@]}"; do
  pkg=${item%%:*}
  path=${item#*:}
  [ -e "$path" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with: sudo apt-get install -y ${missing[*]}" >&2
  # The demo still works without a browser: report.md is written and the trace says why.
  [ "$1" = demo ] && exit 0
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Missing system packages: ${missing[*]} (and no apt-get here: install them with your package manager)" >&2
  [ "$1" = demo ] && exit 0
  exit 1
fi
echo "Installing system packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# Packages such as nginx and postgresql start a daemon of their own on install (port 80, 5432) where
# there is no systemd; the tests run theirs in namespaces. policy-rc.d exit 101 tells invoke-rc.d
# "not now", for this install only (an existing policy of the machine's is left alone).
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  policy=/usr/sbin/policy-rc.d
  printf '#!/bin/sh\n# scripts/ensure-system-deps.sh: no daemon starts while packages install\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "Installed: ${missing[*]}" >&2
