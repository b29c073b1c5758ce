#!/usr/bin/env python3
"""fastrapi against fastrapi: one git revision vs another (or the working tree).

    python3 bench/compare_builds.py [--base REV] [--head REV] [--rounds 3]
                                    [--duration 10] [--only hello,deps] [--keep]

Each side is built from its own source into a temporary directory, never in
the repository:
  base   `git archive REV` (default origin/main if it exists, else HEAD~1)
  head   the working tree as it is (tracked and untracked, non-ignored files),
         or `git archive REV` with --head REV
then `pip install --no-deps --no-build-isolation --target DIR/site DIR/src`.
Both servers run bench/apps/app.py of THIS checkout (the same app source for
both sides), with app.serve() in one process each, side by side. Every
endpoint of bench_py.py (including "3-level deps + OAuth2") is checked once on
each side (status 200 and the exact JSON), then wrk (-t2, keep-alive, no
pipelining, every run bounded by --duration) alternates between the two
servers, the order reversed every other round. Prints median req/s of each
side, the ratio of medians (head / base) and the paired ratio (median over
rounds of the per-round ratio, the two runs of a round being back to back).
Not a test: nothing asserts a number.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (BENCH, ROOT, fmt_ms, fmt_rps, free_port, machine_info,  # noqa: E402
                     median, require, run_rounds, stop, wait_ready)
from bench_py import ENDPOINTS, check  # noqa: E402

APPS = os.path.join(BENCH, "apps")
BUILD_TIMEOUT = 900  # seconds, for each of git archive / pip install

# Runs in the server process: this checkout's bench app on the build in argv[1].
SERVE = r"""
import logging, os, sys
site, apps, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path[:0] = [site, apps]
os.environ["BENCH_FRAMEWORK"] = "fastrapi"
import fastrapi
if not os.path.abspath(fastrapi.__file__).startswith(os.path.join(site, "fastrapi")):
    sys.exit("wrong fastrapi imported: %s" % fastrapi.__file__)
from app import app
logging.getLogger("fastrapi.access").disabled = True
app.serve("127.0.0.1", port)
"""


def git(*args, **kw):
    return subprocess.run(["git", "-C", ROOT] + list(args), capture_output=True,
                          timeout=BUILD_TIMEOUT, check=True, **kw).stdout


def default_base():
    for rev in ("origin/main", "HEAD~1"):
        r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "-q", rev + "^{commit}"],
                           capture_output=True, text=True, timeout=60)
        if r.returncode == 0:
            return rev
    raise SystemExit("no origin/main and no HEAD~1: pass --base REV")


def describe(rev):
    if rev is None:
        dirty = git("status", "--porcelain", "--untracked-files=no").strip()
        return "working tree (HEAD %s%s)" % (git("rev-parse", "--short", "HEAD").decode().strip(),
                                             ", modified" if dirty else "")
    sha = git("rev-parse", "--short", rev + "^{commit}").decode().strip()
    return "%s (%s)" % (rev, sha)


def export_source(rev, src):
    """The sources of `rev` (None: the working tree) into src/."""
    os.makedirs(src)
    if rev is not None:
        tar = git("archive", "--format=tar", rev + "^{commit}")
        subprocess.run(["tar", "-x", "-C", src], input=tar, check=True, timeout=BUILD_TIMEOUT)
        return
    names = [n for n in git("ls-files", "-z", "--cached", "--others",
                            "--exclude-standard").decode().split("\0")
             if n and os.path.isfile(os.path.join(ROOT, n))]  # not the deleted ones
    for n in names:
        os.makedirs(os.path.join(src, os.path.dirname(n)), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, n), os.path.join(src, n))


def build(rev, where):
    """Build fastrapi from `rev` into where/site; returns the site directory."""
    src, site = os.path.join(where, "src"), os.path.join(where, "site")
    export_source(rev, src)
    r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        "--no-build-isolation", "--no-index", "--target", site, src],
                       capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    if r.returncode != 0:
        raise SystemExit("build of %s failed:\n%s" % (describe(rev), (r.stdout + r.stderr)[-3000:]))
    env = clean_env()
    r = subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); "
                        "import fastrapi._fastrapi", site], env=env, capture_output=True,
                       text=True, cwd=where, timeout=120)
    if r.returncode != 0:
        raise SystemExit("build of %s does not import:\n%s" % (describe(rev), r.stderr[-3000:]))
    return site


def clean_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # neither side may see the repository's own fastrapi/
    return env


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--base", help="git revision to compare against "
                    "(default origin/main, else HEAD~1)")
    ap.add_argument("--head", help="git revision to measure (default: the working tree)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma list of endpoint keys: " +
                    ",".join(e[0] for e in ENDPOINTS))
    ap.add_argument("--keep", action="store_true", help="keep the build directories")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    require("wrk")
    if args.duration < 1 or args.rounds < 1:
        raise SystemExit("--duration and --rounds must be at least 1")
    base_rev = args.base or default_base()
    sides = [("base", base_rev), ("head", args.head)]
    labels = {name: describe(rev) for name, rev in sides}
    endpoints = [e for e in ENDPOINTS if not args.only or e[0] in args.only.split(",")]
    if not endpoints:
        raise SystemExit("--only matches no endpoint")
    load_at_start = "%.2f %.2f %.2f" % os.getloadavg()

    tmp = tempfile.mkdtemp(prefix="fr-compare-")
    servers = {}  # name -> (proc, port, log)
    results = {}  # (name, key) -> [wrk runs]
    na = {}       # (name, key) -> why the check failed
    try:
        sites = {}
        for name, rev in sides:
            print("building %s: %s" % (name, labels[name]), file=sys.stderr)
            sites[name] = build(rev, os.path.join(tmp, name))
        for name, _ in sides:
            port = free_port()
            log = open(os.path.join(tmp, "%s-%d.log" % (name, port)), "wb")
            proc = subprocess.Popen([sys.executable, "-c", SERVE, sites[name], APPS, str(port)],
                                    env=clean_env(), stdout=log, stderr=subprocess.STDOUT,
                                    cwd=tmp)
            servers[name] = (proc, port, log)
            why = wait_ready(port, "/hello", proc)
            if why:
                log.flush()
                with open(log.name, "rb") as f:
                    tail = f.read().decode("utf-8", "replace").strip()[-2000:]
                raise SystemExit("%s server: %s\n%s" % (name, why, tail))

        results, na = run_rounds(servers, endpoints, check, args, name_width=4, label_width=24)
        died = {name: proc.returncode for name, (proc, _, _) in servers.items()
                if proc.poll() is not None}
    finally:
        for proc, _, log in servers.values():
            stop(proc)
            log.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    def rps(name, key):
        return median(r["rps"] for r in results.get((name, key), []))

    def cell(name, key):
        if (name, key) in na:
            return "N/A (%s)" % na[(name, key)]
        return fmt_rps(rps(name, key))

    def paired(key):
        base = {r["round"]: r["rps"] for r in results.get(("base", key), []) if r["rps"]}
        ratios = [r["rps"] / base[r["round"]] for r in results.get(("head", key), [])
                  if r["rps"] and r["round"] in base]
        return median(ratios)

    print("## fastrapi: head vs base (requests/s, median of %d runs)\n" % args.rounds)
    print("- base: %s\n- head: %s\n" % (labels["base"], labels["head"]))
    print("| endpoint | base | head | head / base | paired | base p99 | head p99 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for key, label, *_ in endpoints:
        a, b, p = rps("head", key), rps("base", key), paired(key)
        p99 = [fmt_ms(median(r["p99_ms"] for r in results.get((n, key), [])))
               for n in ("base", "head")]
        errs = sum(r["errors"] + r["non2xx"] for n in ("base", "head")
                   for r in results.get((n, key), []))
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            label + (" (%d errors/non-2xx)" % errs if errs else ""), cell("base", key),
            cell("head", key), "%.2f×" % (a / b) if a and b else "-",
            "%.2f×" % p if p else "-", p99[0], p99[1]))
    for name, rc in died.items():
        print("\n- %s server died during the run (status %s)" % (name, rc))
    info = machine_info()
    print("\nwrk -t%d -c%d -d%ds --latency, keep-alive, no pipelining, %d rounds alternating "
          "between the two builds; both servers on 127.0.0.1, one process each, sharing the "
          "machine with wrk." % (args.wrk_threads, args.connections, args.duration, args.rounds))
    print("Machine: %s, %s CPUs, Linux %s, Python %s, %s, %s, load average at start %s." % (
        info["cpu"], info["nproc"], info["kernel"], info["python"], info["wrk"], info["date"],
        load_at_start))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "sides": labels,
                       "na": {"%s|%s" % k: v for k, v in na.items()},
                       "results": {"%s|%s" % k: v for k, v in results.items()}}, f, indent=2)


if __name__ == "__main__":
    main()
