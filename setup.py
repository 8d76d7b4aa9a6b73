"""Builds libbitnet, the native kernel library, as a plain shared library inside the package.

The library is not a Python extension module: Python opens it with cffi (ABI mode), and it can be
linked by the native test harness too. Each SIMD variant file gets its own instruction-set flags;
the rest is built for the baseline of the architecture, so one build runs on every CPU of it and
the CPU probe decides at run time which variant may execute. Never -march=native.
"""
import platform
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).parent
NATIVE_SOURCES = sorted(str(p.relative_to(HERE)) for p in (HERE / "native" / "src").glob("*.c"))
HEADER = HERE / "native" / "include" / "bitnet.h"

X86_FLAGS = {
    "unix": {
        "kernels_avx2.c": ["-mavx2", "-mfma", "-mf16c"],
        "kernels_avx512.c": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512vnni",
                             "-mavx2", "-mfma", "-mf16c"],
    },
    "msvc": {
        "kernels_avx2.c": ["/arch:AVX2"],
        "kernels_avx512.c": ["/arch:AVX512"],
    },
}
ARM_FLAGS = {
    "unix": {"kernels_dotprod.c": ["-march=armv8.2-a+dotprod"]},
    "msvc": {},  # MSVC for ARM64 accepts the dot-product intrinsics without a flag
}
BASE_FLAGS = {
    "unix": ["-O2", "-std=c11", "-ffp-contract=off", "-fvisibility=hidden", "-Wall",
             "-D_POSIX_C_SOURCE=200809L", "-D_DEFAULT_SOURCE"],
    "msvc": ["/O2", "/fp:precise", "/W3"],
}


def _target_is_x86() -> bool:
    return platform.machine().lower() in ("x86_64", "amd64", "x64")


def _target_is_arm64() -> bool:
    return platform.machine().lower() in ("arm64", "aarch64")


class BuildNativeLibrary(build_ext):
    """Compiles native/src/*.c with per-file flags and links one shared library."""

    def build_extension(self, ext):
        family = "msvc" if self.compiler.compiler_type == "msvc" else "unix"
        per_file = {}
        if _target_is_x86():
            per_file = X86_FLAGS[family]
        elif _target_is_arm64():
            per_file = ARM_FLAGS[family]
            if sys.platform == "darwin":  # Apple clang spells the dot-product target this way too
                per_file = {"kernels_dotprod.c": ["-march=armv8.2-a+dotprod"]}
        objects = []
        for source in ext.sources:
            flags = BASE_FLAGS[family] + per_file.get(Path(source).name, [])
            objects += self.compiler.compile(
                [source], output_dir=self.build_temp, include_dirs=["native/include"],
                extra_postargs=flags, depends=[str(HEADER)] + [str(p) for p in (HERE / "native" / "src").glob("*.h")],
            )
        output = Path(self.get_ext_fullpath(ext.name))
        output.parent.mkdir(parents=True, exist_ok=True)
        libraries = [] if family == "msvc" else ["m", "pthread"]
        self.compiler.link_shared_object(objects, str(output), libraries=libraries)
        # The binding's cffi declarations come from the real header, shipped beside the library.
        shutil.copyfile(HEADER, output.parent / HEADER.name)


setup(
    ext_modules=[Extension("bitnet_desktop.engine._lib.libbitnet", sources=NATIVE_SOURCES)],
    cmdclass={"build_ext": BuildNativeLibrary},
)
