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
    """None if the request answers 200 with JSON equal to want, else a reason."""
    import json
    try:
        status, data = http_get(port, path, method=method, body=body, headers=headers,
                                timeout=10)
    except OSError as e:
        return "error: %s" % e
    if status != 200:
        return "status %d" % status
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
