#!/usr/bin/python3
# t31-vm-burst.py HOSTS UUID OWNER OTHER N ROUNDS [plain|node|failstart]
#
# Per round: two kazoo clients write /domains/UUID/state N times between them,
# alternating start/stop as fast as they can, concurrently; then one final `start`.
# `node`: the clients also flip /domains/UUID/node between OWNER and OTHER (a
# multi-set with the state) and the final write is node=OWNER + state=start.
# `failstart`: during the burst the VM's XML is one libvirt rejects (every start
# fails and vm-manager writes back `fail`); it is repaired just before the final
# start, which must then succeed. Then the round checks, by polling with generous
# bounds:
#   - state settles at `start` with the version of the final write (nothing written
#     over the operator's last command),
#   - the VM runs exactly once: listed in OWNER's runningdomains, not in OTHER's,
#   - and stays so for a while.
# Prints "round I ok ..." or "round I FAIL ..." per round and exits 1 on any failure.
import sys
import threading
import time

from kazoo.client import KazooClient

hosts, uuid, owner, other = sys.argv[1:5]
n, rounds = int(sys.argv[5]), int(sys.argv[6])
mode = sys.argv[7] if len(sys.argv) > 7 else "plain"
flip_node = mode == "node"
spath = "/domains/%s/state" % uuid
npath = "/domains/%s/node" % uuid
xpath = "/domains/%s/xml" % uuid
BAD_XML = b"<domain type='test'><name>broken</name>"


def client():
    zk = KazooClient(hosts=hosts, timeout=10)
    zk.start(10)
    return zk


def burst(zk, count, offset, errors):
    try:
        for i in range(count):
            st = b"start" if (i + offset) % 2 == 0 else b"stop"
            if flip_node:
                node = (owner if (i // 2 + offset) % 2 == 0 else other).encode()
                t = zk.transaction()
                t.set_data(npath, node)
                t.set_data(spath, st)
                t.commit()
            else:
                zk.set(spath, st)
    except Exception as e:  # noqa: BLE001 - reported as the round's failure
        errors.append(repr(e))


def running(zk, node):
    try:
        v, _ = zk.get("/nodes/%s/runningdomains" % node)
    except Exception:  # noqa: BLE001
        return False
    return uuid in v.decode().split()


def wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def settled(zk, final_ver):
    v, st = zk.get(spath)
    return (v == b"start" and st.version == final_ver and running(zk, owner)
            and not running(zk, other))


def describe(zk, final_ver):
    v, st = zk.get(spath)
    return "state=%s version=%d (final write %d) on %s=%s on %s=%s" % (
        v.decode(), st.version, final_ver, owner, running(zk, owner), other,
        running(zk, other))


def one_round(zks, k, good_xml):
    errors = []
    if mode == "failstart":
        zks[0].set(xpath, BAD_XML)
    ts = [threading.Thread(target=burst, args=(zks[i], n // 2, i, errors)) for i in (0, 1)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        return "round %d FAIL client error %s" % (k, errors[0])
    if flip_node:
        t = zks[0].transaction()
        t.set_data(npath, owner.encode())
        t.set_data(spath, b"start")
        t.commit()
    else:
        if mode == "failstart":
            zks[0].set(xpath, good_xml)
        zks[0].set(spath, b"start")
    final_ver = zks[0].exists(spath).version
    t0 = time.monotonic()
    if not wait(lambda: settled(zks[0], final_ver), 20):
        return "round %d FAIL %s" % (k, describe(zks[0], final_ver))
    dt = time.monotonic() - t0
    # stays so (a late write-back or a second copy would show up here)
    for _ in range(10):
        time.sleep(0.1)
        if not settled(zks[0], final_ver):
            return "round %d FAIL later: %s" % (k, describe(zks[0], final_ver))
    return "round %d ok (settled %.2f s after the final start)" % (k, dt)


def main():
    zks = [client(), client()]
    good_xml, _ = zks[0].get(xpath)
    bad = 0
    t0 = time.monotonic()
    for k in range(1, rounds + 1):
        line = one_round(zks, k, good_xml)
        print(line, flush=True)
        if " FAIL " in line:
            bad += 1
    print("%d of %d rounds failed, %d changes per round, %.1f s" %
          (bad, rounds, n, time.monotonic() - t0), flush=True)
    for zk in zks:
        zk.stop()
    return 1 if bad else 0


sys.exit(main())
