#!/usr/bin/env bash
# Benchmarks for omnidial (issue 6). Builds the binary, generates contact
# lists, runs each measurement against `omnidial sandbox` on 127.0.0.1 and
# prints one table. It only reports figures: nothing here fails on speed,
# and the targets column is there for reading, not for checking.
#
#   benches/run.sh           full run, release build (a few minutes)
#   benches/run.sh --smoke   a few hundred rows each, debug build (seconds;
#                            the figures mean nothing, the plumbing is tested)
#   benches/run.sh NAME...   only these measurements: throughput, pacing,
#                            memory, resume, validate, fsync, sdk
#
# Environment:
#   OMNIDIAL_BIN   use this binary instead of building one
#   BENCH_DIR      keep the work files here (default: a temporary directory,
#                  removed at the end)
#   BENCH_CONCURRENCY  requests in flight, for omnidial and wrk alike
#                  (default 32)
#
# Every server it starts listens on 127.0.0.1 and is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=0
only=()
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    throughput | pacing | memory | resume | validate | fsync | sdk) only+=("$arg") ;;
    *)
      echo "usage: benches/run.sh [--smoke] [throughput|pacing|memory|resume|validate|fsync|sdk ...]" >&2
      exit 2
      ;;
  esac
done
((${#only[@]})) || only=(throughput pacing memory resume validate fsync sdk)

# Sizes of each measurement. The full sizes are the ones issue 6 names.
if ((smoke)); then
  throughput_rows=400 memory_sizes="100 400" resume_done=300 resume_new=20
  validate_rows=400 fsync_rows=200 wrk_seconds=1 sdk_rows=50
  fast_rate=200 fast_seconds=1 slow_rate=5 slow_seconds=2
else
  throughput_rows=200000 memory_sizes="10000 200000 1000000"
  resume_done=1000000 resume_new=1000 validate_rows=1000000 fsync_rows=20000
  wrk_seconds=10 fast_rate=200 fast_seconds=15 slow_rate=5 slow_seconds=10
  sdk_rows=3000
fi
# Requests in flight, for omnidial and for wrk alike.
concurrency=${BENCH_CONCURRENCY:-32}
# Any key will do: the sandbox is started without one and accepts all.
export OMNIDIM_API_KEY=bench-key

# ---------------------------------------------------------------------------
# Tools and the binary.

# Installs the Debian packages whose commands are missing.
install_tools() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v jq >/dev/null || missing+=(jq)
  command -v curl >/dev/null || missing+=(curl)
  [[ -x /usr/bin/time ]] || missing+=(time)
  ((${#missing[@]} == 0)) && return
  echo "installing ${missing[*]}" >&2
  local sudo=()
  ((EUID == 0)) || sudo=(sudo)
  if ! command -v apt-get >/dev/null; then
    echo "benches/run.sh needs ${missing[*]}; install them and run it again" >&2
    exit 1
  fi
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Sets $bin to the omnidial binary, building it unless OMNIDIAL_BIN is set.
build() {
  if [[ -n "${OMNIDIAL_BIN:-}" ]]; then
    bin=$OMNIDIAL_BIN
  elif ((smoke)); then
    # The debug build is the one `cargo test` already made.
    cargo build --locked --quiet
    bin=target/debug/omnidial
  else
    cargo build --locked --release --quiet
    bin=target/release/omnidial
  fi
  bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
}

# ---------------------------------------------------------------------------
# Work directory, sandbox, clean-up.

sandbox_pid=""
if [[ -n "${BENCH_DIR:-}" ]]; then
  work=$BENCH_DIR
  mkdir -p "$work"
else
  work=$(mktemp -d)
fi

cleanup() {
  stop_sandbox
  [[ -n "${BENCH_DIR:-}" ]] || rm -rf "$work"
}
trap cleanup EXIT

# Starts a fresh sandbox on a free port and sets $port. A fresh one per
# measurement keeps each free of the records of the one before.
start_sandbox() {
  stop_sandbox
  "$bin" sandbox --port 0 >"$work/sandbox.out" 2>"$work/sandbox.err" &
  sandbox_pid=$!
  port=""
  local tries
  for tries in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/sandbox.out")
    [[ -n "$port" ]] && return
    sleep 0.05
  done
  echo "the sandbox did not start:" >&2
  cat "$work/sandbox.err" >&2
  exit 1
}

# Stops the sandbox started last, if it still runs.
stop_sandbox() {
  if [[ -n "$sandbox_pid" ]]; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    sandbox_pid=""
  fi
}

# Writes the arrival times (Unix ms) of every dispatch the sandbox saw, one
# per line and sorted, to $1.
arrivals() {
  curl -sf "http://127.0.0.1:$port/__sandbox/requests" |
    jq -r '.[].received_unix_ms' | sort -g >"$1"
}

# ---------------------------------------------------------------------------
# Lists.

# Writes a list of $2 contacts to $1, all with distinct valid numbers. With
# $3 = mixed, even rows are US numbers written nationally (they need
# --default-region US) and odd rows London numbers written internationally.
generate_list() {
  awk -v n="$2" -v mixed="${3:-}" 'BEGIN {
    print "phone,first_name,account_id,plan"
    for (i = 0; i < n; i++) {
      exchange = 200 + int(i / 10000) % 800
      if (mixed == "mixed" && i % 2 == 1)
        printf "+44 20 %04d %04d,Name%d,A-%d,basic\n", 3000 + int(i / 10000), i % 10000, i, i
      else if (mixed == "mixed")
        printf "(201) %03d-%04d,Name%d,A-%d,gold\n", exchange, i % 10000, i, i
      else
        printf "+1 201 %03d %04d,Name%d,A-%d,gold\n", exchange, i % 10000, i, i
    }
  }' >"$1"
}

# Writes to $1 an outcome file, as this version writes them, in which the
# first $2 contacts of a list made by generate_list are dispatched.
generate_outcomes() {
  awk -v n="$2" 'BEGIN {
    print "request_id,row,to_number,status,attempts,http_status,error,finished_at," \
      "from_number_id,calls,earlier_calls"
    for (i = 0; i < n; i++) {
      exchange = 200 + int(i / 10000) % 800
      printf "%d,%d,+1201%03d%04d,dispatched,1,200,,2026-01-05T10:00:00.000Z,,1,\n", \
        i + 1, i + 1, exchange, i % 10000
    }
  }' >"$1"
}

# ---------------------------------------------------------------------------
# Measurements. Each appends rows to the table.

table=()

# Adds a row: measurement, figure, target.
report() {
  table+=("$(printf '%-44s %-30s %s' "$1" "$2" "${3:-}")")
  printf '  %-44s %s\n' "$1" "$2" >&2
}

# Runs omnidial `run` on list $1 with more flags; /usr/bin/time's figures
# land in $work/time (wall s, user s, sys s, peak RSS KiB).
run_list() {
  local list=$1
  shift
  rm -f "$list.outcome.csv"
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
    "$bin" run "$list" --out "$list.outcome.csv" --quiet --agent-id 1 \
    --base-url "http://127.0.0.1:$port/api/v1" "$@" 2>"$work/run.err" || {
    echo "omnidial run failed:" >&2
    cat "$work/run.err" >&2
    exit 1
  }
  read -r wall user sys rss <"$work/time"
}

# Calls per second from the arrival times in $1: requests over the span
# from the first to the last.
rate_of() {
  awk '{ t[NR] = $1 } END {
    if (NR < 2 || t[NR] == t[1]) { print "n/a"; exit }
    printf "%.1f", (NR - 1) * 1000 / (t[NR] - t[1])
  }' "$1"
}

# 1. Unpaced dispatch, and wrk against the same endpoint.
bench_throughput() {
  echo "throughput: wrk, then $throughput_rows contacts unpaced" >&2
  start_sandbox
  local body='{"agent_id":1,"to_number":"+12012000000","call_context":{"account_id":"A-0","first_name":"Name0","plan":"gold"}}'
  cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $OMNIDIM_API_KEY"
EOF
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
    wrk -t2 -c"$concurrency" -d"${wrk_seconds}s" -s "$work/post.lua" \
    "http://127.0.0.1:$port/api/v1/calls/dispatch" >"$work/wrk.out"
  read -r wall user sys rss <"$work/time"
  local wrk_rate wrk_cpu
  wrk_rate=$(awk '/^Requests\/sec:/ { printf "%.1f", $2 }' "$work/wrk.out")
  wrk_cpu=$(awk -v u="$user" -v s="$sys" -v r="$wrk_rate" -v w="$wall" \
    'BEGIN { printf "%.1f", (u + s) * 1e6 / (r * w) }')

  start_sandbox
  generate_list "$work/throughput.csv" "$throughput_rows"
  run_list "$work/throughput.csv" --rate unlimited --concurrency "$concurrency"
  arrivals "$work/arrivals"
  local rate end_to_end
  rate=$(rate_of "$work/arrivals")
  end_to_end=$(awk -v n="$throughput_rows" -v w="$wall" 'BEGIN { printf "%.1f", n / w }')
  report "sandbox alone, wrk -c$concurrency (calls/s)" "$wrk_rate"
  report "  wrk's own CPU per request" "$wrk_cpu us"
  report "omnidial unpaced -c$concurrency (calls/s)" "$rate" \
    "$(awk -v a="$rate" -v b="$wrk_rate" 'BEGIN { printf "%.2f of wrk (target >= 0.70)", a / b }')"
  report "  omnidial's own CPU per call" \
    "$(awk -v u="$user" -v s="$sys" -v n="$throughput_rows" 'BEGIN { printf "%.1f us", (u + s) * 1e6 / n }')"
  report "  same run, end to end incl. scan+compact" "$end_to_end calls/s in ${wall}s"
  report "  peak RSS at $throughput_rows rows" "$((rss / 1024)) MiB"
  stop_sandbox
}

# 2. Pacing fidelity at rate $1 for $2 seconds.
bench_pacing() {
  local rate=$1 seconds=$2
  local rows=$((rate * seconds + 1))
  echo "pacing: --rate $rate for ${seconds}s" >&2
  start_sandbox
  generate_list "$work/paced.csv" "$rows"
  run_list "$work/paced.csv" --rate "$rate" --concurrency "$concurrency"
  arrivals "$work/arrivals"
  local achieved worst
  achieved=$(rate_of "$work/arrivals")
  # The most arrivals in any window [t, t + 1 s) that starts at an arrival.
  worst=$(awk '{ t[NR] = $1 } END {
    j = 1; best = 0
    for (i = 1; i <= NR; i++) {
      while (j <= NR && t[j] < t[i] + 1000) j++
      if (j - i > best) best = j - i
    }
    print best
  }' "$work/arrivals")
  report "pacing --rate $rate: achieved (calls/s)" "$achieved" \
    "$(awk -v a="$achieved" -v r="$rate" 'BEGIN { printf "%+.2f%% (target within 1%%)", (a - r) * 100 / r }')"
  report "pacing --rate $rate: busiest 1 s window" "$worst calls" "target <= $((rate + 1)) (rate + burst)"
  if ((rate == fast_rate)); then
    local per_thousand
    per_thousand=$(awk -v u="$user" -v s="$sys" -v n="$rows" 'BEGIN { printf "%.3f", (u + s) * 1000 / n }')
    report "CPU per 1000 calls at --rate $rate" "${per_thousand} s (user ${user}, sys ${sys})"
  fi
  stop_sandbox
}

# 3. Peak RSS of unpaced runs, and the growth per contact between the two
# largest lists.
bench_memory() {
  local rows previous_rows="" previous_rss=""
  for rows in $memory_sizes; do
    echo "memory: $rows contacts unpaced" >&2
    start_sandbox
    generate_list "$work/memory.csv" "$rows"
    RUST_LOG=info run_list "$work/memory.csv" --rate unlimited --concurrency "$concurrency"
    report "peak RSS, $rows contacts" "$((rss / 1024)) MiB (run ${wall}s)" \
      "target <= 64 MiB at 1000000"
    local compacted
    compacted=$(sed -n 's/.*outcome file compacted.*elapsed_ms=\([0-9]*\).*/\1/p' "$work/run.err")
    if [[ -n "$compacted" ]]; then
      report "  compaction of $rows contacts" "${compacted} ms"
    fi
    if [[ -n "$previous_rss" ]]; then
      report "  growth $previous_rows -> $rows" "$(awk -v a="$previous_rss" -v b="$rss" \
        -v m="$previous_rows" -v n="$rows" 'BEGIN { printf "%.1f bytes per contact", (b - a) * 1024 / (n - m) }')"
    fi
    previous_rows=$rows previous_rss=$rss
    stop_sandbox
  done
}

# 4. Time to the first call when resuming a campaign with many finished
# contacts and a few new rows at the end of the list.
bench_resume() {
  echo "resume: $resume_done finished contacts, $resume_new new" >&2
  start_sandbox
  local list="$work/resume.csv"
  generate_list "$list" $((resume_done + resume_new))
  generate_outcomes "$list.outcome.csv" "$resume_done"
  local started first
  started=$(date +%s%3N)
  "$bin" run "$list" --out "$list.outcome.csv" --resume --quiet --agent-id 1 \
    --base-url "http://127.0.0.1:$port/api/v1" --rate unlimited \
    --concurrency "$concurrency" 2>"$work/run.err" || {
    cat "$work/run.err" >&2
    exit 1
  }
  arrivals "$work/arrivals"
  first=$(head -n1 "$work/arrivals")
  report "resume: first call after (s)" \
    "$(awk -v f="$first" -v s="$started" 'BEGIN { printf "%.2f", (f - s) / 1000 }')" \
    "target < 2 s ($resume_done finished)"
  report "  calls made by the resume" "$(wc -l <"$work/arrivals") (expected $resume_new)"
  stop_sandbox
}

# 5. Rows per second of `omnidial validate` on mixed numbers.
bench_validate() {
  echo "validate: $validate_rows mixed rows" >&2
  generate_list "$work/validate.csv" "$validate_rows" mixed
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
    "$bin" validate "$work/validate.csv" --default-region US >/dev/null
  read -r wall user sys rss <"$work/time"
  report "validate, $validate_rows mixed rows (rows/s)" \
    "$(awk -v n="$validate_rows" -v w="$wall" 'BEGIN { printf "%.0f", n / (w > 0 ? w : 0.01) }') (${wall}s, cpu $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')s)" \
    "target >= 500000"
}

# The cost of --fsync: the same unpaced run with and without it.
bench_fsync() {
  local flag label
  for flag in "" --fsync; do
    label=${flag:-flush only}
    echo "durability: $fsync_rows contacts unpaced, $label" >&2
    start_sandbox
    generate_list "$work/fsync.csv" "$fsync_rows"
    run_list "$work/fsync.csv" --rate unlimited --concurrency "$concurrency" $flag
    arrivals "$work/arrivals"
    report "unpaced, $label (calls/s)" "$(rate_of "$work/arrivals")"
    stop_sandbox
  done
}

# The platform's Python SDK as its README uses it: one client, one
# dispatch_call after another, against the same sandbox as omnidial with
# the same list. It goes into a virtual environment in the work directory;
# without python3 or the package the measurement says why and is skipped.
bench_sdk() {
  echo "python SDK: $sdk_rows contacts, one after another" >&2
  if ! python3 -m venv "$work/sdk" >/dev/null 2>&1 ||
    ! "$work/sdk/bin/pip" install -q omnidimension >/dev/null 2>&1; then
    report "python SDK (calls/s)" "n/a: no python3 venv or the omnidimension package"
    return
  fi
  start_sandbox
  generate_list "$work/sdk.csv" "$sdk_rows"
  cat >"$work/sdk.py" <<'EOF_PY'
import csv, os, sys, time
from omnidimension import Client

client = Client(os.environ["OMNIDIM_API_KEY"], base_url=sys.argv[2])
rows = list(csv.DictReader(open(sys.argv[1])))
started = time.monotonic()
for row in rows:
    number = "+" + "".join(c for c in row.pop("phone") if c.isdigit())
    client.call.dispatch_call(1, number, call_context=row)
print(len(rows) / (time.monotonic() - started))
EOF_PY
  local sdk_rate
  # No proxy may stand between the SDK and the sandbox on this machine.
  sdk_rate=$(NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost \
    "$work/sdk/bin/python" "$work/sdk.py" "$work/sdk.csv" "http://127.0.0.1:$port/api/v1")
  stop_sandbox
  start_sandbox
  run_list "$work/sdk.csv" --rate unlimited --concurrency "$concurrency"
  arrivals "$work/arrivals"
  local rate
  rate=$(rate_of "$work/arrivals")
  report "python SDK, $sdk_rows contacts in turn (calls/s)" "$(printf '%.1f' "$sdk_rate")"
  report "omnidial, same list unpaced (calls/s)" "$rate" \
    "$(awk -v a="$rate" -v b="$sdk_rate" 'BEGIN { printf "%.0fx the SDK", a / b }')"
  stop_sandbox
}

install_tools
build
echo "omnidial: $bin; work files in $work" >&2
for name in "${only[@]}"; do
  case "$name" in
    pacing)
      bench_pacing "$fast_rate" "$fast_seconds"
      bench_pacing "$slow_rate" "$slow_seconds"
      ;;
    *) "bench_$name" ;;
  esac
done

echo
echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-44s %-30s %s\n' measurement figure target
for row in "${table[@]}"; do
  echo "$row"
done
