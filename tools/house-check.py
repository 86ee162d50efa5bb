#!/usr/bin/python3
"""house-check.py [--table] [BUILD]: check the shape of the source tree.

Rules (README "Layout"), each printed as PASS:/FAIL: lines for tests/run-all.sh:
  - no source file over 800 lines, median under 300 lines
  - no function over 80 lines (Universal Ctags' end: field)
  - no file of workers/<role>/ includes a header of another role's folder
  - no circle of calls between the files of one folder (exported functions only,
    found by Universal Ctags and matched as whole words)
  - each program in BUILD (default build/) needs exactly its role's libraries
With --table it prints the line count of every file and folder instead.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE_DIRS = ["include", "lib", "ipc", "supervisor", "workers", "tools"]
MAX_FILE, MAX_MEDIAN, MAX_FUNC = 800, 300, 80
ROLES = ["zk", "vm", "net", "flush", "fence", "api", "ceph", "meta", "dns"]
# Shared libraries each program may need (besides libc and the dynamic loader).
SANDBOX = {"libseccomp", "libcap"}
PROGRAM_LIBS = {
    "pvcnoded": {"libyaml-0", "libcap"},
    "pvc-zk-election": {"libzookeeper_st"} | SANDBOX,
    "pvc-vm-manager": {"libvirt"} | SANDBOX,
    "pvc-net-router": {"libnftables"} | SANDBOX,
    "pvc-flush": SANDBOX,
    "pvc-fence": SANDBOX,
    "pvc-api-units": SANDBOX,
    "pvc-ceph": {"librados", "librbd"} | SANDBOX,
    "pvc-metadata": {"libmicrohttpd", "libpq"} | SANDBOX,
    "pvc-dns-aggregator": {"libpq"} | SANDBOX,
    "pvc-dhcp-lease": set(),
}

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS: " if ok else "FAIL: ") + name + ("" if ok or not detail else ": " + detail))


def sources():
    out = []
    for top in SOURCE_DIRS:
        for d, _, files in os.walk(os.path.join(ROOT, top)):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    out.append(os.path.relpath(os.path.join(d, f), ROOT))
    return sorted(out)


def line_count(path):
    with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as fh:
        return sum(1 for _ in fh)


def ctags_binary():
    for name in ("ctags-universal", "universal-ctags", "ctags"):
        path = shutil.which(name)
        if path:
            return path
    return None


def functions(files):
    """[(file, name, first line, last line, exported)] for every function definition."""
    tags = subprocess.run([ctags_binary(), "--c-kinds=f", "--fields=+neS", "-o", "-"] + files,
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout
    out = []
    for row in tags.splitlines():
        cols = row.split("\t")
        fields = dict(c.split(":", 1) for c in cols[3:] if ":" in c)
        if "line" in fields and "end" in fields:
            out.append((cols[1], cols[0], int(fields["line"]), int(fields["end"]),
                        "file" not in fields))
    return out


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return re.sub(r'"(\\.|[^"\\])*"', '""', text)


def call_circles(cfiles, funcs):
    """Circles among the files of each folder, by calls of exported functions."""
    defined = {}
    for f, name, _, _, exported in funcs:
        if exported and name != "main":
            defined.setdefault(name, set()).add(f)
    edges = {f: set() for f in cfiles}
    for f in cfiles:
        with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
            words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", strip_comments(fh.read())))
        for w in words & defined.keys():
            for g in defined[w]:
                if g != f and os.path.dirname(g) == os.path.dirname(f):
                    edges[f].add(g)
    circles, seen = [], set()
    # Tarjan's strongly connected components: a component of 2+ files is a circle.
    index, low, stack, on, counter = {}, {}, [], set(), [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index and v not in seen:
            visit(v)
    return circles


def needed_libs(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    libs = set()
    for m in re.finditer(r"Shared library: \[([^\]]+)\]", out):
        base = m.group(1).split(".so")[0]
        if base not in ("libc", "ld-linux-x86-64", "libm", "libgcc_s", "libpthread", "libdl", "librt"):
            libs.add(base)
    return libs


def table(files):
    per_dir = {}
    for f in files:
        n = line_count(f)
        per_dir.setdefault(os.path.dirname(f), []).append((n, f))
    for d in sorted(per_dir):
        rows = per_dir[d]
        print("%-22s %6d lines in %2d files, largest %s (%d)" %
              (d + "/", sum(n for n, _ in rows), len(rows), os.path.basename(max(rows)[1]),
               max(rows)[0]))
    counts = [line_count(f) for f in files if f.endswith(".c")]
    print("%d .c files, %d lines; median %d, largest %d" %
          (len(counts), sum(counts), statistics.median(counts), max(counts)))


def main():
    args = [a for a in sys.argv[1:] if a != "--table"]
    build = os.path.abspath(args[0]) if args else os.path.join(ROOT, "build")
    files = sources()
    if "--table" in sys.argv:
        table(files)
        return 0
    cfiles = [f for f in files if f.endswith(".c")]
    big = ["%s (%d)" % (f, line_count(f)) for f in files if line_count(f) > MAX_FILE]
    check("no source file over %d lines" % MAX_FILE, not big, ", ".join(big))
    median = statistics.median(line_count(f) for f in cfiles)
    check("median .c file under %d lines" % MAX_MEDIAN, median < MAX_MEDIAN, "median %d" % median)
    if ctags_binary() is None:
        check("Universal Ctags available", False, "install universal-ctags")
        return 1
    funcs = functions(cfiles)
    long_funcs = ["%s:%s (%d)" % (f, n, e - s + 1) for f, n, s, e, _ in funcs
                  if e - s + 1 > MAX_FUNC]
    check("no function over %d lines" % MAX_FUNC, not long_funcs, ", ".join(long_funcs))
    role_headers = {r: {h for h in os.listdir(os.path.join(ROOT, "workers", r)) if h.endswith(".h")}
                    for r in ROLES}
    crossing = []
    for f in files:
        parts = f.split("/")
        if len(parts) != 3 or parts[0] != "workers" or parts[1] not in ROLES:
            continue
        with open(os.path.join(ROOT, f), encoding="utf-8", errors="replace") as fh:
            incs = set(re.findall(r'#include\s+"([^"]+)"', fh.read()))
        for r in ROLES:
            if r != parts[1]:
                crossing += ["%s includes %s/%s" % (f, r, h)
                             for h in incs & (role_headers[r] - role_headers[parts[1]])]
    check("no worker includes another role's header", not crossing, "; ".join(crossing))
    circles = call_circles(cfiles, funcs)
    check("no call circle between the files of a folder", not circles,
          "; ".join(" <-> ".join(c) for c in circles))
    for prog, allowed in sorted(PROGRAM_LIBS.items()):
        path = os.path.join(build, prog)
        if not os.path.exists(path):
            check("%s links only its role's libraries" % prog, False, "%s missing" % path)
            continue
        libs = needed_libs(path)
        check("%s links only its role's libraries" % prog, libs <= allowed,
              "needs %s" % ", ".join(sorted(libs - allowed)))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
