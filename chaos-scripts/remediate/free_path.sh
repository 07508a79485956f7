#!/usr/bin/env bash
# Frees a filled filesystem by deleting the files the diagnosis named, largest first. Only
# regular files inside the allowed roots (/tmp and /var/tmp, plus the lines of
# /etc/chaos-handler/remediation-roots) on that filesystem; never a directory, a symbolic link
# or anything mounted. Deleted data cannot be restored: this step is high risk.
# usage: free_path.sh {check|apply|verify|rollback} MOUNT FILE...
# shellcheck source-path=SCRIPTDIR
REM_NAME=free_path
# shellcheck source=lib.sh
source "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 2)) || rem_usage "usage: free_path.sh {check|apply|verify|rollback} MOUNT FILE..."
VERB=$1 MOUNT=$2
shift 2
FILES=("$@")
# Verification: the filesystem is below this use.
readonly VERIFY_MAX_PCT=90

[[ $MOUNT =~ ^/[A-Za-z0-9._/-]*$ ]] || rem_usage "invalid mount '$MOUNT'"
[[ $(stat -c %m -- "$MOUNT" 2>/dev/null) == "$MOUNT" ]] || rem_usage "$MOUNT is not a mount point"

ROOTS=(/tmp /var/tmp)
if [[ -r /etc/chaos-handler/remediation-roots ]]; then
  while IFS= read -r line; do [[ $line == /?* && $line != *..* ]] && ROOTS+=("${line%/}"); done </etc/chaos-handler/remediation-roots
fi

# Why FILE may not be deleted, or nothing.
problem() {
  local f=$1 real root inside=0
  [[ $f == /* && $f != *$'\n'* ]] || { printf 'not an absolute path'; return; }
  [[ /$f/ != */../* && /$f/ != */./* ]] || { printf 'not a normalized path'; return; }
  [[ -e $f ]] || { printf 'gone'; return; }
  [[ ! -L $f ]] || { printf 'a symbolic link'; return; }
  [[ -f $f ]] || { printf 'not a regular file'; return; }
  real=$(realpath -e -- "$f") || { printf 'unresolvable'; return; }
  for root in "${ROOTS[@]}"; do [[ $real == "$root"/* ]] && inside=1; done
  ((inside)) || { printf 'outside the allowed roots (%s)' "${ROOTS[*]}"; return; }
  [[ $(stat -c %m -- "$real") == "$MOUNT" ]] || { printf 'not on %s' "$MOUNT"; return; }
  # A file that is itself a mount point (bind mount) is someone's mount root.
  [[ $(stat -c %m -- "$real") != "$real" ]] || { printf 'a mount root'; return; }
}

used_pct() { df -P -- "$MOUNT" | awk 'NR == 2 { sub("%", "", $5); print $5 }'; }

# The allowed files, largest first, as "size path".
deletable() {
  local f
  for f in "${FILES[@]}"; do
    [[ -z $(problem "$f") ]] && printf '%s %s\n' "$(stat -c %s -- "$f")" "$f"
  done | sort -rn
}

case $VERB in
  check)
    n=$(deletable | wc -l)
    ((n > 0)) || rem_die "$REM_EXIT_PRECONDITION" "precondition: none of the ${#FILES[@]} files may be deleted: $(for f in "${FILES[@]}"; do printf '%s (%s) ' "$f" "$(problem "$f")"; done | cut -c1-400)"
    echo "ok: $n file(s) on $MOUNT may be deleted; $MOUNT is $(used_pct)% used"
    ;;
  apply)
    mapfile -t list < <(deletable)
    ((${#list[@]})) || rem_die "$REM_EXIT_PRECONDITION" "precondition: none of the files may be deleted any more; nothing deleted"
    before=$(used_pct) freed=0
    for entry in "${list[@]}"; do
      f=${entry#* }
      # Checked again right before the unlink: the path must still be what it was.
      p=$(problem "$f")
      [[ -z $p ]] || { echo "skipped $f: $p"; continue; }
      rm -f -- "$f"
      freed=$((freed + ${entry%% *}))
      rem_log "deleted $f (${entry%% *} bytes)"
      echo "deleted $f ($((${entry%% *} / 1048576)) MB)"
    done
    echo "freed $((freed / 1048576)) MB: $MOUNT $before% -> $(used_pct)% used"
    ;;
  verify)
    pct=$(used_pct)
    ((pct < VERIFY_MAX_PCT)) || rem_die "$REM_EXIT_UNVERIFIED" "$MOUNT is still $pct% used"
    echo "verified: $MOUNT is $pct% used"
    ;;
  rollback)
    echo "nothing to roll back: deleted files cannot be restored"
    ;;
  *) rem_usage "unknown verb '$VERB'" ;;
esac
