#!/usr/bin/env bash
# `wfctl serve` under load, side by side with nginx on the same machine:
#   GET by id:  `wrk -t2 -c4 -d10s --latency` on {prefix}/{id} against wfctl serve, and against
#               nginx serving the very same JSON bytes as a static file (checked identical first);
#   create:     POST {prefix}/ of a WorkflowIn body, each answered 201 with its new workflow
#               (every create is a durable SQLite commit), against nginx answering the same
#               POST with a fixed 201 of the same size (`return 201`): the HTTP floor.
# Interleaved BENCH_ROUNDS (2) times (BENCH_TESTS=get for the GET runs only), nginx first in
# odd rounds and wfctl first in even ones; per run requests/s, p50, p99 and the server's CPU
# time per request (user + system of its processes over the run, from /proc: steadier than
# requests/s on a shared machine), the ratio wfctl/nginx per round, and the medians over the
# rounds. Targets (issue 10): GET >= 15 000 req/s and >= 0.5x nginx.
# The store holds BENCH_WORKFLOWS (1000) workflows of examples/cartesian-reco.json's definition.
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ROUNDS=${BENCH_ROUNDS:-2}
TESTS=${BENCH_TESTS:-get create}  # BENCH_TESTS=get: GET rounds only
DURATION=${BENCH_DURATION:-10s}
WORKFLOWS=${BENCH_WORKFLOWS:-1000}
PREFIX=/api/v1/workflow

bench_need wrk wrk
bench_need nginx nginx-light
bench_need curl curl
bench_wfctl
bench_workdir

bench_make_store "$WORK/store" "$WORKFLOWS"
ID=$((WORKFLOWS / 2))

# wfctl serve on a free port; its bound address is the one line it prints on stderr.
bench_serve "$WORK/store"
WFCTL_URL=$SERVE_URL
NGINX_PID=
cleanup() {
  kill "$SERVE_PID" 2> /dev/null || true
  [[ -n "$NGINX_PID" ]] && kill "$NGINX_PID" 2> /dev/null || true
  wait 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# nginx: the same body as a static file, and a fixed 201 for POST.
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$WORK/www$PREFIX" "$WORK/nginx/logs"
curl -sf "$WFCTL_URL/$ID" > "$WORK/www$PREFIX/$ID"
BODY_BYTES=$(stat -c %s "$WORK/www$PREFIX/$ID")
CREATED=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1])), separators=(",",":")))' \
  "$WORK/www$PREFIX/$ID")
# nginx started by root serves as an unprivileged user: the scratch folder must be readable.
chmod 755 "$WORK" "$WORK/www" "$WORK/www/api" "$WORK/www/api/v1" "$WORK/www$PREFIX"
chmod 644 "$WORK/www$PREFIX/$ID"
cat > "$WORK/nginx/nginx.conf" << NGINX
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    root $WORK/www;
    default_type application/json;
    location = $PREFIX/ { return 201 '$(printf '%s' "$CREATED" | sed "s/'/\\\\'/g")'; }
    location / { }
  }
}
NGINX
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
NGINX_URL=http://127.0.0.1:$NGINX_PORT$PREFIX
for _ in $(seq 100); do curl -sf "$NGINX_URL/$ID" > /dev/null 2>&1 && break; sleep 0.05; done
cmp <(curl -sf "$WFCTL_URL/$ID") <(curl -sf "$NGINX_URL/$ID") ||
  { echo "bench: nginx does not serve wfctl's bytes" >&2; exit 1; }

# The POST body: a WorkflowIn with the realistic definition.
DEF=$(bench_definition)
printf '{"name":"bench","description":null,"version":"1","author":"wrk","definition":%s}' "$DEF" > "$WORK/post.json"
cat > "$WORK/post.lua" << LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local f = io.open("$WORK/post.json", "rb"); wrk.body = f:read("*a"); f:close()
LUA
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @"$WORK/post.json" "$WFCTL_URL/")
[[ "$code" == 201 ]] || { echo "bench: POST create answered $code" >&2; exit 1; }

# cpu_ticks PID...: user + system clock ticks of these processes so far.
cpu_ticks() {
  local total=0 pid u s
  for pid in "$@"; do
    read -r u s < <(awk '{print $14, $15}' "/proc/$pid/stat")
    total=$((total + u + s))
  done
  echo "$total"
}

# run PIDS URL [wrk args...]: prints "req/s p50 p99 us/req" (the CPU of the server processes
# PIDS, space-separated) and checks that wrk saw no error.
run() {
  local pids=$1 url=$2
  shift 2
  local out before after
  # shellcheck disable=SC2086 # PIDS is a list
  before=$(cpu_ticks $pids)
  out=$(wrk -t2 -c4 -d"$DURATION" --latency "$@" "$url")
  # shellcheck disable=SC2086
  after=$(cpu_ticks $pids)
  if grep -q 'Non-2xx\|Socket errors' <<< "$out"; then
    echo "bench: wrk reported errors against $url:" >&2
    echo "$out" >&2
    exit 1
  fi
  local rps p50 p99 n
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<< "$out")
  p50=$(awk '$1 == "50%" {print $2}' <<< "$out")
  p99=$(awk '$1 == "99%" {print $2}' <<< "$out")
  n=$(awk '/requests in/ {print $1}' <<< "$out")
  echo "$rps $p50 $p99 $(python3 -c "print(f'{($after - $before) * 1e6 / $(getconf CLK_TCK) / $n:.1f}')")"
}

echo "wfctl serve vs nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), wrk -t2 -c4 -d$DURATION, $(nproc) cores,"
echo "GET body $BODY_BYTES bytes, store of $WORKFLOWS workflows"
# nginx's workers do the serving; its master only watches them.
NGINX_PIDS=$(pgrep -P "$NGINX_PID" | tr '\n' ' ')
printf '%-6s %-6s %-12s %12s %10s %10s %8s %8s\n' round test server req/s p50 p99 cpu/req ratio
declare -A RATIOS CPUS
for round in $(seq "$ROUNDS"); do
  for test in $TESTS; do
    args=()
    path=/$ID
    [[ $test == get ]] || { args=(-s "$WORK/post.lua"); path=/; }
    # Odd rounds run nginx first, even ones wfctl: a drift of the shared machine's speed
    # favours neither.
    if ((round % 2)); then
      read -r n_rps n_50 n_99 n_cpu < <(run "$NGINX_PIDS" "$NGINX_URL$path" "${args[@]}")
      read -r w_rps w_50 w_99 w_cpu < <(run "$SERVE_PID" "$WFCTL_URL$path" "${args[@]}")
    else
      read -r w_rps w_50 w_99 w_cpu < <(run "$SERVE_PID" "$WFCTL_URL$path" "${args[@]}")
      read -r n_rps n_50 n_99 n_cpu < <(run "$NGINX_PIDS" "$NGINX_URL$path" "${args[@]}")
    fi
    ratio=$(python3 -c "print(f'{$w_rps/$n_rps:.2f}')")
    RATIOS[$test]+="$ratio "
    CPUS[$test]+="$w_cpu/$n_cpu "
    printf '%-6s %-6s %-12s %12s %10s %10s %6sus %8s\n' "$round" "$test" nginx "$n_rps" "$n_50" "$n_99" "$n_cpu" ""
    printf '%-6s %-6s %-12s %12s %10s %10s %6sus %8s\n' "$round" "$test" "wfctl serve" "$w_rps" "$w_50" "$w_99" \
      "$w_cpu" "${ratio}x"
  done
done
# The medians over the rounds: of the ratio wfctl/nginx in requests/s, and of each server's
# CPU time per request.
for test in $TESTS; do
  python3 - "$test" "${RATIOS[$test]}" "${CPUS[$test]}" << 'PY'
import statistics, sys
test, ratios, cpus = sys.argv[1], [float(r) for r in sys.argv[2].split()], sys.argv[3].split()
w = statistics.median(float(c.split("/")[0]) for c in cpus)
n = statistics.median(float(c.split("/")[1]) for c in cpus)
print(f"{test}: ratio wfctl/nginx median {statistics.median(ratios):.2f}x (min {min(ratios):.2f}x, max {max(ratios):.2f}x) "
      f"over {len(ratios)} rounds; CPU per request median wfctl {w:.1f}us, nginx {n:.1f}us")
PY
done
echo "workflows in the store after the create runs: $("$WFCTL" --store "$WORK/store" list -o name | wc -l)"
