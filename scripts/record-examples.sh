#!/usr/bin/env bash
# Re-records the example evidence bundles (examples/<name>/) from live incidents on the sandbox.
# usage: scripts/record-examples.sh [name ...]   (as root; names: cpu_spike memory_leak disk_fill
#        service_kill db_conn_exhaust healthy; default: all. net_latency stays synthetic: this
#        kernel has no netem, see scripts/synthesize-bundles.mjs)
set -euo pipefail

here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$here"

declare -A RUN=(
  [cpu_spike]='--scenario cpu_spike --option duration=60 --option load=2'
  [memory_leak]='--scenario memory_leak --option target_mb=1500 --option duration=60'
  [disk_fill]='--scenario disk_fill --option size_mb=700'
  [service_kill]='--scenario service_kill --option service_name=victim-api'
  [db_conn_exhaust]='--scenario db_conn_exhaust --option clients=95 --option duration=60'
  [healthy]='--scenario investigate'
)
names=("$@")
((${#names[@]})) || names=(cpu_spike memory_leak disk_fill service_kill db_conn_exhaust healthy)
for name in "${names[@]}"; do
  [[ -n ${RUN[$name]:-} ]] || { echo "record-examples: unknown example '$name' (known: ${!RUN[*]})" >&2; exit 2; }
done

npm run build >/dev/null
bash scripts/sandbox/status.sh >/dev/null 2>&1 || bash scripts/sandbox/up.sh

for name in "${names[@]}"; do
  echo "record-examples: $name" >&2
  # shellcheck disable=SC2086 # RUN holds word-split CLI arguments on purpose
  json=$(CHAOS_PDF=false node dist/src/cli/index.js run --target sandbox --record --json \
    --option baseline_s=12 --option observe_s=24 ${RUN[$name]})
  read -r id status category < <(node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(r.id, r.status, r.outcome?.category ?? "none")' <<<"$json")
  if [[ $status != completed ]]; then echo "record-examples: $name: incident $id ended $status; examples/$name left as it was" >&2; exit 1; fi
  bundle="incidents/$id/bundle"
  [[ -f $bundle/manifest.json ]] || { echo "record-examples: $name: no bundle in incidents/$id" >&2; exit 1; }
  # The label is provenance for people browsing examples/ (agents never see it).
  node -e 'const fs = require("fs"); const [file, label] = process.argv.slice(1); const m = JSON.parse(fs.readFileSync(file, "utf8")); m.label = label; fs.writeFileSync(file, JSON.stringify(m, null, 2) + "\n");' "$bundle/manifest.json" "$name"
  rm -rf "examples/$name.new" && cp -r "$bundle" "examples/$name.new"
  rm -rf "examples/$name" && mv "examples/$name.new" "examples/$name"
  echo "record-examples: $name <- incidents/$id ($category)" >&2
done
