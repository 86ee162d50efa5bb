#!/usr/bin/python3
"""Observer of a mixed C/reference cluster (t12-election-interop.sh).

  t12-observer.py HOSTS NODE... [--interval-ms 100] --out FILE

Every interval it reads /primary_node, each NODE's routerstate and the
contenders under /primary_node and /locks/primary_node, and prints one line per
change (`<epoch ms> rs <node> <value>`, `<epoch ms> primary <value>`,
`<epoch ms> locks <path> <names>`), then `OVERLAPS <n>` when stopped (SIGTERM).

"Acting as primary" is stricter than t10's `primary`: a reference node holds
primary resources from `takeover` until the end of `relinquish`, so any of
takeover/primary/relinquish counts. An overlap is two acting nodes in one round,
confirmed like t10: the earlier-read node still shows the same value with the
same mzxid after the later read, so both were acting at that later instant.
"""
import signal
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

ACTING = ("takeover", "primary", "relinquish")
stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def now_ms():
    return int(time.time() * 1000)


def kids(zk, path):
    try:
        return ",".join(sorted(k[-20:] for k in zk.get_children(path)))
    except NoNodeError:
        return "-"


def sample(zk, nodes, out, last):
    seen = {}
    for n in nodes:
        try:
            v, st = zk.get("/nodes/%s/routerstate" % n)
            seen[n] = (v.decode("utf-8", "replace"), st.mzxid)
        except NoNodeError:
            seen[n] = ("", 0)
    acting = [n for n in nodes if seen[n][0] in ACTING]
    overlap = 0
    if len(acting) > 1:
        for n in acting[:-1]:
            v, st = zk.get("/nodes/%s/routerstate" % n)
            if v.decode() == seen[n][0] and st.mzxid == seen[n][1]:
                overlap = 1
        if overlap:
            print("%d OVERLAP %s" % (now_ms(), " ".join("%s=%s" % (n, seen[n][0]) for n in acting)),
                  file=out)
    for n in nodes:
        if last.get(n) != seen[n][0]:
            print("%d rs %s %s" % (now_ms(), n, seen[n][0]), file=out)
            last[n] = seen[n][0]
    try:
        p = zk.get("/primary_node")[0].decode("utf-8", "replace")
    except NoNodeError:
        p = ""
    if last.get(" primary") != p:
        print("%d primary %s" % (now_ms(), p), file=out)
        last[" primary"] = p
    for path in ("/primary_node", "/locks/primary_node"):
        k = kids(zk, path)
        if last.get(path) != k:
            print("%d locks %s %s" % (now_ms(), path, k), file=out)
            last[path] = k
    return overlap


def main(argv):
    args = list(argv[1:])
    interval = 0.1
    out = sys.stdout
    if "--interval-ms" in args:
        i = args.index("--interval-ms")
        interval = float(args[i + 1]) / 1000.0
        del args[i:i + 2]
    if "--out" in args:
        i = args.index("--out")
        out = open(args[i + 1], "w", buffering=1)
        del args[i:i + 2]
    hosts, nodes = args[0], args[1:]
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    zk = KazooClient(hosts=hosts, timeout=10.0)
    zk.start(timeout=10.0)
    last, overlaps = {}, 0
    print("%d start" % now_ms(), file=out)
    while not stop:
        t0 = time.time()
        try:
            overlaps += sample(zk, nodes, out, last)
        except Exception as e:  # connection trouble: keep sampling
            print("%d error %s" % (now_ms(), e), file=out)
        dt = time.time() - t0
        if dt < interval:
            time.sleep(interval - dt)
    print("OVERLAPS %d" % overlaps, file=out)
    zk.stop()
    return 1 if overlaps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
