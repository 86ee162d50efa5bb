#!/usr/bin/python3
"""Small ZooKeeper client for the pvcnoded tests (Debian's python3-kazoo 2.8).

Run with /usr/bin/python3 (the python3 first on PATH may not see Debian's
packages).  Hosts come from -s HOSTS, else $ZK_HOSTS.

  zkcli.py -s HOSTS get PATH                 print the value; exit 2 if absent
  zkcli.py -s HOSTS set PATH VALUE           create (with parents) or overwrite
  zkcli.py -s HOSTS create PATH [VALUE]      create (with parents); exit 3 if present
  zkcli.py -s HOSTS delete [-r] PATH         delete (-r: recursively); exit 2 if absent
  zkcli.py -s HOSTS ls PATH                  children, sorted, one per line; exit 2 if absent
  zkcli.py -s HOSTS stat PATH [FIELD]        version=, mtime= (ms), ephemeralOwner= (0x hex),
                                             ctime=, cversion=, numChildren=, dataLength=;
                                             with FIELD only that value
  zkcli.py -s HOSTS wait PATH VALUE [--timeout S]    exit 0 once PATH == VALUE, 1 on
                                             timeout (default 10 s)
  zkcli.py -s HOSTS wait-absent PATH [--timeout S]   exit 0 once PATH does not exist
  zkcli.py -s HOSTS multi-set PATH=VALUE ... one transaction: set existing keys, create
                                             missing ones (and missing parents)
  zkcli.py -s HOSTS lock-holders PATH        kazoo Lock(PATH).contenders(), one per line
  zkcli.py -s HOSTS init-cluster             base tree as the API's "initialize"
  zkcli.py -s HOSTS define-vm UUID NAME NODE XMLFILE [--state STATE]
                                             /domains/<uuid> tree as the API's define_vm
                                             (state default "stop"); exit 3 if present
  zkcli.py -s HOSTS define-network VNI [--type T] [--net4 CIDR] [--gw4 A] [--dhcp4 B]
                [--start A] [--end A] [--net6 CIDR] [--gw6 A] [--dhcp6 B] [--desc D]
                [--domain D] [--ns TEXT]     /networks/<vni> tree as the API's add_network
                                             (every key; absent values "None"); exit 3 if present
  zkcli.py -s HOSTS add-reservation VNI MAC IP [HOSTNAME]   dhcp4_reservations/<mac>
  zkcli.py -s HOSTS add-acl VNI in|out DESCRIPTION ORDER RULE   firewall_rules/<dir>/<desc>

Exit status: 0 ok, 1 error (connection, timeout, usage), 2 no such node,
3 node exists, 4 transaction failed.
"""

import argparse
import logging
import os
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (KazooException, NoNodeError, NodeExistsError,
                              NotEmptyError)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.retry import KazooRetry, RetryFailedError

CONNECT_TIMEOUT = 10.0
OP_DEADLINE = 15.0

EXIT_ERR, EXIT_NONODE, EXIT_EXISTS, EXIT_TXN = 1, 2, 3, 4


class Fail(Exception):
    def __init__(self, code, msg):
        super().__init__(msg)
        self.code = code


def enc(value):
    return value.encode("utf-8", "surrogateescape")


def parent_of(path):
    p = path.rsplit("/", 1)[0]
    return p or "/"


def connect(hosts):
    zk = KazooClient(
        hosts=hosts,
        timeout=CONNECT_TIMEOUT,
        connection_retry=KazooRetry(max_tries=-1, delay=0.05, backoff=1.5,
                                    max_delay=0.5),
        command_retry=KazooRetry(max_tries=-1, delay=0.05, backoff=1.5,
                                 max_delay=0.5, deadline=OP_DEADLINE),
    )
    try:
        zk.start(timeout=CONNECT_TIMEOUT)
    except KazooTimeoutError:
        zk.close()
        raise Fail(EXIT_ERR, "cannot connect to %s within %ds"
                   % (hosts, CONNECT_TIMEOUT))
    return zk


def build_ops(zk, pairs):
    """[(path, value)] -> transaction ops: setData for existing keys, create
    for missing keys and their missing ancestors (parents first)."""
    ops, created = [], set()
    for path, value in sorted(pairs, key=lambda pv: pv[0]):
        if path in created or zk.exists(path) is not None:
            ops.append(("set", path, value))
            continue
        missing, p = [], parent_of(path)
        while p != "/" and p not in created and zk.exists(p) is None:
            missing.append(p)
            p = parent_of(p)
        for anc in reversed(missing):
            ops.append(("create", anc, b""))
            created.add(anc)
        ops.append(("create", path, value))
        created.add(path)
    return ops


def commit(zk, ops):
    t = zk.transaction()
    for op, path, value in ops:
        if op == "create":
            t.create(path, value)
        else:
            t.set_data(path, value)
    results = t.commit()
    errors = [(o, r) for o, r in zip(ops, results) if isinstance(r, Exception)]
    real = [(o, r) for o, r in errors if type(r).__name__ != "RolledBackError"]
    if errors:
        (op, path, _), err = (real or errors)[0]
        code = EXIT_EXISTS if isinstance(err, NodeExistsError) else EXIT_TXN
        raise Fail(code, "transaction failed at %s %s: %s"
                   % (op, path, type(err).__name__))


def multi_set(zk, pairs):
    zk.retry(lambda: commit(zk, build_ops(zk, pairs)))


def create_all(zk, pairs):
    """All keys created in one transaction (fails if any exists)."""
    zk.retry(lambda: commit(zk, [("create", p, v) for p, v in pairs]))


def cmd_get(zk, a):
    try:
        data, _ = zk.retry(zk.get, a.path)
    except NoNodeError:
        raise Fail(EXIT_NONODE, "no node %s" % a.path)
    sys.stdout.buffer.write((data or b"") + b"\n")


def cmd_set(zk, a):
    value = enc(a.value)

    def do():
        try:
            zk.set(a.path, value)
        except NoNodeError:
            try:
                zk.create(a.path, value, makepath=True)
            except NodeExistsError:
                zk.set(a.path, value)
    zk.retry(do)


def cmd_create(zk, a):
    try:
        zk.retry(zk.create, a.path, enc(a.value), makepath=True)
    except NodeExistsError:
        raise Fail(EXIT_EXISTS, "node exists %s" % a.path)


def cmd_delete(zk, a):
    try:
        zk.retry(zk.delete, a.path, recursive=a.recursive)
    except NoNodeError:
        raise Fail(EXIT_NONODE, "no node %s" % a.path)
    except NotEmptyError:
        raise Fail(EXIT_ERR, "node %s has children (use -r)" % a.path)


def cmd_ls(zk, a):
    try:
        children = zk.retry(zk.get_children, a.path)
    except NoNodeError:
        raise Fail(EXIT_NONODE, "no node %s" % a.path)
    for c in sorted(children):
        print(c)


def cmd_stat(zk, a):
    st = zk.retry(zk.exists, a.path)
    if st is None:
        raise Fail(EXIT_NONODE, "no node %s" % a.path)
    fields = {
        "version": str(st.version),
        "mtime": str(st.mtime),
        "ephemeralOwner": "0x%x" % st.ephemeralOwner,
        "ctime": str(st.ctime),
        "cversion": str(st.cversion),
        "numChildren": str(st.numChildren),
        "dataLength": str(st.dataLength),
    }
    if a.field:
        if a.field not in fields:
            raise Fail(EXIT_ERR, "unknown field %s" % a.field)
        print(fields[a.field])
    else:
        for k, v in fields.items():
            print("%s=%s" % (k, v))


def poll(zk, timeout, done):
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            ok, last = done()
            if ok:
                return
        except KazooException:
            pass  # connection loss while a server fails over: keep polling
        if time.monotonic() >= deadline:
            raise Fail(EXIT_ERR, "timeout after %ss (last: %r)" % (timeout, last))
        time.sleep(0.05)


def cmd_wait(zk, a):
    want = enc(a.value)

    def done():
        try:
            data, _ = zk.get(a.path)
        except NoNodeError:
            return False, None
        return data == want, data
    poll(zk, a.timeout, done)


def cmd_wait_absent(zk, a):
    poll(zk, a.timeout, lambda: (zk.exists(a.path) is None, "present"))


def cmd_multi_set(zk, a):
    pairs = []
    for item in a.items:
        if "=" not in item or not item.startswith("/"):
            raise Fail(EXIT_ERR, "bad item %r (want /path=value)" % item)
        path, value = item.split("=", 1)
        pairs.append((path, enc(value)))
    multi_set(zk, pairs)


def cmd_lock_holders(zk, a):
    if zk.retry(zk.exists, a.path) is None:
        raise Fail(EXIT_NONODE, "no node %s" % a.path)
    for c in zk.retry(zk.Lock(a.path).contenders):
        print(c)


def cmd_hold_lock(zk, a):
    # a kazoo read or write lock held for SECONDS (fencing: the daemon's write lock
    # on /nodes/<n>/daemonstate must wait for it); prints "held" and "released"
    import time
    from kazoo.recipe.lock import ReadLock, WriteLock
    lock = (ReadLock if a.kind == "read" else WriteLock)(zk, a.path, "zkcli")
    lock.acquire(timeout=30)
    print("held", flush=True)
    time.sleep(a.seconds)
    lock.release()
    print("released", flush=True)


INIT_TREE = [
    ("/primary_node", b"none"),
    ("/upstream_ip", b"none"),
    ("/maintenance", b"False"),
    ("/locks", b""),
    ("/locks/primary_node", b""),
    ("/locks/flush_lock", b""),
    ("/cmd", b""),
    ("/cmd/domains", b""),
    ("/cmd/ceph", b""),
    ("/nodes", b""),
    ("/domains", b""),
    ("/networks", b""),
    ("/ceph", b""),
    ("/ceph/osds", b""),
    ("/ceph/pools", b""),
    ("/ceph/volumes", b""),
    ("/ceph/snapshots", b""),
]


def cmd_init_cluster(zk, a):
    multi_set(zk, INIT_TREE)


def cmd_define_vm(zk, a):
    with open(a.xmlfile, "rb") as f:
        xml = f.read()
    base = "/domains/%s" % a.uuid
    pairs = [
        (base, enc(a.name)),
        (base + "/state", enc(a.state)),
        (base + "/node", enc(a.node)),
        (base + "/lastnode", b""),
        (base + "/node_limit", b""),
        (base + "/node_selector", b"None"),
        (base + "/node_autostart", b"False"),
        (base + "/failedreason", b""),
        (base + "/consolelog", b""),
        (base + "/rbdlist", b""),
        (base + "/profile", b"None"),
        (base + "/xml", xml),
    ]
    create_all(zk, pairs)


def cmd_define_network(zk, a):
    base = "/networks/%s" % a.vni
    pairs = [
        (base, enc(a.desc if a.desc is not None else "net%s" % a.vni)),
        (base + "/nettype", enc(a.type)),
        (base + "/domain", enc(a.domain if a.domain is not None else "net%s.local" % a.vni)),
        (base + "/name_servers", enc(a.ns)),
        (base + "/ip6_network", enc(a.net6)),
        (base + "/ip6_gateway", enc(a.gw6)),
        (base + "/dhcp6_flag", enc(a.dhcp6)),
        (base + "/ip4_network", enc(a.net4)),
        (base + "/ip4_gateway", enc(a.gw4)),
        (base + "/dhcp4_flag", enc(a.dhcp4)),
        (base + "/dhcp4_start", enc(a.start)),
        (base + "/dhcp4_end", enc(a.end)),
        (base + "/dhcp4_leases", b""),
        (base + "/dhcp4_reservations", b""),
        (base + "/firewall_rules", b""),
        (base + "/firewall_rules/in", b""),
        (base + "/firewall_rules/out", b""),
    ]
    create_all(zk, pairs)


def cmd_add_reservation(zk, a):
    base = "/networks/%s/dhcp4_reservations/%s" % (a.vni, a.mac)
    create_all(zk, [(base, b"static"), (base + "/ipaddr", enc(a.ip)),
                    (base + "/hostname", enc(a.hostname))])


def cmd_add_acl(zk, a):
    base = "/networks/%s/firewall_rules/%s/%s" % (a.vni, a.dir, a.desc)
    create_all(zk, [(base, b""), (base + "/order", enc(a.order)),
                    (base + "/rule", enc(a.rule))])


def parse(argv):
    p = argparse.ArgumentParser(prog="zkcli.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-s", "--hosts", default=os.environ.get("ZK_HOSTS"))
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("get")
    s.add_argument("path")
    s.set_defaults(fn=cmd_get)
    s = sub.add_parser("set")
    s.add_argument("path")
    s.add_argument("value")
    s.set_defaults(fn=cmd_set)
    s = sub.add_parser("create")
    s.add_argument("path")
    s.add_argument("value", nargs="?", default="")
    s.set_defaults(fn=cmd_create)
    s = sub.add_parser("delete")
    s.add_argument("-r", "--recursive", action="store_true")
    s.add_argument("path")
    s.set_defaults(fn=cmd_delete)
    s = sub.add_parser("ls")
    s.add_argument("path")
    s.set_defaults(fn=cmd_ls)
    s = sub.add_parser("stat")
    s.add_argument("path")
    s.add_argument("field", nargs="?")
    s.set_defaults(fn=cmd_stat)
    s = sub.add_parser("wait")
    s.add_argument("path")
    s.add_argument("value")
    s.add_argument("--timeout", type=float, default=10.0)
    s.set_defaults(fn=cmd_wait)
    s = sub.add_parser("wait-absent")
    s.add_argument("path")
    s.add_argument("--timeout", type=float, default=10.0)
    s.set_defaults(fn=cmd_wait_absent)
    s = sub.add_parser("multi-set")
    s.add_argument("items", nargs="+", metavar="PATH=VALUE")
    s.set_defaults(fn=cmd_multi_set)
    s = sub.add_parser("lock-holders")
    s.add_argument("path")
    s.set_defaults(fn=cmd_lock_holders)
    s = sub.add_parser("hold-lock")
    s.add_argument("path")
    s.add_argument("kind", choices=["read", "write"])
    s.add_argument("seconds", type=float)
    s.set_defaults(fn=cmd_hold_lock)
    s = sub.add_parser("init-cluster")
    s.set_defaults(fn=cmd_init_cluster)
    s = sub.add_parser("define-vm")
    s.add_argument("uuid")
    s.add_argument("name")
    s.add_argument("node")
    s.add_argument("xmlfile")
    s.add_argument("--state", default="stop")
    s.set_defaults(fn=cmd_define_vm)
    s = sub.add_parser("define-network")
    s.add_argument("vni")
    s.add_argument("--type", default="managed")
    s.add_argument("--desc")
    s.add_argument("--domain")
    s.add_argument("--ns", default="")
    for opt in ("net4", "gw4", "start", "end", "net6", "gw6"):
        s.add_argument("--" + opt, default="None")
    s.add_argument("--dhcp4", default="False")
    s.add_argument("--dhcp6", default="False")
    s.set_defaults(fn=cmd_define_network)
    s = sub.add_parser("add-reservation")
    s.add_argument("vni")
    s.add_argument("mac")
    s.add_argument("ip")
    s.add_argument("hostname", nargs="?", default="")
    s.set_defaults(fn=cmd_add_reservation)
    s = sub.add_parser("add-acl")
    s.add_argument("vni")
    s.add_argument("dir", choices=("in", "out"))
    s.add_argument("desc")
    s.add_argument("order")
    s.add_argument("rule")
    s.set_defaults(fn=cmd_add_acl)
    a = p.parse_args(argv)
    if not a.hosts:
        p.error("no hosts: use -s HOSTS or set ZK_HOSTS")
    return a


def main(argv):
    a = parse(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.CRITICAL,
                        format="zkcli: %(levelname)s %(message)s")
    zk = None
    try:
        zk = connect(a.hosts)
        a.fn(zk, a)
        return 0
    except Fail as e:
        print("zkcli: %s" % e, file=sys.stderr)
        return e.code
    except RetryFailedError as e:
        print("zkcli: gave up after %ss: %s" % (OP_DEADLINE, e), file=sys.stderr)
        return EXIT_ERR
    except (KazooException, OSError, ValueError) as e:
        print("zkcli: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return EXIT_ERR
    finally:
        if zk is not None:
            try:
                zk.stop()
                zk.close()
            except Exception:
                pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
