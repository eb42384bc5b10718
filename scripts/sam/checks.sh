#!/usr/bin/env bash
# Static checks of the SAM template, all offline:
#
#   1. sam validate --lint      (SAM transform + cfn-lint, as sam runs it)
#   2. cfn-lint                 (the project venv's own cfn-lint, any finding fails)
#   3. checkov                  (framework cloudformation; SAM resources included)
#   4. tools/sam/template_rules.py (the project's own rules: no filter on a shared queue, the
#                               example consumer on its own queue, the Function URL's permissions
#                               after the SAM transform (no duplicate, none missing), log groups
#                               with a retention, DLQs outliving their sources, one-minute alarms
#                               that notify both topics, a JSON dashboard, a private TLS-only
#                               spool bucket without versioning whose failed/ expires, the
#                               webhook's S3 access PutObject on pending/* only)
#
#   scripts/sam/checks.sh                       # checks template.yaml
#   TEMPLATE=path/to/other.yaml scripts/sam/checks.sh
#
# checkov: a check fails this script unless the template skips it with an inline comment in
# the resource, `# checkov:skip=CKV_...:reason` (checkov honours these for CloudFormation/SAM
# YAML; skipped checks are listed with their reasons). Resources with a `Condition:` are scanned
# too (checkov itself would drop those whose condition is false with default parameters, e.g.
# the example consumer); CHECKOV_ALL_RESOURCES=0 scans only what deploys with the defaults.
#
# checkov lives in its own venv, .local/sam/checkov-venv (created here with pip when missing),
# not in .venv: checkov pins boto3/botocore far below requirements-dev.txt (checkov 3.3.30
# would install boto3 1.35.49), which would break moto and sam in .venv. Set CHECKOV=/path/to/
# checkov to use another one; a checkov already in .venv/bin is used as is.
#
# Exit status: 0 when every step passed, 1 otherwise. Each step runs in an empty network
# namespace (`unshare -n`) when that is permitted, which proves none of them needs the network.
set -uo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_venv sam cfn-lint python
cd "$ROOT" || exit 1

TEMPLATE=${TEMPLATE:-template.yaml}
[[ -f $TEMPLATE ]] || { echo "checks: $TEMPLATE not found" >&2; exit 1; }

OFFLINE=()
if unshare -n true 2>/dev/null; then OFFLINE=(unshare -n); fi

declare -a SUMMARY=()
FAILED=0
record() { # name status seconds detail
  SUMMARY+=("$(printf '%-22s %-5s %7s  %s' "$1" "$2" "$3" "$4")")
  [[ $2 == PASS ]] || FAILED=1
}

# --- 1. sam validate --lint ----------------------------------------------------------------
echo "== sam validate --lint ($TEMPLATE)"
t0=$(date +%s.%N)
out=$("${OFFLINE[@]}" "$SAM" validate --lint --region us-east-1 -t "$TEMPLATE" 2>&1); rc=$?
echo "$out"
record "sam validate --lint" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" "$(elapsed "$t0")" \
  "$(echo "$out" | grep -m1 -E 'valid SAM Template|Error' || echo "exit $rc")"

# --- 2. cfn-lint ---------------------------------------------------------------------------
echo "== cfn-lint $TEMPLATE ($("$VENV/bin/cfn-lint" --version 2>&1))"
t0=$(date +%s.%N)
out=$("${OFFLINE[@]}" "$VENV/bin/cfn-lint" "$TEMPLATE" 2>&1); rc=$?
[[ -n $out ]] && echo "$out"
if [[ $rc == 0 ]]; then detail="no findings"; else detail="exit $rc: $(echo "$out" | grep -c -E '^[EWI][0-9]') finding(s)"; fi
record "cfn-lint" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" "$(elapsed "$t0")" "$detail"

# --- 3. checkov ----------------------------------------------------------------------------
CHECKOV=${CHECKOV:-}
if [[ -z $CHECKOV ]]; then
  if [[ -x $VENV/bin/checkov ]]; then
    CHECKOV=$VENV/bin/checkov
  else
    CKV_VENV=$STATE_DIR/checkov-venv
    CHECKOV=$CKV_VENV/bin/checkov
    if [[ ! -x $CHECKOV ]]; then
      echo "== installing checkov into ${CKV_VENV#"$ROOT"/} (pip)"
      base_python=$("$VENV/bin/python" -c 'import sys; print(sys._base_executable)')
      if ! { "$base_python" -m venv "$CKV_VENV" && "$CKV_VENV/bin/pip" install -q checkov; }; then
        echo "checks: installing checkov failed" >&2
        rm -rf "$CKV_VENV"
      fi
    fi
  fi
fi

t0=$(date +%s.%N)
if [[ ! -x $CHECKOV ]]; then
  record "checkov" FAIL "$(elapsed "$t0")" "checkov is not available"
else
  echo "== checkov -f $TEMPLATE --framework cloudformation ($("$CHECKOV" --version 2>/dev/null))"
  report=$(mktemp)
  scan=$TEMPLATE
  # checkov evaluates resource Conditions with the parameters' defaults and silently drops the
  # resources whose condition is false. Scan those too: in a copy whose resource-level
  # `Condition:` lines are commented out (same line numbers as the template).
  mapfile -t conditional < <(awk '/^Resources:/ { r = 1; next } /^[^ #]/ { r = 0 }
    r && /^  [A-Za-z0-9]+:/ { name = $1 } r && /^    Condition: / { sub(":", "", name); print name }' "$TEMPLATE")
  if [[ ${CHECKOV_ALL_RESOURCES:-1} == 1 ]] && ((${#conditional[@]})); then
    scan=$(mktemp --suffix=.yaml)
    sed -E 's/^(    )(Condition: [A-Za-z0-9]+[[:space:]]*)$/\1# \2 (commented out for the scan)/' "$TEMPLATE" >"$scan"
    echo "   also scanning conditional resources: ${conditional[*]} (CHECKOV_ALL_RESOURCES=0: only what deploys with default parameters)"
  elif ((${#conditional[@]})); then
    echo "   NOT scanning resources whose condition is false with default parameters (among: ${conditional[*]})"
  fi
  # No update check, no download of policies/metadata from the vendor's platform.
  CKV_SKIP_PACKAGE_UPDATE_CHECK=true BC_SKIP_MAPPING=TRUE \
    "${OFFLINE[@]}" "$CHECKOV" -f "$scan" --framework cloudformation --skip-download \
    --output json >"$report" 2>"$report.err"
  rc=$?
  [[ $scan == "$TEMPLATE" ]] || rm -f "$scan"
  out=$("$VENV/bin/python" - "$report" "$TEMPLATE" <<'PY'
import json, re, sys
try:
    data = json.load(open(sys.argv[1]))
except (OSError, ValueError) as err:
    print(f"ERROR unreadable checkov report: {err}")
    sys.exit(0)
reports = data if isinstance(data, list) else [data]
failed, skipped, passed, errors = [], [], 0, 0
for rep in reports:
    if "results" not in rep:  # checkov prints a bare summary when nothing was scanned
        continue
    res = rep["results"]
    passed += len(res.get("passed_checks", []))
    failed += res.get("failed_checks", [])
    skipped += res.get("skipped_checks", [])
    errors += rep.get("summary", {}).get("parsing_errors", 0)
for c in skipped:
    reason = (c.get("check_result") or {}).get("suppress_comment") or ""
    print(f"  skipped {c['check_id']:<12} {c['resource']}: {reason}")
for c in failed:
    lines = "-".join(str(n) for n in c.get("file_line_range", []))
    print(f"  FAILED  {c['check_id']:<12} {c['resource']} (lines {lines}): {c['check_name']}")
# Skip comments that suppressed nothing: the check does not exist for CloudFormation (or
# passed anyway). Reported, not failed.
used = {c["check_id"] for c in skipped}
for n, line in enumerate(open(sys.argv[2], encoding="utf-8"), 1):
    for cid in re.findall(r"checkov:skip=([A-Z0-9_]+)", line):
        if cid not in used:
            print(f"  note    {cid:<12} skip comment on line {n} matched no CloudFormation check that ran")
state = "OK" if not failed and not errors and passed + len(skipped) > 0 else "ERROR"
ids = ",".join(sorted({c["check_id"] for c in failed}))
print(f"{state} passed {passed}, failed {len(failed)}{' (' + ids + ')' if ids else ''}, "
      f"skipped in template {len(skipped)}, parsing errors {errors}")
PY
)
  echo "$out" | sed '$d'
  detail=$(echo "$out" | tail -n 1)
  if [[ $detail == OK* ]]; then
    record "checkov" PASS "$(elapsed "$t0")" "${detail#OK }"
  else
    [[ -s $report.err ]] && tail -n 20 "$report.err" >&2
    record "checkov" FAIL "$(elapsed "$t0")" "${detail#ERROR } (checkov exit $rc)"
  fi
  rm -f "$report" "$report.err"
fi

echo
# --- 4. the project's own rules (tools/sam/template_rules.py) -----------------------------
echo "== template rules ($TEMPLATE)"
t0=$(date +%s.%N)
out=$("${OFFLINE[@]}" "$VENV/bin/python" tools/sam/template_rules.py "$TEMPLATE" 2>&1); rc=$?
echo "$out"
record "template rules" "$([[ $rc == 0 ]] && echo PASS || echo FAIL)" "$(elapsed "$t0")" \
  "$(echo "$out" | tail -n 1)"

echo "== summary ($TEMPLATE)"
printf '%s\n' "${SUMMARY[@]}"
if ((FAILED)); then echo "checks: FAILED"; exit 1; fi
echo "checks: all passed"
