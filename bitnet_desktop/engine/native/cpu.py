"""What the CPU can run, as probed by the native library, and which kernel variants follow."""
from __future__ import annotations

from dataclasses import dataclass

from ._loader import load


@dataclass(frozen=True)
class CpuInfo:
    arch: str                 # "x86_64", "aarch64" or "other"
    brand: str                # marketing name, may be empty
    features: tuple[str, ...]  # e.g. ("ssse3", "avx", "avx2", ...), OS support included
    compiled_kernels: tuple[str, ...]
    supported_kernels: tuple[str, ...]
    best_kernel: str


def kernel_names() -> tuple[str, ...]:
    ffi, lib = load()
    return tuple(ffi.string(lib.bn_kernel_name(i)).decode() for i in range(lib.BN_KERNEL_COUNT))


def cpu_info() -> CpuInfo:
    ffi, lib = load()
    bits = lib.bn_cpu_features()
    features = tuple(
        ffi.string(lib.bn_cpu_feature_name(i)).decode()
        for i in range(lib.BN_CPU_FEATURE_COUNT)
        if bits & (1 << i)
    )
    brand = ffi.new("char[]", 64)
    lib.bn_cpu_brand(brand, 64)
    names = kernel_names()
    return CpuInfo(
        arch=ffi.string(lib.bn_cpu_arch()).decode(),
        brand=ffi.string(brand).decode(errors="replace"),
        features=features,
        compiled_kernels=tuple(n for i, n in enumerate(names) if lib.bn_kernel_compiled(i)),
        supported_kernels=tuple(n for i, n in enumerate(names) if lib.bn_kernel_supported(i)),
        best_kernel=names[lib.bn_kernel_best()],
    )
