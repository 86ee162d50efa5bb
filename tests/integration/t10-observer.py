#!/usr/bin/python3
"""Primary observer for the election tests (t10/t11, bench/election.sh).

  t10-observer.py HOSTS NODE... [--interval-ms 5] [--out FILE]

Samples /nodes/<n>/routerstate of every NODE, /primary_node and the lock
contenders under /primary_node every interval (default 5 ms) until SIGTERM/SIGINT.
Prints one event line per change, `<epoch ms> rs <node> <value>`,
`<epoch ms> primary <value>`, `<epoch ms> locks <owner:name,...>`, and at the
end `OVERLAPS <n>`; exit status 1 when an overlap was seen, else 0.

Overlap = two nodes whose router state is `primary` at one instant. Reads in
one round are sequential, not a snapshot, so a round that shows two primaries
is confirmed by re-reading the first ones: a node that still shows `primary`
with the same mzxid after the other node's read was primary at that read too.
"""
import signal
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import NoNodeError

stop = False


def on_signal(signum, frame):
    global stop
    stop = True


def now_ms():
    return int(time.time() * 1000)


def main(argv):
    args = list(argv[1:])
    interval = 0.005
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
    last = {}
    last_primary = None
    last_locks = None
    owners = {}
    overlaps = 0
    print("%d start" % now_ms(), file=out)
    while not stop:
        t0 = time.time()
        seen = {}
        try:
            for n in nodes:
                try:
                    v, st = zk.get("/nodes/%s/routerstate" % n)
                    seen[n] = (v.decode("utf-8", "replace"), st.mzxid)
                except NoNodeError:
                    seen[n] = ("", 0)
            prim = [n for n in nodes if seen[n][0] == "primary"]
            if len(prim) > 1:
                # confirm: the earlier-read ones unchanged after the later reads
                confirmed = 0
                for n in prim[:-1]:
                    v, st = zk.get("/nodes/%s/routerstate" % n)
                    if v.decode() == "primary" and st.mzxid == seen[n][1]:
                        confirmed += 1
                if confirmed > 0:
                    overlaps += 1
                    print("%d OVERLAP %s" % (now_ms(), " ".join(prim)), file=out)
            for n in nodes:
                if last.get(n) != seen[n][0]:
                    print("%d rs %s %s" % (now_ms(), n, seen[n][0]), file=out)
                    last[n] = seen[n][0]
            try:
                p = zk.get("/primary_node")[0].decode("utf-8", "replace")
                kids = sorted(k for k in zk.get_children("/primary_node") if "__lock__" in k)
            except NoNodeError:
                p, kids = "", []
            if p != last_primary:
                print("%d primary %s" % (now_ms(), p), file=out)
                last_primary = p
            if kids != last_locks:
                desc = []
                for k in kids:
                    if k not in owners:
                        try:
                            owners[k] = zk.get("/primary_node/" + k)[0].decode("utf-8", "replace")
                        except NoNodeError:
                            owners[k] = "?"
                    desc.append("%s:%s" % (owners[k], k[-10:]))
                print("%d locks %s" % (now_ms(), ",".join(desc)), file=out)
                last_locks = kids
        except Exception as e:  # connection trouble: keep sampling
            print("%d error %s" % (now_ms(), e), file=out)
            time.sleep(0.05)
        dt = time.time() - t0
        if dt < interval:
            time.sleep(interval - dt)
    print("OVERLAPS %d" % overlaps, file=out)
    zk.stop()
    return 1 if overlaps else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
