#!/usr/bin/env python3
"""Generate model/constants.pml from the C sources, so that the SPIN model of the
election (model/election.pml) and the daemon cannot drift apart.

Every timing constant of the model is read from the code; if a definition moves or
changes shape, this script fails (exit 2) and names what it could not find, instead
of letting the model check a stale copy.

Usage: constants.py [--root DIR] [--T MS] [--out FILE]
  --T  session timeout the model uses (default: the minimum the configuration
       accepts, read from supervisor/config/cluster.c)

The model counts time in ticks; the tick is the greatest common divisor of every
derived duration (125 ms at T = 3000), so no duration is rounded.
"""
import argparse
import math
import os
import re
import sys

errors = []


def read(root, rel):
    try:
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        errors.append(f"{rel}: {e.strerror}")
        return ""


def c_defines(text):
    """#define NAME <expr> (single line, comments stripped)."""
    out = {}
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+([A-Z_][A-Z0-9_]*)[ \t]+([^\n]*)$", text, re.M):
        expr = re.sub(r"/\*.*?\*/", "", m.group(2)).split("//")[0].strip()
        if expr:
            out[m.group(1)] = expr
    return out


def c_eval(expr, defs, what, depth=0):
    """Evaluate an integer C constant expression made of literals, + - * / ( ) and
    other macros of `defs`."""
    if depth > 10:
        errors.append(f"{what}: macro recursion")
        return None

    def sub(m):
        name = m.group(0)
        if name in defs:
            v = c_eval(defs[name], defs, name, depth + 1)
            return "0" if v is None else str(v)
        errors.append(f"{what}: unknown name {name} in '{expr}'")
        return "0"

    e = re.sub(r"\b(\d+)(?:[uU]?[lL]{0,2}|[lL]{1,2}[uU]?)\b", r"\1", expr)
    e = re.sub(r"\b[A-Za-z_][A-Za-z0-9_]*\b", sub, e)
    if not re.fullmatch(r"[\d\s+\-*/()]+", e):
        errors.append(f"{what}: not a constant expression: '{expr}'")
        return None
    e = e.replace("/", "//")  # C integer division (operands are positive here)
    return int(eval(e, {"__builtins__": {}}))


def need_define(defs, name, rel):
    if name not in defs:
        errors.append(f"{rel}: #define {name} not found")
        return None
    return c_eval(defs[name], defs, name)


def need_re(text, pattern, rel, what):
    m = re.search(pattern, text, re.S)
    if not m:
        errors.append(f"{rel}: {what} not found (pattern {pattern!r})")
        return None
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..")))
    ap.add_argument("--T", type=int, default=None)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    root = a.root
    out = a.out or os.path.join(root, "model", "constants.pml")

    ipc_h = "include/ipc.h"
    zk_h = "workers/zk/zk_internal.h"
    netp_h = "workers/net/net_primary.h"
    sess_c = "workers/zk/session.c"
    elect_c = "workers/zk/elect.c"
    cluster_c = "supervisor/config/cluster.c"
    system_c = "supervisor/config/system.c"

    d_ipc = c_defines(read(root, ipc_h))
    d_zk = c_defines(read(root, zk_h))
    d_netp = c_defines(read(root, netp_h))
    sess = read(root, sess_c)
    elect = read(root, elect_c)
    cluster = read(root, cluster_c)
    system = read(root, system_c)

    # --- the address lifetime L: one value, three spellings that must agree ----------
    L_ipc = need_define(d_ipc, "IPC_NET_ADDR_LIFETIME_MS", ipc_h)
    L_zk = need_define(d_zk, "ZK_ADDR_LIFETIME_MS", zk_h)
    L_s = need_define(d_netp, "NETP_LIFETIME_S", netp_h)
    if None not in (L_ipc, L_zk, L_s) and not (L_ipc == L_zk == L_s * 1000):
        errors.append(f"address lifetime disagrees: IPC_NET_ADDR_LIFETIME_MS={L_ipc}, "
                      f"ZK_ADDR_LIFETIME_MS={L_zk}, NETP_LIFETIME_S={L_s}")
    slack = need_define(d_netp, "NETP_KERNEL_SLACK_MS", netp_h)
    refresh = need_define(d_netp, "NETP_REFRESH_MS", netp_h)
    margin = need_define(d_zk, "ZK_LEASE_MARGIN_MS", zk_h)

    # --- the lease: lease = t_ok + T - ZK_LEASE_MARGIN_MS (session.c) ---------------
    need_re(sess, r"lease\s*=\s*z->t_ok\s*\+\s*\(uint64_t\)z->T\s*-\s*ZK_LEASE_MARGIN_MS\s*;",
            sess_c, "lease = t_ok + T - ZK_LEASE_MARGIN_MS")
    need_re(sess, r"if\s*\(z->ping_sent\s*>\s*z->t_ok\)\s*z->t_ok\s*=\s*z->ping_sent;",
            sess_c, "t_ok = send time of the answered ping")

    # --- the ping period: min(T/a, (T - margin)/b), floor c (session.c) --------------
    m = need_re(sess, r"zk_session_ping_period_ms\(int T\)\s*\{.*?period\s*=\s*T\s*/\s*(\d+)\s*;"
                r".*?window\s*=\s*T\s*-\s*ZK_LEASE_MARGIN_MS\s*;"
                r".*?window\s*/\s*(\d+)\s*<\s*period", sess_c,
                "zk_session_ping_period_ms(): period = T / a; window = T - margin; window / b")
    ping_div_T, ping_div_W = (int(m.group(1)), int(m.group(2))) if m else (None, None)
    m = need_re(sess, r"zk_ping_arm\(.*?if\s*\(period\s*<\s*(\d+)\)\s*period\s*=\s*(\d+)\s*;",
                sess_c, "zk_ping_arm(): floor of the ping period")
    ping_floor = int(m.group(1)) if m else None

    # --- the takeover delay: D = max(0, L + a + b - (c*T)/d) (elect.c) ---------------
    m = need_re(elect, r"takeover_delay\(const struct zk_ctx \*z\)\s*\{.*?"
                r"d\s*=\s*ZK_ADDR_LIFETIME_MS\s*\+\s*(\d+)\s*\+\s*(\d+)\s*-\s*"
                r"\((\d+)LL\s*\*\s*z->T\)\s*/\s*(\d+)\s*;", elect_c,
                "takeover_delay(): d = ZK_ADDR_LIFETIME_MS + a + b - (c * T) / d")
    if m:
        d_slack, d_extra, d_num, d_den = (int(m.group(i)) for i in range(1, 5))
    else:
        d_slack = d_extra = d_num = d_den = None

    # --- configuration bounds ----------------------------------------------------------
    m = need_re(cluster, r'#define SESSION_TIMEOUT_MIN_MS (\d+)\n#define SESSION_TIMEOUT_MAX_MS (\d+)', cluster_c,
                "session_timeout_ms bounds")
    T_min = int(m.group(1)) if m else None
    m = need_re(system, r'"keepalive_interval",\s*\d+,\s*(\d+),\s*(\d+)', system_c,
                "keepalive_interval bounds")
    ka_min_s = int(m.group(1)) if m else None

    if errors:
        for e in errors:
            print(f"constants.py: {e}", file=sys.stderr)
        print("constants.py: cannot extract the model's constants: the model would drift "
              "from the code", file=sys.stderr)
        return 2

    T = a.T if a.T is not None else T_min
    if T < T_min:
        print(f"constants.py: T = {T} is below the configuration minimum {T_min}", file=sys.stderr)
        return 2

    # ZooKeeper C client (not our code, fixed by the library): it pings after T/3 without
    # sending and declares the connection lost after 2T/3 without receiving.
    ZK_CLIENT_PING_DIV = 3
    ZK_CLIENT_RECV_NUM, ZK_CLIENT_RECV_DEN = 2, 3

    def ping_period(t, div_w=True):
        p = t // ping_div_T
        w = t - margin
        if div_w and w > 0 and w // ping_div_W < p:
            p = w // ping_div_W
        return max(p, ping_floor)

    P = ping_period(T)
    P6 = ping_period(T, div_w=False)           # the old formula (T/6 only)
    W = T - margin                             # lease window after t_ok
    D = max(0, L_zk + d_slack + d_extra - (d_num * T) // d_den)
    T23 = (ZK_CLIENT_RECV_NUM * T) // ZK_CLIENT_RECV_DEN
    T3 = T // ZK_CLIENT_PING_DIV
    KA = ka_min_s * 1000
    if W <= 0:
        print(f"constants.py: T = {T} leaves no lease (margin {margin})", file=sys.stderr)
        return 2

    durs = {"T": T, "W": W, "P": P, "P6": P6, "D": D, "R": refresh, "L": L_zk,
            "SLACK": slack, "T23": T23, "T3": T3, "KA": KA}
    tick = 0
    for v in durs.values():
        tick = math.gcd(tick, v)
    exact = all((ZK_CLIENT_RECV_NUM * T) % ZK_CLIENT_RECV_DEN == 0 for _ in [0]) and \
        T % ZK_CLIENT_PING_DIV == 0 and (d_num * T) % d_den == 0
    if tick < 100 or not exact:
        print(f"constants.py: T = {T} gives a tick of {tick} ms (durations {durs}); "
              "choose a T whose thirds and periods are multiples of 100 ms", file=sys.stderr)
        return 2
    tk = {k: v // tick for k, v in durs.items()}
    if tk["T"] > 64:
        print(f"constants.py: T = {T} is {tk['T']} ticks: too many states", file=sys.stderr)
        return 2

    lines = [
        "/* model/constants.pml: GENERATED by tools/model/constants.py from the C sources.",
        " * Do not edit; `make check-model` regenerates it and fails if a source moved.",
        f" * Tick = {tick} ms (gcd of the durations below). Session timeout T = {T} ms",
        f" * (the minimum {cluster_c} accepts unless --T was given).",
        " *",
        f" *   L      = {L_zk} ms   {zk_h} ZK_ADDR_LIFETIME_MS == {ipc_h} IPC_NET_ADDR_LIFETIME_MS",
        f" *                      == {netp_h} NETP_LIFETIME_S * 1000",
        f" *   SLACK  = {slack} ms   {netp_h} NETP_KERNEL_SLACK_MS (kernel rounds lifetimes up)",
        f" *   R      = {refresh} ms    {netp_h} NETP_REFRESH_MS (address refresh period)",
        f" *   margin = {margin} ms   {zk_h} ZK_LEASE_MARGIN_MS; lease = t_ok + T - margin ({sess_c})",
        f" *   P      = {P} ms    min(T/{ping_div_T}, (T - margin)/{ping_div_W}), floor {ping_floor} "
        f"({sess_c} zk_session_ping_period_ms, zk_ping_arm)",
        f" *   P6     = {P6} ms    the old formula T/{ping_div_T} (-DPING_T6)",
        f" *   D      = {D} ms    max(0, L + {d_slack} + {d_extra} - {d_num}T/{d_den}) ({elect_c} takeover_delay)",
        f" *   T3     = {T3} ms   ZooKeeper C client: ping after T/{ZK_CLIENT_PING_DIV} without sending (library)",
        f" *   T23    = {T23} ms   ZooKeeper C client: connection lost after {ZK_CLIENT_RECV_NUM}T/{ZK_CLIENT_RECV_DEN} "
        "without answer (library)",
        f" *   KA     = {KA} ms   keepalive interval, the minimum {system_c} accepts",
        " */",
        f"#define TICK_MS {tick}",
        f"#define T_MS {T}",
    ]
    for k in ["T", "W", "P", "P6", "D", "R", "L", "SLACK", "T23", "T3", "KA"]:
        lines.append(f"#define {k}_TK {tk[k]}")
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    old = None
    if os.path.exists(out):
        with open(out, encoding="utf-8") as f:
            old = f.read()
    if old != text:
        with open(out, "w", encoding="utf-8") as f:
            f.write(text)
    summary = " ".join(f"{k}={v}" for k, v in tk.items())
    print(f"constants: tick {tick} ms, T {T} ms; in ticks: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
