#!/usr/bin/env bash
# disk_fill: fill a filesystem with real files under <path> until <size_mb> MB are written.
# usage: disk_fill.sh {start [--max-runtime S] [--lease S] <size_mb> [path] | stop | status | renew | --help}
# shellcheck source-path=SCRIPTDIR
set -euo pipefail

CHAOS_NAME=disk_fill
CHAOS_ARGS_USAGE='<size_mb> [path]'
CHAOS_DESCRIPTION='Fills a filesystem: writes chaos_fill_NNNN.bin files (fallocate, dd as fallback) under
[path] until <size_mb> MB are allocated; stop removes exactly those files. Refuses a size that would
leave less than max(64 MB, 2% of the filesystem) free.'
CHAOS_ARGS_HELP="  size_mb  megabytes to write, 1..1048576, bounded by the free space (see above)
  path     absolute directory for the files (default /tmp/chaos_fill); created if missing and
           removed again if it was created; system directories and pseudo filesystems are refused"
CHAOS_PROCESS_FAULT=0
CHAOS_EXTRA_FILES=(progress)
readonly FILL_DEFAULT_PATH=/tmp/chaos_fill FILL_CHUNK_MB=256 FILL_RESERVE_MB=64 FILL_RESERVE_PCT=2
readonly FILL_MARKER=.chaos_fill_owner

# shellcheck source=lib/common.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib/common.sh"

# Directories that must never be the fill directory themselves.
readonly -a FILL_DENY_EXACT=(/ /bin /boot /dev /etc /home /lib /lib32 /lib64 /libx32 /media /mnt /opt
  /proc /root /run /sbin /snap /srv /sys /tmp /usr /var /var/cache /var/lib /var/log /var/mail
  /var/run /var/spool /var/tmp)
# Trees the fill directory must not be inside of (system files, pseudo and runtime filesystems).
readonly -a FILL_DENY_TREE=(/bin /boot /dev /etc /lib /lib32 /lib64 /libx32 /proc /run /sbin /snap /sys
  /usr /var/run)

fill_path_problem() {
  local p=$1 d
  [[ $p == /* ]] || { printf 'must be an absolute path'; return 0; }
  [[ $p =~ ^/[A-Za-z0-9._/-]*$ ]] || { printf 'may only contain letters, digits and . _ - /'; return 0; }
  for d in "${FILL_DENY_EXACT[@]}"; do
    [[ $p == "$d" ]] && { printf 'is a system directory'; return 0; }
  done
  [[ $p/ == *//* || $p/ == */./* || $p/ == */../* ]] &&
    { printf 'must be a normalized path (no //, . or .. components)'; return 0; }
  for d in "${FILL_DENY_TREE[@]}"; do
    [[ $p == "$d"/* ]] && { printf 'is inside the system tree %s' "$d"; return 0; }
  done
  return 0
}

scenario_parse_args() {
  (($# == 1 || $# == 2)) || chaos_usage_error "start needs 1 or 2 arguments: $CHAOS_ARGS_USAGE (got $#)"
  chaos_require_int size_mb "$1" 1 1048576
  local path=${2:-$FILL_DEFAULT_PATH} problem resolved
  ((${#path} > 1)) && path=${path%/}
  problem=$(fill_path_problem "$path")
  [[ -z $problem ]] || chaos_usage_error "invalid path '$path': $problem"
  [[ -L $path ]] && chaos_usage_error "invalid path '$path': is a symbolic link"
  [[ -e $path && ! -d $path ]] && chaos_usage_error "invalid path '$path': exists and is not a directory"
  # Judge where the files really land, not what a symlinked parent pretends.
  resolved=$(realpath -m -- "$path")
  problem=$(fill_path_problem "$resolved")
  [[ -z $problem ]] || chaos_usage_error "invalid path '$path' (resolves to $resolved): $problem"
  SC_SIZE_MB=$1
  SC_PATH=$resolved
  SC_CREATED=0
  SC_STATE=([size_mb]=$SC_SIZE_MB [path]=$SC_PATH)
}

scenario_load_state() {
  SC_SIZE_MB=${ST[arg_size_mb]}
  SC_PATH=${ST[arg_path]}
  SC_CREATED=${ST[created_dir]:-0}
}

scenario_preflight() {
  local probe=$SC_PATH line total_kb avail_kb mount total_mb avail_mb reserve_mb
  while [[ ! -d $probe ]]; do probe=$(dirname -- "$probe"); done
  line=$(df -Pk -- "$probe" | awk 'NR == 2 { print $2, $4, $6 }') ||
    chaos_die "$CHAOS_EXIT_FAIL" "cannot read free space of $probe (df failed)"
  read -r total_kb avail_kb mount <<<"$line"
  total_mb=$((total_kb / 1024))
  avail_mb=$((avail_kb / 1024))
  reserve_mb=$(((total_mb * FILL_RESERVE_PCT + 99) / 100))
  ((reserve_mb < FILL_RESERVE_MB)) && reserve_mb=$FILL_RESERVE_MB
  if ((avail_mb - SC_SIZE_MB < reserve_mb)); then
    chaos_usage_error "size_mb $SC_SIZE_MB is too large for $mount: $avail_mb MB free and at least $reserve_mb MB must stay free (64 MB or 2%, whichever is larger); max $((avail_mb - reserve_mb > 0 ? avail_mb - reserve_mb : 0)) MB"
  fi
  SC_MOUNT=$mount
}

scenario_inject() {
  if [[ ! -d $SC_PATH ]]; then
    mkdir -p -- "$SC_PATH" || { CHAOS_INJECT_ERROR="cannot create $SC_PATH"; return 1; }
    ST[created_dir]=1
  fi
  printf 'owner=%s\nrun=%s\n' "$RUN_DIR" "${ST[run_id]}" >"$SC_PATH/$FILL_MARKER"
  ST[mount]=$SC_MOUNT
}

fill_written_mb() {
  local v=0
  { read -r v <"$(chaos_run_file progress)"; } 2>/dev/null || true
  [[ $v =~ ^[0-9]+$ ]] || v=0
  printf '%s' "$v"
}

# Body of the holder: write the files, then hold them until the deadline.
scenario_fault_main() {
  local run_id=$1 left=$SC_SIZE_MB written=0 n i=0 f
  local progress
  progress=$(chaos_run_file progress)
  while ((left > 0)); do
    n=$((left < FILL_CHUNK_MB ? left : FILL_CHUNK_MB))
    printf -v f '%s/chaos_fill_%04d.bin' "$SC_PATH" "$((++i))"
    if ! fallocate -l "${n}MiB" -- "$f" 2>/dev/null; then
      dd if=/dev/zero of="$f" bs=1M count="$n" conv=fsync status=none ||
        { chaos_log "writing $f failed"; exit 1; }
    fi
    written=$((written + n))
    left=$((left - n))
    printf '%s\n' "$written" >"$progress"
  done
  chaos_log "filled $written MB under $SC_PATH"
  chaos_hold_until_deadline "$run_id"
}

scenario_post_start() {
  local ticks=100
  while (($(fill_written_mb) < SC_SIZE_MB)); do
    chaos_fault_alive || { CHAOS_INJECT_ERROR="writing the fill files failed: $(chaos_log_tail)"; return 1; }
    ((ticks-- > 0)) || return 0 # still writing (dd fallback on a slow disk): status shows progress
    sleep 0.1
  done
}

fill_remove_files() {
  local dir=$1 created=$2
  [[ -d $dir ]] || return 0
  find "$dir" -maxdepth 1 -type f -name 'chaos_fill_*.bin' -delete
  rm -f -- "$dir/$FILL_MARKER"
  if ((created)); then rmdir -- "$dir" 2>/dev/null || true; fi
  if compgen -G "$dir/chaos_fill_*.bin" >/dev/null; then
    CHAOS_REVERT_ERROR="could not remove the fill files in $dir"
    return 1
  fi
}

scenario_revert() { fill_remove_files "$SC_PATH" "$SC_CREATED"; }

# No state (lost, or the host rebooted with /var/run on tmpfs): files at the default path that
# this run directory owns are still ours to remove.
scenario_orphan_revert() {
  local owner=""
  [[ -f $FILL_DEFAULT_PATH/$FILL_MARKER ]] || return 0
  owner=$(sed -n 's/^owner=//p' "$FILL_DEFAULT_PATH/$FILL_MARKER")
  [[ $owner == "$RUN_DIR" ]] || return 0
  chaos_log "removing orphaned fill files under $FILL_DEFAULT_PATH"
  fill_remove_files "$FILL_DEFAULT_PATH" 1
}

scenario_detail() {
  printf '%s/%s MB written under %s (filesystem %s)' "$(fill_written_mb)" "$SC_SIZE_MB" "$SC_PATH" "${ST[mount]:-?}"
}

chaos_main "$@"
