#!/usr/bin/python3
"""Cluster invariants for the fault suite (tests/faults/f*.sh).

  fcheck.py healthy --timeout S    poll until every invariant holds at once (exit 0)
                                   or S seconds passed (exit 1); prints one line per
                                   category: "<category> ok <detail>" or
                                   "<category> BAD <problems>"
  fcheck.py watch --out FILE       until SIGTERM: sample libvirt (every node's VMs)
                                   and the floating address (every namespace), log
                                   "<ms> TWICE <uuid> <nodes>" / "<ms> ADDR2 <nodes>"
                                   for a VM active on two nodes / the address in two
                                   namespaces, "TOTAL twice=<n> addr2=<n>" at the end

Common options (the f*.sh scripts pass them through tests/faults/lib.sh):
  --zk HOSTS --work DIR --pvcctl BIN --node 'NAME|URI|NETNS' (repeat) [--float ADDR]
  [--workers zk-election,vm-manager,...]

Categories of `healthy` (each must hold in the same round):
  daemons  every supervisor alive, `pvcctl status` answers, state running, every
           expected worker running; daemonstate run in ZooKeeper
  routers  exactly one node primary, the others secondary, /primary_node names it
  vms      every VM with state start is active in exactly its node's libvirt and
           listed in exactly that node's runningdomains; every VM with state stop
           active nowhere; no VM in a transient state (migrate, shutdown, ...)
  addr     the floating address held by the primary's namespace only
Why one process: a kazoo connection and a few subprocesses per round instead of a
python start per key keeps the polling cheap on a 2-core machine.
"""
import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException, NoNodeError

stop = False
# The test driver's built-in domain (running in every libvirtd), not a PVC VM.
TEST_DOMAIN = "6695eb01-f6a4-8304-79aa-97f2502e193f"


def on_signal(signum, frame):
    global stop
    stop = True


def now_ms():
    return int(time.time() * 1000)


class Node:
    def __init__(self, spec):
        self.name, self.uri, self.netns = spec.split("|", 2)


def run(cmd, timeout=5):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return None
    if p.returncode != 0:
        return None
    return p.stdout.decode("utf-8", "replace")


def active_uuids(node):
    """UUIDs active in the node's libvirt, or None if libvirt did not answer."""
    out = run(["virsh", "-q", "-c", node.uri, "list", "--uuid"])
    if out is None:
        return None
    return {line.strip() for line in out.splitlines()
            if line.strip() and line.strip() != TEST_DOMAIN}


def holds_addr(node, addr):
    if not node.netns or not addr:
        return False
    out = run(["ip", "-n", node.netns, "-o", "addr", "show"])
    return out is not None and (" %s/" % addr) in out


def zget(zk, path):
    try:
        return zk.get(path)[0].decode("utf-8", "replace")
    except NoNodeError:
        return None


def check_daemons(a, nodes, zk):
    bad = []
    pids = {}
    for n in nodes:
        try:
            with open(os.path.join(a.work, n.name, "pid")) as f:
                spid = int(f.read().strip())
            os.kill(spid, 0)
        except (OSError, ValueError):
            bad.append("%s: supervisor not running" % n.name)
            continue
        sock = os.path.join(a.work, n.name, "run", "pvcnoded.sock")
        out = run([a.pvcctl, "-s", sock, "--json", "status"])
        try:
            st = json.loads(out) if out else None
        except ValueError:
            st = None
        if not st:
            bad.append("%s: pvcctl status failed" % n.name)
            continue
        if st.get("supervisor.state") != "running":
            bad.append("%s: supervisor %s" % (n.name, st.get("supervisor.state")))
        wp = []
        for w in a.workers:
            s = st.get("worker.%s.state" % w)
            if s != "running":
                bad.append("%s: %s %s" % (n.name, w, s))
            wp.append("%s=%s" % (w, st.get("worker.%s.pid" % w)))
        pids[n.name] = " ".join(wp)
        ds = zget(zk, "/nodes/%s/daemonstate" % n.name)
        if ds != "run":
            bad.append("%s: daemonstate %r" % (n.name, ds))
    return bad, pids


def check_routers(nodes, zk):
    rs = {n.name: zget(zk, "/nodes/%s/routerstate" % n.name) for n in nodes}
    prim = [n for n, s in rs.items() if s == "primary"]
    bad = []
    if len(prim) != 1:
        bad.append("primaries %s" % (prim or "none"))
    for n, s in rs.items():
        if s not in ("primary", "secondary"):
            bad.append("%s routerstate %r" % (n, s))
    pn = zget(zk, "/primary_node")
    if len(prim) == 1 and pn != prim[0]:
        bad.append("/primary_node %r, primary %s" % (pn, prim[0]))
    return bad, (prim[0] if len(prim) == 1 else None), rs


def check_vms(nodes, zk):
    bad = []
    running = {}
    active = {}
    for n in nodes:
        rd = zget(zk, "/nodes/%s/runningdomains" % n.name) or ""
        running[n.name] = set(rd.split())
        act = active_uuids(n)
        if act is None:
            bad.append("%s: libvirt does not answer" % n.name)
            act = set()
        active[n.name] = act
    try:
        uuids = zk.get_children("/domains")
    except NoNodeError:
        uuids = []
    nstart = 0
    for u in sorted(uuids):
        state = zget(zk, "/domains/%s/state" % u)
        owner = zget(zk, "/domains/%s/node" % u)
        where = sorted(n for n, s in active.items() if u in s)
        listed = sorted(n for n, s in running.items() if u in s)
        if state == "start":
            nstart += 1
            if where != [owner]:
                bad.append("%s (node %s) active on %s" % (u[:8], owner, where or "none"))
            if listed != [owner]:
                bad.append("%s (node %s) in runningdomains of %s" % (u[:8], owner, listed or "none"))
        elif state == "stop":
            if where:
                bad.append("%s (stop) active on %s" % (u[:8], where))
        else:
            bad.append("%s state %r" % (u[:8], state))
    return bad, "%d VMs, %d to run" % (len(uuids), nstart)


def check_addr(a, nodes, primary):
    if not a.float:
        return [], "not checked"
    holders = [n.name for n in nodes if holds_addr(n, a.float)]
    if primary is None or holders != [primary]:
        return ["%s held by %s (primary %s)" % (a.float, holders or "none", primary)], ""
    return [], "%s on %s" % (a.float, primary)


def healthy(a, nodes):
    zk = KazooClient(hosts=a.zk, timeout=10.0)
    zk.start(timeout=15.0)
    deadline = time.monotonic() + a.timeout
    while True:
        res = {}
        try:
            d, pids = check_daemons(a, nodes, zk)
            r, prim, rs = check_routers(nodes, zk)
            v, vdetail = check_vms(nodes, zk)
            ad, adetail = check_addr(a, nodes, prim)
            res = {
                "daemons": (d, "; ".join("%s: %s" % kv for kv in sorted(pids.items()))),
                "routers": (r, "primary %s" % prim),
                "vms": (v, vdetail),
                "addr": (ad, adetail),
            }
        except KazooException as e:
            res = {"zookeeper": (["%s" % type(e).__name__], "")}
        if all(not b for b, _ in res.values()) or time.monotonic() >= deadline:
            break
        time.sleep(0.3)
    ok = True
    for cat, (b, detail) in res.items():
        if b:
            ok = False
            print("%s BAD %s" % (cat, "; ".join(b[:8])))
        else:
            print("%s ok %s" % (cat, detail))
    zk.stop()
    zk.close()
    return 0 if ok else 1


def watch(a, nodes):
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = open(a.out, "w", buffering=1)
    twice = addr2 = 0
    last_vm = 0.0
    print("%d start" % now_ms(), file=out)
    while not stop:
        t0 = time.monotonic()
        if a.float:
            holders = [n.name for n in nodes if holds_addr(n, a.float)]
            if len(holders) > 1:
                # confirm: the first holder still holds it after the others' reads
                if holds_addr([n for n in nodes if n.name == holders[0]][0], a.float):
                    addr2 += 1
                    print("%d ADDR2 %s" % (now_ms(), " ".join(holders)), file=out)
        if t0 - last_vm >= 1.0:
            last_vm = t0
            seen = {}
            for n in nodes:
                for u in active_uuids(n) or ():
                    seen.setdefault(u, []).append(n)
            for u, where in seen.items():
                if len(where) < 2:
                    continue
                # The reads are sequential: a VM that moved from the first node to
                # a later one between the reads shows on both, and so does one that
                # moved there and back (A -> B -> A within a pass: flush + unflush).
                # Confirm: still active on the earlier nodes after the last read,
                # and then still on the last node too.
                still = [n for n in where[:-1] if u in (active_uuids(n) or ())]
                if still and u in (active_uuids(where[-1]) or ()):
                    twice += 1
                    print("%d TWICE %s %s" % (now_ms(), u, " ".join(n.name for n in where)),
                          file=out)
        dt = time.monotonic() - t0
        if dt < 0.1:
            time.sleep(0.1 - dt)
    print("TOTAL twice=%d addr2=%d" % (twice, addr2), file=out)
    return 0


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["healthy", "watch"])
    p.add_argument("--zk", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("--pvcctl", required=True)
    p.add_argument("--node", action="append", required=True, help="NAME|URI|NETNS")
    p.add_argument("--float", default="")
    p.add_argument("--workers", default="zk-election,vm-manager,net-router,flush,fence")
    p.add_argument("--timeout", type=float, default=60.0)
    p.add_argument("--out")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)
    a.workers = [w for w in a.workers.split(",") if w]
    nodes = [Node(s) for s in a.node]
    if a.mode == "healthy":
        return healthy(a, nodes)
    return watch(a, nodes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
