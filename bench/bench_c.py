#!/usr/bin/env python3
"""C engine vs nginx: examples/c/hello against nginx `return 200` of the same body.

    python3 bench/bench_c.py [--rounds 3] [--duration 10] [--connections 64]

Both servers run at the same time on 127.0.0.1 with the same number of
threads/workers (default: the CPU count, which is what hello uses), and wrk
(-t2, non-pipelined, keep-alive) alternates between them round by round so
that drifts of the machine hit both alike. Prints a markdown table: median
requests/s over the rounds, median p99 latency, and the ratio to nginx.
Not a test: nothing asserts the numbers.
"""
import argparse
import getpass
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (BUILD, ROOT, cmd_version, fmt_ms, fmt_rps, free_port,  # noqa: E402
                     http_get, machine_info, median, require, run_wrk, stop, wait_ready)

BODY = b'{"message":"Hello World"}'

NGINX_CONF = """\
{user}worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    keepalive_requests 1000000000;
    keepalive_timeout 65;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port};
        default_type application/json;
        location = /hello {{
            return 200 '{body}';
        }}
    }}
}}
"""


def build_hello(cc, cflags):
    os.makedirs(BUILD, exist_ok=True)
    out = os.path.join(BUILD, "hello")
    cmd = [cc] + cflags.split() + ["-std=c11", "-I", ROOT,
                                   os.path.join(ROOT, "examples", "c", "hello.c"),
                                   "-o", out, "-lpthread", "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("building hello failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    shown = [cc] + cflags.split() + ["-std=c11", "-I.", "examples/c/hello.c", "-o", "hello",
                                     "-lpthread", "-lm"]
    return out, " ".join(shown)


def start_hello(exe):
    port = free_port()
    proc = subprocess.Popen([exe, str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    return proc, port


def start_nginx(tmp, workers):
    port = free_port()
    conf = os.path.join(tmp, "nginx.conf")
    user = ""
    if os.geteuid() == 0:  # workers would switch to 'nobody'; stay the current user
        user = "user %s;\n" % getpass.getuser()
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(user=user, workers=workers, prefix=tmp, port=port,
                                  body=BODY.decode()))
    proc = subprocess.Popen(["nginx", "-c", conf, "-p", tmp, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="nginx worker_processes; hello uses the CPU count (default)")
    ap.add_argument("--cc", default="gcc")
    ap.add_argument("--cflags", default="-O2")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    for tool in ("wrk", "nginx", args.cc):
        require(tool)

    hello_exe, build_cmd = build_hello(args.cc, args.cflags)
    load_at_start = "%.2f %.2f %.2f" % os.getloadavg()
    results = {"fastrapi (examples/c/hello)": [], "nginx": []}
    with tempfile.TemporaryDirectory(prefix="fr-bench-nginx-") as tmp:
        servers = {}
        try:
            servers["fastrapi (examples/c/hello)"] = start_hello(hello_exe)
            servers["nginx"] = start_nginx(tmp, args.workers)
            for name, (proc, port) in servers.items():
                why = wait_ready(port, "/hello", proc)
                if why:
                    raise SystemExit("%s did not start: %s" % (name, why))
                status, body = http_get(port, "/hello")
                if status != 200 or body != BODY:
                    raise SystemExit("%s answered %s %r" % (name, status, body))
            # warm-up (caches, page faults, the JIT of nobody): 2 s each, discarded
            for name, (proc, port) in servers.items():
                run_wrk("http://127.0.0.1:%d/hello" % port, 2, args.connections,
                        args.wrk_threads)
            order = list(servers)
            for rnd in range(args.rounds):
                for name in (order if rnd % 2 == 0 else order[::-1]):
                    proc, port = servers[name]
                    res = run_wrk("http://127.0.0.1:%d/hello" % port, args.duration,
                                  args.connections, args.wrk_threads)
                    if proc.poll() is not None:
                        raise SystemExit("%s died during the run" % name)
                    res.pop("raw")
                    results[name].append(res)
                    print("round %d %-28s %10s req/s  p99 %s  errors %d non2xx %d" % (
                        rnd + 1, name, fmt_rps(res["rps"]), fmt_ms(res["p99_ms"]),
                        res["errors"], res["non2xx"]), file=sys.stderr)
        finally:
            for proc, _ in servers.values():
                stop(proc)

    info = machine_info()
    info["nginx"] = cmd_version(["nginx", "-v"])
    info["cc"] = cmd_version([args.cc, "--version"])
    info["load"] = load_at_start
    base = median(r["rps"] for r in results["nginx"])
    print("## C engine vs nginx (hello JSON)\n")
    print("| server | req/s (median of %d) | p99 latency | vs nginx | vs nginx, paired |"
          % args.rounds)
    print("|---|---:|---:|---:|---:|")
    for name, runs in results.items():
        rps = median(r["rps"] for r in runs)
        p99 = median(r["p99_ms"] for r in runs)
        ratio = "%.2f×" % (rps / base) if rps and base else "-"
        # paired: median over rounds of (this round's req/s / nginx's same round),
        # robust against the machine's speed drifting between rounds
        pairs = [a["rps"] / b["rps"] for a, b in zip(runs, results["nginx"])
                 if a["rps"] and b["rps"]]
        paired = "%.2f×" % median(pairs) if pairs else "-"
        print("| %s | %s | %s | %s | %s |" % (name, fmt_rps(rps), fmt_ms(p99), ratio, paired))
    print()
    print("wrk -t%d -c%d -d%ds --latency, keep-alive, no pipelining; %d rounds alternating; "
          "nginx worker_processes %d, hello threads = CPU count (%s); both on 127.0.0.1 "
          "sharing the machine with wrk." % (args.wrk_threads, args.connections,
                                             args.duration, args.rounds, args.workers,
                                             info["nproc"]))
    print("hello built with: %s" % build_cmd)
    print("Machine: %s, %s CPUs, Linux %s; %s; %s; %s; %s; load average at start %s." % (
        info["cpu"], info["nproc"], info["kernel"], info["wrk"], info["nginx"],
        info["cc"], info["date"], info["load"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "args": vars(args), "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
