"""`bitnet-desktop info`: CPU features, kernel variants (compiled, usable, chosen), threads, versions."""
from __future__ import annotations

import json
import platform
import sys
from dataclasses import asdict

import cffi
import numpy as np

from .. import __version__
from ..engine.native import cpu_info, resolve_kernel
from ..engine.native._loader import load
from ..engine.native.kernels import KERNEL_ENV_VAR, default_threads


def register(sub) -> None:
    p = sub.add_parser("info", help="show CPU features, kernel variants and versions")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON")
    p.set_defaults(run=run)


def collect() -> dict:
    ffi, lib = load()
    info = cpu_info()
    chosen = resolve_kernel(None)
    return {
        "cpu": asdict(info),
        "kernel": {
            "chosen": chosen,
            "why": f"${KERNEL_ENV_VAR}" if chosen != info.best_kernel else "fastest variant this CPU supports",
        },
        "threads": default_threads(),
        "versions": {
            "bitnet_desktop": __version__,
            "libbitnet": ffi.string(lib.bn_version_string()).decode(),
            "libbitnet_abi": lib.bn_abi_version(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cffi": cffi.__version__,
            "platform": platform.platform(),
        },
    }


def run(args) -> int:
    data = collect()
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        print()
        return 0
    cpu = data["cpu"]
    print(f"CPU:              {cpu['brand'] or 'unknown'} ({cpu['arch']})")
    print(f"CPU features:     {' '.join(cpu['features']) or 'none of interest'}")
    print(f"Kernels compiled: {', '.join(cpu['compiled_kernels'])}")
    print(f"Kernels usable:   {', '.join(cpu['supported_kernels'])}")
    print(f"Kernel chosen:    {data['kernel']['chosen']} ({data['kernel']['why']})")
    print(f"Threads:          {data['threads']} (physical cores)")
    v = data["versions"]
    print(f"Versions:         bitnet-desktop {v['bitnet_desktop']}, libbitnet {v['libbitnet']} "
          f"(ABI {v['libbitnet_abi']}), Python {v['python']}, NumPy {v['numpy']}, cffi {v['cffi']}")
    print(f"Platform:         {v['platform']}")
    return 0
