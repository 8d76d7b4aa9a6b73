import numpy as np
import pytest

from bitnet_desktop.engine.native import KernelContext, cpu_info


def supported_kernels() -> list[str]:
    return list(cpu_info().supported_kernels)


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def ref_ctx():
    return KernelContext(threads=1, kernel="ref")
