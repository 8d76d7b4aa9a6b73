"""Building NativeModel instances from the tests' synthetic models."""
from __future__ import annotations

from bitnet_desktop.engine.native import KernelContext, cpu_info
from bitnet_desktop.engine.runtime.native_model import NativeModel, NativeModelConfig
from tests.engine.runtime.reference_forward import SyntheticModel


def native_config(m: SyntheticModel, head: str = "f16", max_context: int = 64,
                  max_batch: int = 512) -> NativeModelConfig:
    return NativeModelConfig(
        n_layers=m.n_layers, d_model=m.d_model, n_heads=m.n_heads, n_kv_heads=m.n_kv_heads,
        head_dim=m.head_dim, d_ffn=m.d_ffn, vocab=m.vocab, rope_theta=m.rope_theta,
        rms_eps=m.rms_eps, activation=m.activation, max_context=max_context,
        max_batch=max_batch, head=head, rope_style=m.rope_style, sub_norms=m.sub_norms,
        rope_freqs=None if m.rope_freqs is None else tuple(float(v) for v in m.rope_freqs))


def build(m: SyntheticModel, ctx: KernelContext, **config) -> NativeModel:
    return NativeModel(ctx, native_config(m, **config), m.engine_layers(), m.token_embd,
                       m.output_norm, m.output)


def kernels_to_test() -> list[str]:
    """The scalar reference and the best variant this CPU runs (if different)."""
    names = list(cpu_info().supported_kernels)
    best = KernelContext(threads=1).kernel
    return ["ref"] + ([best] if best != "ref" and best in names else [])
