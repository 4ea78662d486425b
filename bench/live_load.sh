#!/bin/bash
# live_load.sh - live-capture load test on loopback (root): nginx on a local port driven by wrk
# (keep-alive HTTP) while connscope -i lo runs; then a SYN flood from spoofed sources. Prints the
# packets/s connscope analysed, kernel drops, CPU and peak RSS, and RSS over time under the flood.
# usage: bench/live_load.sh [SECONDS] [WRK_CONNECTIONS]
set -u
SECS=${1:-60}
CONNS=${2:-50}
HERE=$(cd "$(dirname "$0")" && pwd)
CS=${CONNSCOPE:-$HERE/../connscope}
PORT=18777
for p in nginx wrk; do command -v $p >/dev/null || { echo "needs $p (apt-get install nginx-light wrk)"; exit 1; }; done
W=$(mktemp -d)
trap 'kill $(cat $W/nginx.pid 2>/dev/null) 2>/dev/null; rm -rf $W' EXIT
mkdir -p $W/www $W/logs
head -c 2048 /dev/urandom | base64 > $W/www/index.html
cat > $W/nginx.conf <<EOF2
worker_processes 1; pid $W/nginx.pid; error_log $W/logs/error.log;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 100000;
  server { listen 127.0.0.1:$PORT; root $W/www; } }
EOF2
nginx -c $W/nginx.conf -p $W
sleep 0.5
echo "== keep-alive HTTP load: wrk -t1 -c$CONNS -d${SECS}s against nginx, connscope -i lo --interval 10"
/usr/bin/time -f "connscope: %e s wall, %U s user, %S s sys, peak RSS %M KB" -o $W/time \
    "$CS" -i lo -f "tcp port $PORT" --duration $((SECS + 2)) --interval 10 --json > $W/load.json &
CSPID=$!
sleep 1
wrk -t1 -c"$CONNS" -d"${SECS}s" "http://127.0.0.1:$PORT/index.html" | grep -E "Requests/sec|requests in"
wait $CSPID
cat $W/time
python3 - $W/load.json $SECS <<'PY'
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1])]
s = [o for o in objs if o["type"] == "summary"][0]
print("connscope analysed %d packets (%.0f pkt/s), %d HTTP requests paired %d; kernel: received %d, dropped %d, if_dropped %d"
      % (s["packets"], s["packets"] / float(sys.argv[2]), s["http_requests"], s["http_paired"],
         s["drops"]["received"], s["drops"]["dropped"], s["drops"]["if_dropped"]))
for o in objs:
    if o["type"] == "interval":
        print("  interval: %d packets, %d requests, drops %s" % (o["packets"], o["http"]["requests"], o["drops"]))
PY
echo "== SYN flood from spoofed 127.x.y.z sources, connscope --max-conns 100000"
"$CS" -i lo -f "tcp dst port 18998" --duration 32 --max-conns 100000 > /dev/null &
CSPID=$!
sleep 1
python3 "$HERE/synflood.py" 18998 --pps 30000 --seconds 30 &
for t in 5 10 15 20 25 30; do sleep 5; echo "  t=${t}s connscope RSS $(ps -o rss= -p $CSPID) KB"; done
wait
