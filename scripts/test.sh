#!/usr/bin/env bash
# The project's one test command (`deno task test`): installs the Python Pyro5 peer on first use,
# runs the static checks and every test suite, and ends with one line `N passed, M failed`.
# Extra arguments are passed to `deno test` (e.g. a file or `--filter name`).
set -uo pipefail
cd "$(dirname "$0")/.."

if command -v deno >/dev/null 2>&1; then deno=(deno); else deno=(npx -y deno@2); fi

passed=0
failed=0
# The package as JSR would get it (works offline): only the library, the commands, README and LICENSE.
publish_dry_run() {
  local out
  out=$("${deno[@]}" publish --dry-run --allow-dirty 2>&1) || { echo "$out" >&2; return 1; }
  out=$(sed "s/\x1b\[[0-9;]*m//g" <<<"$out")
  if grep -E "file://.*/(tests|bench|scripts|examples|\.ci|\.git)(/|\s|$)" <<<"$out" >&2; then
    echo "deno publish --dry-run: the files above do not belong in the package" >&2
    return 1
  fi
  grep -q "/LICENSE " <<<"$out" && grep -q "/README.md " <<<"$out"
}

check() { # name, command...
  local name=$1; shift
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED check: $name" >&2; fi
}

bash scripts/install_peer.sh >/dev/null || { echo "could not install the Python Pyro5 peer" >&2; echo "0 passed, 1 failed"; exit 1; }

if [ $# -eq 0 ]; then
  check "deno fmt --check" "${deno[@]}" fmt --check
  check "deno lint" "${deno[@]}" lint
  check "deno doc --lint" "${deno[@]}" doc --lint mod.ts
  check "deno publish --dry-run" publish_dry_run
  targets=(tests/ mod.ts client.ts server.ts nameserver.ts messagebus.ts httpgateway.ts locate.ts uri.ts errors.ts config.ts _*.ts protocol/ serializers/ nameserver/ messagebus/ cli/)
  existing=()
  for t in "${targets[@]}"; do [ -e "$t" ] && existing+=("$t"); done
  set -- "${existing[@]}"
fi

export NO_COLOR=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Deno counts tests and their steps separately; both are real cases, so both are totalled.
"${deno[@]}" test --allow-all --doc "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
summary=$(sed "s/\x1b\[[0-9;]*m//g" "$log" | grep -E "^(ok|FAILED) \| " | tail -1)
num() { sed -nE "s/.*[^0-9]([0-9]+) $1( \(([0-9]+) steps?\))?.*/\1 \3/p" <<<"$summary"; }
read -r t_pass s_pass <<<"$(num passed)"
read -r t_fail s_fail <<<"$(num failed)"
passed=$((passed + ${t_pass:-0} + ${s_pass:-0}))
failed=$((failed + ${t_fail:-0} + ${s_fail:-0}))
if [ -z "$summary" ] || { [ "$status" -ne 0 ] && [ "${t_fail:-0}" -eq 0 ]; }; then
  echo "deno test ended without a clean summary (exit $status)" >&2
  failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
