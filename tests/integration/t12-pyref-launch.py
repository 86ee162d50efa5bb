#!/usr/bin/python3
"""Run the unmodified reference pvcnoded (PVC b413e042, Python) for t12.

  t12-pyref-launch.py SRC [LIBDIR]
      SRC = the reference's node-daemon directory; LIBDIR, when given, is put
      first on sys.path (t12 puts a daemon_lib symlink there: in an extracted
      archive SRC/daemon_lib may be a plain file naming ../daemon-common)

The config comes from $PVCD_CONFIG_FILE as for the reference itself. One shim:
the reference calls yaml.load(stream) without a Loader (PyYAML 3/5 era); PyYAML 6
(Debian 12) requires one, so a missing Loader defaults to FullLoader, which parses
the config as the old default did. Byte-code is not written (SRC may be read-only).
"""
import runpy
import sys

import yaml

sys.dont_write_bytecode = True
_load = yaml.load


def _compat_load(stream, Loader=None, **kw):
    return _load(stream, Loader=Loader or yaml.FullLoader, **kw)


yaml.load = _compat_load
src = sys.argv[1]
sys.path.insert(0, src)
if len(sys.argv) > 2:
    sys.path.insert(0, sys.argv[2])
sys.argv = [src + "/pvcnoded.py"]
runpy.run_path(src + "/pvcnoded.py", run_name="__main__")
