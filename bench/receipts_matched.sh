#!/usr/bin/env bash
# receipts_matched.sh [RUNS] [PEERS]: the comparison's bulk load with a delivery receipt per
# message, measured until the gateway has matched every receipt to its message.
#
#   bench/receipts_matched.sh              # 3 runs, the harness in ../shared/peers
#
# The peer harness (`PEERS/ours/run.sh`, `PEERS/ours/bench.sh`) counts the submit_sm at its
# sink; this script runs the same load (1,000 MULDES of 100 numbers at 10 connections,
# after a warm-up of 20) against the harness's sink sending a receipt 0.1 s after each
# submit_sm (`smpp_sink.py --dlr --dlr-delay 0.1`, the receipts on the transceiver bind) and
# polls GET /api/V1/admin/acteurs (`accuses.rapproches`) every 50 ms until the 100,000
# receipts of the run are matched and recorded. The clock starts just before the load client.
# The harness's run.sh takes no sink arguments: it runs from a copy in a temporary folder
# whose run.sh passes OURS_SINK_ARGS to the sink. One gateway for all runs, on ports 18780
# (HTTP) and 2892 (sink). Prints a table and appends it to bench/RESULTS.md with the date and
# the command.
set -euo pipefail

RUNS=${1:-3}
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS="$(cd "${2:-$ROOT/../shared/peers}" && pwd)"
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || { echo "receipts_matched.sh: RUNS must be a positive number" >&2; exit 2; }
[ -x "$PEERS/ours/run.sh" ] || { echo "receipts_matched.sh: no ours/run.sh in $PEERS" >&2; exit 2; }

WORK="$(mktemp -d)"
cp -r "$PEERS" "$WORK/peers"
sed -i 's|  --stats "\$OURS_WORK/sink.json"|  ${OURS_SINK_ARGS:-} --stats "$OURS_WORK/sink.json"|' "$WORK/peers/ours/run.sh"
grep -q 'OURS_SINK_ARGS' "$WORK/peers/ours/run.sh" || {
  echo "receipts_matched.sh: could not pass sink arguments through $PEERS/ours/run.sh" >&2; exit 1; }

export OURS_HTTP_PORT=18780 OURS_SINK_PORT=2892 OURS_WORK="$WORK/ours"
export OURS_SINK_ARGS="--dlr --dlr-delay 0.1"
TOKEN=${OURS_ADMIN_TOKEN:-bench-admin-token}
cd "$WORK/peers"
cleanup() { ./ours/stop.sh > "$WORK/stop.txt" 2>&1 || true; }
trap cleanup EXIT
./ours/run.sh "$ROOT" > "$WORK/run.txt" 2>&1 || { echo "receipts_matched.sh: the gateway did not start:" >&2; tail "$WORK/run.txt" >&2; exit 1; }

matched() {
  curl -sf --max-time 5 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$OURS_HTTP_PORT/api/V1/admin/acteurs" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["accuses"]["rapproches"])'
}

./ours/bench.sh 20 10 100 > /dev/null 2>&1
ROWS=()
for i in $(seq "$RUNS"); do
  base=$(matched)
  t0=$(date +%s.%N)
  ./ours/bench.sh 1000 10 100 > "$WORK/bench.txt" 2>&1 &
  client=$!
  deadline=$((SECONDS + 120))
  while :; do
    m=$(matched || echo -1)  # a poll that fails is tried again until the deadline
    [ "$m" -ge $((base + 100000)) ] && break
    [ $SECONDS -lt $deadline ] || { echo "receipts_matched.sh: run $i: $((m - base)) of 100000 receipts matched after 120 s" >&2; exit 1; }
    sleep 0.05
  done
  t1=$(date +%s.%N)
  wait "$client" || { echo "receipts_matched.sh: run $i: the load did not complete:" >&2; tail "$WORK/bench.txt" >&2; exit 1; }
  e2e=$(grep -o 'end-to-end rate  : [0-9.]*' "$WORK/bench.txt" | awk '{print $4}')
  cpu=$(grep -o 'CPU/msg  : [0-9.]*' "$WORK/bench.txt" | awk '{print $3}')
  ROWS+=("$(python3 -c "t = $t1 - $t0; print(f'| $i | {float($e2e):,.0f} | $cpu | {t:.2f} | {100000 / t:,.0f} |')")")
done
cleanup
trap - EXIT
PEAK=$(grep -o 'stopped gateway (pid [0-9]*, peak RSS [0-9]* kB)' "$WORK/stop.txt" | grep -o '[0-9]* kB' || echo "?")

TABLE="$(printf '%s\n' \
  "| run | submit_sm at the sink, e2e msg/s | gateway CPU ms/msg | every receipt matched after (s) | every receipt matched, msg/s |" \
  "|---|---|---|---|---|" "${ROWS[@]}")"
echo "$TABLE"
echo "gateway peak RSS: $PEAK"
{
  echo
  echo "## Every receipt matched, bulk 1,000 × 100 with a receipt per message ($(date -u))"
  echo
  echo "Command: \`bench/receipts_matched.sh $RUNS\` (commit \`$(git -C "$ROOT" rev-parse --short HEAD)\`; harness \`$PEERS\`)."
  echo
  echo "$TABLE"
  echo
  echo "Gateway peak RSS over the warm-up and the runs: $PEAK (the snapshot polled every 50 ms included)."
} >> "$ROOT/bench/RESULTS.md"
rm -rf "$WORK"
