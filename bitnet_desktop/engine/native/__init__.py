"""The cffi binding of libbitnet: loading, CPU facts, and typed wrappers of every operation.

Layer 1 (`_loader`) opens the library and declares its API from the real header. Layer 2
(`kernels`, `cpu`) validates NumPy arrays, calls the library with the GIL released (cffi does that
for every call) and turns every status code into a specific exception.
"""
from .cpu import CpuInfo, cpu_info
from .kernels import (
    KERNEL_NAMES,
    KernelContext,
    f16_to_f32,
    f32_to_f16,
    i2s_nbytes,
    i2s_pack,
    i2s_unpack,
    resolve_kernel,
)

__all__ = [
    "CpuInfo",
    "cpu_info",
    "KERNEL_NAMES",
    "KernelContext",
    "f16_to_f32",
    "f32_to_f16",
    "i2s_nbytes",
    "i2s_pack",
    "i2s_unpack",
    "resolve_kernel",
]
