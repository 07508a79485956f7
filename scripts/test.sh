#!/usr/bin/env bash
# The whole test suite: system packages, typecheck, lint, build, unit then integration tests.
# Usage: npm test   (or: bash scripts/test.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/ensure-system-deps.sh test
# npm install, not npm ci: see .ci/run.
[ -d node_modules ] || npm install --no-audit --no-fund

echo "== typecheck"; npx tsc -p tsconfig.json --noEmit
echo "== lint"; npx eslint .
echo "== shellcheck"
mapfile -t shell_files < <(find chaos-scripts scripts vm_provisioning tests -name '*.sh' -type f | sort)
shellcheck -x "${shell_files[@]}" .ci/run
echo "== build"; npx tsc -p tsconfig.build.json

jest() { node --experimental-vm-modules node_modules/jest/bin/jest.js "$@"; }
echo "== unit tests"; jest --selectProjects unit
# Integration tests share real resources (sshd, the sandbox host, PostgreSQL): one file at a time.
# Real servers, browsers and hosts: 30 s per test unless it says otherwise (jest's 5 s trips on a busy machine).
echo "== integration tests"; jest --selectProjects integration --runInBand --testTimeout=30000
