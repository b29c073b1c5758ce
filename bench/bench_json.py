#!/usr/bin/env python3
"""JSON codecs: fastrapi's (the engine's, fastrapi._fastrapi.dumps/loads) vs
json, orjson and msgspec, on one generated mixed document of tens of MB.

    python3 bench/bench_json.py [--mb 30] [--reps 3] [--json FILE]

The document is a list of records with nested objects, ASCII and non-ASCII
strings (escapes included), floats, ints, bools and nulls, built by a seeded
generator (the same bytes every run). Each codec encodes the Python objects to
UTF-8 JSON bytes (json: json.dumps(...).encode(), compact separators) and
decodes those bytes back to Python objects; the time is the best of --reps
runs (after one untimed run), since the only noise here is other processes.
Before timing, every codec's output must decode (with json) to a document
equal to the original, and its decoder must give back the original: a codec
that fails is shown as failed, not timed. A codec that is not installed is
shown as "not installed". Not a test: nothing asserts a number.

fastrapi is imported from this repository (the directory above bench/) when
it is on sys.path or PYTHONPATH; bench_peers.py runs this script with
PYTHONPATH set that way.
"""
import argparse
import gc
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

WORDS = ["alpha", "beta", "Łódź", "naïve", "東京", "emoji 🎉", "tab\there", 'quote "q"',
         "back\\slash", "Ωμέγα", "plain", "x" * 40]


def make_doc(target_mb, seed=1234):
    """A list of records of about target_mb MB once encoded."""
    rnd = random.Random(seed)
    recs = []
    size = 0
    i = 0
    while size < target_mb * 1_000_000:
        rec = {
            "id": i,
            "uid": rnd.getrandbits(62),
            "name": "%s %s %d" % (rnd.choice(WORDS), rnd.choice(WORDS), i),
            "active": i % 3 == 0,
            "score": rnd.random() * 1000.0,
            "ratio": rnd.uniform(-1e6, 1e6),
            "tiny": rnd.random() * 1e-9,
            "note": None if i % 5 else "—" * (i % 7),
            "tags": [rnd.choice(WORDS) for _ in range(rnd.randint(0, 6))],
            "geo": {"lat": rnd.uniform(-90, 90), "lon": rnd.uniform(-180, 180),
                    "alt": rnd.randint(-400, 9000)},
            "history": [{"t": 1_700_000_000 + rnd.randint(0, 10 ** 7), "v": rnd.random()}
                        for _ in range(rnd.randint(0, 4))],
        }
        recs.append(rec)
        if i % 1000 == 0:  # estimate the size from a sample, cheaply
            size = len(json.dumps(recs[-1000:], ensure_ascii=False).encode()) * (len(recs) / min(
                len(recs), 1000))
        i += 1
    return {"generated": "bench_json.py", "count": len(recs), "records": recs}


def codecs():
    """name -> (encode(obj) -> bytes, decode(bytes) -> obj, version) or a str why not."""
    out = {}
    try:
        from fastrapi import _fastrapi as fr
        import fastrapi
        where = os.path.abspath(fastrapi.__file__)
        if not where.startswith(os.path.join(ROOT, "fastrapi")):
            out["fastrapi"] = "not this repository's fastrapi: %s" % where
        else:
            out["fastrapi"] = (fr.dumps, fr.loads, "this repository")
    except ImportError as e:
        out["fastrapi"] = "not importable: %s" % e
    out["json"] = (lambda o: json.dumps(o, ensure_ascii=False, separators=(",", ":")).encode(),
                   json.loads, "stdlib, Python %s" % sys.version.split()[0])
    try:
        import orjson
        out["orjson"] = (orjson.dumps, orjson.loads, orjson.__version__)
    except ImportError:
        out["orjson"] = "not installed"
    try:
        import msgspec
        enc, dec = msgspec.json.Encoder(), msgspec.json.Decoder()
        out["msgspec"] = (enc.encode, dec.decode, msgspec.__version__)
    except ImportError:
        out["msgspec"] = "not installed"
    return out


def best_of(fn, arg, reps):
    fn(arg)  # untimed: page faults, caches
    best = None
    for _ in range(reps):
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            fn(arg)
            dt = time.perf_counter() - t0
        finally:
            gc.enable()
        best = dt if best is None else min(best, dt)
    return best


def run(mb, reps, log=sys.stderr):
    t0 = time.perf_counter()
    doc = make_doc(mb)
    ref = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    print("document: %d records, %.1f MB as compact UTF-8 JSON (made in %.1f s)" % (
        doc["count"], len(ref) / 1e6, time.perf_counter() - t0), file=log)
    results = {"doc_bytes": len(ref), "records": doc["count"], "codecs": {}}
    for name, c in codecs().items():
        if isinstance(c, str):
            results["codecs"][name] = {"error": c}
            print("%-9s %s" % (name, c), file=log)
            continue
        enc, dec, version = c
        try:
            out = enc(doc)
            if json.loads(out) != doc:
                raise ValueError("its output decodes to another document")
            if dec(ref) != doc:
                raise ValueError("it decodes the document to something else")
        except Exception as e:  # noqa: BLE001 - a failing codec is a result
            results["codecs"][name] = {"error": "failed: %s" % e, "version": version}
            print("%-9s failed: %s" % (name, e), file=log)
            continue
        te = best_of(enc, doc, reps)
        td = best_of(dec, ref, reps)
        results["codecs"][name] = {"encode_s": te, "decode_s": td, "version": version,
                                   "out_bytes": len(out)}
        print("%-9s encode %7.1f ms  decode %7.1f ms" % (name, te * 1e3, td * 1e3), file=log)
    return results


def table(results, reps):
    mb = results["doc_bytes"] / 1e6
    base = results["codecs"].get("orjson", {})
    lines = ["| codec | encode | decode | encode MB/s | decode MB/s "
             "| time vs orjson (encode / decode) |", "|---|---:|---:|---:|---:|---:|"]
    for name, r in results["codecs"].items():
        if "error" in r:
            lines.append("| %s | %s | | | | |" % (name, r["error"]))
            continue
        vs = "-"
        if "encode_s" in base:
            vs = "%.2f× / %.2f×" % (r["encode_s"] / base["encode_s"],
                                    r["decode_s"] / base["decode_s"])
        lines.append("| %s %s | %.1f ms | %.1f ms | %.0f | %.0f | %s |" % (
            name, r["version"] if name != "fastrapi" else "(the engine)", r["encode_s"] * 1e3,
            r["decode_s"] * 1e3, mb / r["encode_s"], mb / r["decode_s"], vs))
    lines.append("")
    lines.append("One document of %.1f MB (%d records: nested objects, non-ASCII and escaped "
                 "strings, floats, ints, bools, nulls), Python objects ↔ UTF-8 JSON bytes; best "
                 "of %d runs after one untimed run; \"vs orjson\" is time / orjson's time "
                 "(lower is faster)." % (mb, results["records"], reps))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mb", type=float, default=30, help="document size, MB (default 30)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if ROOT not in sys.path and os.path.isdir(os.path.join(ROOT, "fastrapi")):
        sys.path.insert(0, ROOT)
    results = run(args.mb, args.reps)
    print("## JSON codecs\n")
    print(table(results, args.reps))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
