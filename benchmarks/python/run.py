"""What the `botpulse` Python package costs a bot: microseconds per call on the bot's thread
(capturing builds and queues; sending happens on a background thread), and what reached a local
stand-in intake. Each scenario runs in a fresh interpreter (sentry-sdk can be initialised once per
process). Prints a table and writes results/<stamp>.json and results/latest.json.

    PYTHONPATH=packages/python /usr/bin/python3 benchmarks/python/run.py [--events 500]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

SCENARIO = r'''
import gzip, http.server, json, logging, sys, threading, time
mode, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if mode == "own":
    sys.modules["sentry_sdk"] = None
received = {"items": 0}
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        length = self.headers.get("Content-Length")
        body = self.rfile.read(int(length)) if length else b""
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        lines = body.split(b"\n")
        received["items"] += 1 if "/store/" in self.path else sum(1 for l in lines[1:] if l.startswith(b'{"') and b'"type"' in l and (b'"event"' in l or b'"log"' in l))
        self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *a): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sink)
threading.Thread(target=server.serve_forever, daemon=True).start()
import botpulse
from telegram.error import RetryAfter
client = botpulse.init(dsn="http://0123456789abcdef0123456789abcdef@127.0.0.1:%d/1" % server.server_address[1], environment="production")
log = logging.getLogger("bench"); log.setLevel(logging.INFO); log.propagate = False
log.addHandler(botpulse.BotpulseHandler())
update = {"update_id": 1, "message": {"message_id": 1, "chat": {"id": 5, "type": "private"}, "from": {"id": 5, "first_name": "A", "language_code": "en"}, "text": "hi"}}
def handler(i):
    raise ValueError("payment %d failed" % i)
calls = []
for i in range(n):
    if kind == "error":
        try:
            handler(i)
        except ValueError as exc:
            t = time.perf_counter(); botpulse.capture_exception(exc, update=update); calls.append(time.perf_counter() - t)
    elif kind == "noise":
        try:
            raise RetryAfter(5)
        except RetryAfter as exc:
            t = time.perf_counter(); botpulse.capture_exception(exc, update=update); calls.append(time.perf_counter() - t)
    else:
        with botpulse.update_scope(update):
            t = time.perf_counter(); log.info("User balance checked", extra={"operation": "check_balance", "duration_ms": 45}); calls.append(time.perf_counter() - t)
    if kind != "noise" and i % 50 == 49:
        time.sleep(0.05)  # a bot's errors come in bursts, not all at once: the queues get to drain
t = time.perf_counter(); botpulse.flush(30); flush_s = time.perf_counter() - t
calls.sort()
print(json.dumps({"median_us": calls[len(calls)//2] * 1e6, "p99_us": calls[int(len(calls)*0.99)] * 1e6,
                  "received": received["items"], "flush_s": flush_s, "sentry": client.uses_sentry_sdk,
                  "discarded": client.counters()["discarded"]}))
'''


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=500)
    args = parser.parse_args()
    rows = []
    for mode in ("own", "sentry"):
        for kind in ("error", "noise", "log"):
            out = subprocess.run([sys.executable, "-c", SCENARIO, mode, kind, str(args.events)], capture_output=True, text=True, timeout=300,
                                 env=dict(os.environ, PYTHONWARNINGS="ignore"))
            if out.returncode != 0:
                sys.stderr.write(out.stderr)
                raise SystemExit(1)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append({"transport": "sentry-sdk %s" % _sentry_version() if r["sentry"] else "own (urllib)", "call": {"error": "capture_exception (reported)", "noise": "capture_exception (RetryAfter: noise)", "log": "logger.info via BotpulseHandler"}[kind],
                         "calls": args.events, "median_us": round(r["median_us"], 1), "p99_us": round(r["p99_us"], 1),
                         "items_received": r["received"] if kind != "log" else "%d (batched)" % r["received"], "flush_s": round(r["flush_s"], 2),
                         "discarded": json.dumps(r["discarded"]) if r["discarded"] else "-"})
    header = list(rows[0].keys())
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in header]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    print("botpulse (Python) cost on the bot's thread; %d calls per row, fresh interpreter per row" % args.events)
    print()
    print(line(header))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print(line([r[h] for h in header]))
    print()
    print("%s %s, %s, load average %s" % (platform.python_implementation(), platform.python_version(), platform.machine(), ", ".join("%.1f" % x for x in os.getloadavg())))
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "python": platform.python_version(),
              "loadavg": os.getloadavg(), "rows": rows}
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    for name in (time.strftime("%Y%m%d-%H%M%S") + ".json", "latest.json"):
        with open(os.path.join(HERE, "results", name), "w") as f:
            json.dump(result, f, indent=2)


def _sentry_version():
    try:
        import sentry_sdk
        return sentry_sdk.VERSION
    except ImportError:
        return "?"


if __name__ == "__main__":
    main()
