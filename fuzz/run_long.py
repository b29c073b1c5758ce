#!/usr/bin/env python3
"""Long offline fuzzing: every libFuzzer harness in fuzz/ (fuzz_*.c, built
like tests/test_fuzz.py: clang -fsanitize=fuzzer,address,undefined) and the
atheris harness (fuzz/atheris_json.py), each for --seconds (default 3600),
--parallel at a time (default: the core count). Corpora grow in
build/fuzz/corpus-<name> (the ones CI starts from); crashes land in
build/fuzz/long-<date>/<name>/ with each campaign's log. Prints a table:
harness, executions, exit status, artifacts. Exit status 1 if any found one.

    python3 fuzz/run_long.py                      # an hour each
    python3 fuzz/run_long.py --seconds 600 --only fuzz_json,atheris_json
"""
import argparse
import datetime
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from cbuild import BUILD  # noqa: E402
from test_fuzz import HARNESSES, _build  # noqa: E402

ATHERIS = ["atheris_json"]


def command(name, seconds, art, corpus):
    opts = ["-max_total_time=%d" % seconds, "-timeout=30", "-rss_limit_mb=2048",
            "-artifact_prefix=%s/" % art, "-print_final_stats=1", corpus]
    seeds = os.path.join(HERE, "seeds", name)
    if os.path.isdir(seeds):
        opts.append(seeds)
    if name in ATHERIS:
        return [sys.executable, os.path.join(HERE, name + ".py")] + opts
    return [_build(name)] + opts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--seconds", type=int, default=3600, help="wall time per harness")
    ap.add_argument("--parallel", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--only", default="", help="comma-separated harness names")
    args = ap.parse_args()
    names = HARNESSES + ATHERIS
    if args.only:
        want = set(args.only.split(","))
        unknown = want - set(names)
        if unknown:
            raise SystemExit("unknown harness: %s (have: %s)" % (", ".join(sorted(unknown)), ", ".join(names)))
        names = [n for n in names if n in want]
    out_dir = os.path.join(BUILD, "fuzz", "long-" + datetime.datetime.now().strftime("%Y%m%d-%H%M%S"))
    todo, running, done = list(names), {}, {}
    while todo or running:
        while todo and len(running) < args.parallel:
            name = todo.pop(0)
            art = os.path.join(out_dir, name)
            os.makedirs(art, exist_ok=True)
            corpus = os.path.join(BUILD, "fuzz", "corpus-" + name)
            os.makedirs(corpus, exist_ok=True)
            log = open(os.path.join(out_dir, name + ".log"), "w+")
            try:
                cmd = command(name, args.seconds, art, corpus)
            except AssertionError as e:  # the build failed
                log.write(str(e))
                done[name] = ("build failed", None, log)
                continue
            print("%s  start %s (%d s)" % (time.strftime("%H:%M:%S"), name, args.seconds), file=sys.stderr)
            running[name] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=art), log)
        time.sleep(1)
        for name, (p, log) in list(running.items()):
            if p.poll() is not None:
                done[name] = (p.returncode, art_files(os.path.join(out_dir, name)), log)
                del running[name]
                print("%s  done  %s: exit %s" % (time.strftime("%H:%M:%S"), name, p.returncode),
                      file=sys.stderr)
    print("| harness | executions | exit | artifacts |")
    print("|---|---:|---:|---|")
    bad = 0
    for name in names:
        rc, arts, log = done[name]
        log.seek(0)
        text = log.read()
        execs = text.split("stat::number_of_executed_units:")[1].split()[0] \
            if "stat::number_of_executed_units:" in text else "-"
        bad += rc != 0
        print("| %s | %s | %s | %s |" % (name, execs, rc, ", ".join(arts or []) or "-"))
    print("\n%d s per harness, %d at a time, logs in %s; %s." % (
        args.seconds, args.parallel, out_dir, datetime.datetime.now(datetime.timezone.utc)
        .strftime("%Y-%m-%d %H:%M UTC")))
    return 1 if bad else 0


def art_files(d):
    return sorted(f for f in os.listdir(d) if f.startswith(("crash-", "leak-", "timeout-", "oom-"))) \
        if os.path.isdir(d) else []


if __name__ == "__main__":
    sys.exit(main())
