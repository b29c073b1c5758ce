"""Helpers shared by the bench/ scripts (standard library only)."""
import datetime
import http.client
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "bench")
BUILD = os.path.join(ROOT, "build", "bench")


# The end of a bench app's source: serve `app` on 127.0.0.1:`port` with
# uvicorn (uvloop + httptools when installed) when `framework` is "fastapi",
# else with fastrapi's own server; access logs off.
SERVE_APP = r"""
if framework == "fastapi":
    import importlib.util, uvicorn
    fast = importlib.util.find_spec("uvloop") and importlib.util.find_spec("httptools")
    uvicorn.run(app, host="127.0.0.1", port=port, workers=1, loop="uvloop" if fast else "asyncio",
                http="httptools" if fast else "h11", access_log=False, log_level="warning")
else:
    logging.getLogger("fastrapi.access").disabled = True
    app.serve("127.0.0.1", port, access_log=False, log_level="warning")
"""

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http_get(port, path, method="GET", body=None, headers=None, timeout=5.0):
    """One request; returns (status, body bytes). Raises OSError on failure."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def check_json(port, method, path, want, body=None, headers=None):
    """None if the request answers 200 with JSON equal to want (bytes: a body
    equal to want), else a reason."""
    import json
    try:
        status, data = http_get(port, path, method=method, body=body, headers=headers,
                                timeout=10)
    except OSError as e:
        return "error: %s" % e
    if status != 200:
        return "status %d" % status
    if isinstance(want, bytes):
        return None if data == want else "wrong body %r" % data[:60]
    try:
        got = json.loads(data)
    except ValueError:
        return "not JSON: %r" % data[:60]
    return None if got == want else "wrong answer %s" % json.dumps(got)[:60]


def wait_ready(port, path, proc, timeout=30.0):
    """Poll until GET path answers (any status). Returns None or a reason."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return "exited with status %s" % proc.returncode
        try:
            http_get(port, path, timeout=1.0)
            return None
        except OSError:
            time.sleep(0.1)
    return "not answering after %.0f s" % timeout


def stop(proc, timeout=15.0):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def stop_group(proc, timeout=5.0):
    """Stop a server started with start_new_session=True: SIGTERM to its
    process group (the server and whatever it forked), then SIGKILL to what
    is left of the group once the server exited or after timeout."""
    import signal
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def run_wrk(url, duration, connections, threads, script=None, headers=()):
    """Run wrk (no pipelining: one request in flight per connection).
    Returns {"rps", "requests", "p50_ms", "p99_ms", "errors", "non2xx", "raw"}."""
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 60)
    out = r.stdout + r.stderr
    res = {"rps": None, "requests": None, "p50_ms": None, "p99_ms": None, "errors": 0,
           "non2xx": 0, "raw": out}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"^\s*(\d+) requests in ", out, re.M)
    if m:
        res["requests"] = int(m.group(1))
    for pct, key in (("50", "p50_ms"), ("99", "p99_ms")):
        m = re.search(r"^\s+%s(?:\.000)?%%\s+(\S+)" % pct, out, re.M)
        if m:
            res[key] = _ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] = sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        res["non2xx"] = int(m.group(1))
    return res


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_rps(x):
    return "%.0f" % x if x is not None else "-"


def fmt_ms(x):
    return "%.2f ms" % x if x is not None else "-"


def cmd_version(cmd):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


def machine_info():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "wrk": cmd_version(["wrk", "--version"]).split(" Copyright")[0],
    }


def require(tool):
    if not shutil.which(tool):
        raise SystemExit("%s not found (Debian: apt-get install %s)" % (tool, tool))


def tree_pids(pid):
    """pid and all its descendants (Linux /proc; [pid] elsewhere)."""
    children = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return [pid]
    for d in names:
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, ()))
    return out


def tree_cpu_seconds(pid):
    """User + system CPU seconds used so far by pid and its live descendants
    (all their threads), from /proc/<pid>/stat; None where /proc is missing."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    total, seen = 0, False
    for p in tree_pids(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
            seen = True
        except (OSError, IndexError, ValueError):
            continue
    return total / tick if seen else None


def tree_rss_bytes(pid):
    """Resident memory (VmRSS) of pid plus its live descendants, in bytes."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, ValueError):
            continue
    return total


def raise_nofile(want):
    """Raise this process's soft RLIMIT_NOFILE towards want (children inherit
    it). Returns the soft limit in force afterwards."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run_rounds(servers, endpoints, check, args, name_width=22, label_width=20, na=None):
    """Check each endpoint once per server (a failed check makes that cell
    N/A), then run wrk over every (endpoint, server) for args.rounds rounds,
    alternating the server order each round. servers: name -> (proc, port,
    log). na: {(name, key): why} cells not to check nor measure. Each wrk
    result also gets the server's CPU use over the run ("cpu_us_per_req",
    from /proc: the process and its children). Returns (results {(name,
    key): [wrk result]}, na {(name, key): why})."""
    import sys
    na, results = dict(na or {}), {}
    for name, (_, port, _) in servers.items():
        for key, _, method, path, want, _ in endpoints:
            if (name, key) in na:
                continue
            why = check(port, method, path, want)
            if why:
                na[(name, key)] = why
                print("%s %s: N/A (%s)" % (name, key, why), file=sys.stderr)
    order = list(servers)
    for rnd in range(args.rounds):
        for key, label, method, path, want, extra in endpoints:
            for name in (order if rnd % 2 == 0 else order[::-1]):
                proc, port, _ = servers[name]
                if (name, key) in na or proc.poll() is not None:
                    continue
                cpu0 = tree_cpu_seconds(proc.pid)
                res = run_wrk("http://127.0.0.1:%d%s" % (port, path), args.duration,
                              args.connections, args.wrk_threads,
                              script=extra.get("script"), headers=extra.get("headers", ()))
                cpu1 = tree_cpu_seconds(proc.pid)
                res.pop("raw")
                res["cpu_us_per_req"] = None
                if cpu0 is not None and cpu1 is not None and res["requests"]:
                    res["cpu_us_per_req"] = (cpu1 - cpu0) * 1e6 / res["requests"]
                res["round"] = rnd
                results.setdefault((name, key), []).append(res)
                print("round %d %-*s %-*s %9s req/s p99 %s errors %d non2xx %d" % (
                    rnd + 1, label_width, label, name_width, name, fmt_rps(res["rps"]),
                    fmt_ms(res["p99_ms"]), res["errors"], res["non2xx"]), file=sys.stderr)
    return results, na


def wrk_parser(doc):
    """An ArgumentParser described by doc's second line, with the wrk options
    every bench script takes: --rounds, --duration, --connections,
    --wrk-threads."""
    import argparse
    ap = argparse.ArgumentParser(description=doc.split("\n")[1])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    return ap


def python_env():
    """os.environ with this checkout first on PYTHONPATH."""
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def start_server(servers, failed, name, cmd, port, ready, env=None):
    """Run cmd (stdout dropped, stderr kept in a temporary file) and wait
    until GET ready answers on port: then servers[name] = (proc, port, log);
    else stop it and failed[name] = why, with the end of its stderr."""
    import tempfile
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=log)
    why = wait_ready(port, ready, proc)
    if why:
        stop(proc)
        log.seek(0)
        failed[name] = "%s: %s" % (why, log.read().strip()[-300:])
        return
    servers[name] = (proc, port, log)


def print_table(names, endpoints, servers, failed, results, na, base_name, ratio_head, ratio,
                endpoint_column=True):
    """The Markdown table of run_rounds' results: a row per (server in names
    order, endpoint) with the medians of req/s, p99 and server CPU µs/req, and
    ratio(rps / base_name's rps on the same endpoint) under ratio_head. A
    server in neither servers nor failed (skipped) has no row."""
    head = ["server"] + (["endpoint"] if endpoint_column else [])
    print("| %s | req/s | p99 | server CPU µs/req | %s |" % (" | ".join(head), ratio_head))
    print("|%s---:|---:|---:|---:|" % ("---|" * len(head)))
    for name in names:
        for key, label, *_ in endpoints:
            cells = [name] + ([label] if endpoint_column else [])
            if name in failed:
                print("| %s | failed | | | |" % " | ".join(cells))
                continue
            if name not in servers:
                continue
            if (name, key) in na:
                print("| %s | N/A (%s) | | | |" % (" | ".join(cells), na[(name, key)]))
                continue
            rs = results.get((name, key), [])
            rps = median([r["rps"] for r in rs])
            base = median([r["rps"] for r in results.get((base_name, key), [])])
            cpu = median([r["cpu_us_per_req"] for r in rs])
            print("| %s | %s | %s | %s | %s |" % (
                " | ".join(cells), fmt_rps(rps), fmt_ms(median([r["p99_ms"] for r in rs])),
                "%.1f" % cpu if cpu is not None else "-", ratio(rps / base) if rps and base else "-"))


def print_footer(args, results, na, failed, note=""):
    """After the table: the wrk line (with note), the machine line, why a
    server failed to start; and the results in args.json if given."""
    import json
    info = machine_info()
    print("\nwrk -t%d -c%d -d%ds, keep-alive, no pipelining, median of %d rounds%s.  "
          % (args.wrk_threads, args.connections, args.duration, args.rounds, note))
    print("%s, %s cores, Linux %s, Python %s, %s, %s. Load average: %s."
          % (info["cpu"], info["nproc"], info["kernel"], info["python"], info["wrk"], info["date"],
             " ".join("%.2f" % x for x in os.getloadavg())))
    for name, why in failed.items():
        print("\n%s failed: %s" % (name, why))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": {"%s|%s" % k: v for k, v in results.items()},
                       "na": {"%s|%s" % k: v for k, v in na.items()}, "machine": info}, f, indent=1)
