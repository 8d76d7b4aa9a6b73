"""Loading GGUF files into a runnable model: every supported format gives the same model, and
every broken or unsupported file is refused with an error naming the file, tensor and problem."""
import threading

import numpy as np
import pytest

from bitnet_desktop.engine.chat import Falcon3ChatFormat
from bitnet_desktop.engine.errors import ModelFormatError, TokenizerError
from bitnet_desktop.engine.gguf import GGUFArray, ValueType, open_gguf
from bitnet_desktop.engine.runtime import memory
from bitnet_desktop.engine.runtime import model as model_module
from bitnet_desktop.engine.runtime.memory import InsufficientMemoryError
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.runtime.gguf_files import rewrite, synth

IDS = [5, 17, 300, 42, 7, 99, 1000, 3, 250, 12]


def logits_of(path, head="exact", **options):
    model = BitNetModel.load(path, LoadOptions(threads=2, head=head, context_length=64, **options))
    try:
        return model.native.forward(IDS, 0, all_logits=True).copy()
    finally:
        model.close()


@pytest.mark.parametrize("shape", ["tiny", "small"])
def test_i2s_tq2_tq1_files_of_the_same_weights_give_identical_logits(tmp_path, shape):
    # The synthetic alphas are exactly representable in f16, so the TQ block scales lose nothing
    # and re-ternarizing at load reproduces the I2_S bytes: the logits must be bit-identical.
    paths = {fmt: synth(tmp_path, f"{fmt}.gguf", shape=shape, fmt=fmt, arch="bitnet-b1.58", seed=3)
             for fmt in ("i2_s", "tq2_0", "tq1_0")}
    reference = logits_of(paths["i2_s"])
    assert np.isfinite(reference).all()
    for fmt in ("tq2_0", "tq1_0"):
        assert np.array_equal(logits_of(paths[fmt]), reference), fmt


def test_fast_head_is_close_to_exact_head(tmp_path):
    path = synth(tmp_path, shape="small", seed=1)
    exact, fast = logits_of(path, "exact"), logits_of(path, "fast")
    assert not np.array_equal(exact, fast)  # really a different head
    # int8 weights and activations: ~1/254 relative error per factor on the logit scale
    assert np.max(np.abs(exact - fast)) < 0.05 * np.max(np.abs(exact))
    assert (exact.argmax(axis=1) == fast.argmax(axis=1)).mean() >= 0.8


def test_bitnet_arch_uses_silu_and_scale_tensors(tmp_path):
    signs = synth(tmp_path, "signs.gguf", shape="tiny", fmt="tq2_0", arch="bitnet", scales=True, seed=2)
    plain = synth(tmp_path, "plain.gguf", shape="tiny", fmt="tq2_0", arch="bitnet", seed=2)
    model = BitNetModel.load(signs, LoadOptions(threads=1, context_length=32))
    assert model.spec.activation == "silu"
    model.close()
    # sign-only weights times their .scale tensors are the same weights as alpha*T
    assert np.array_equal(logits_of(signs), logits_of(plain))
    relu = logits_of(plain, activation="relu2")
    assert not np.allclose(relu, logits_of(plain))


def test_missing_tensor_is_named(tmp_path):
    bad = rewrite(synth(tmp_path), tmp_path / "bad.gguf", drop={"blk.1.ffn_up.weight"})
    with pytest.raises(ModelFormatError, match=r"bad\.gguf: tensor 'blk\.1\.ffn_up\.weight' is missing"):
        BitNetModel.load(bad)


def test_wrong_shape_is_named(tmp_path):
    src = synth(tmp_path)
    bad = rewrite(src, tmp_path / "bad.gguf",
                  meta={"bitnet-b1.58.feed_forward_length": (ValueType.UINT32, 768)})
    with pytest.raises(ModelFormatError,
                       match=r"tensor 'blk\.0\.ffn_gate\.weight' has shape \[512, 256\], the model needs \[768, 256\]"):
        BitNetModel.load(bad)


def test_lut_format_is_refused_with_a_way_out(tmp_path):
    src = synth(tmp_path)
    bad = rewrite(src, tmp_path / "tl1.gguf", retype={"blk.0.attn_q.weight": "TL1"})
    with pytest.raises(ModelFormatError, match="I2_S"):
        BitNetModel.load(bad)


def test_unknown_architecture_is_refused(tmp_path):
    bad = rewrite(synth(tmp_path), tmp_path / "qwen2.gguf",
                  meta={"general.architecture": (ValueType.STRING, "qwen2")})
    with pytest.raises(ModelFormatError, match="architecture 'qwen2' is not a BitNet model"):
        BitNetModel.load(bad)


def test_truncated_file_is_refused(tmp_path):
    src = synth(tmp_path)
    data = src.read_bytes()
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(data[: len(data) - 1000])
    with pytest.raises(ModelFormatError, match="cut.gguf"):
        BitNetModel.load(cut)


def test_model_larger_than_free_memory_is_refused_with_numbers(tmp_path, monkeypatch):
    path = synth(tmp_path)

    class Tiny:
        available = 1 << 20

    monkeypatch.setattr(memory.psutil, "virtual_memory", lambda: Tiny())
    with pytest.raises(InsufficientMemoryError, match=r"needs about .* MiB \(weights .* KV cache .* only 1 MiB"):
        BitNetModel.load(path)


def test_memory_estimate_matches_what_the_model_allocates(tmp_path):
    model = BitNetModel.load(synth(tmp_path, shape="small"), LoadOptions(head="fast", context_length=128))
    try:
        assert model.memory.kv_cache == model.native.kv_bytes
        assert model.memory.scratch == model.native.scratch_bytes
        assert model.memory.fast_head == model.native.head_bytes > 0
        assert model.memory.kv_cache == model.spec.kv_bytes_per_token() * 128
    finally:
        model.close()


def test_a_broken_tokenizer_is_reported_before_a_broken_tensor(tmp_path):
    # The native model is made on another thread while the tokenizer is built; the tokenizer's
    # error still comes first, as it did when the two ran one after the other.
    bad = rewrite(synth(tmp_path), tmp_path / "bad.gguf", drop={"blk.1.ffn_up.weight"},
                  meta={"tokenizer.ggml.model": (ValueType.STRING, "no-such-tokenizer")})
    with pytest.raises(TokenizerError, match="no-such-tokenizer"):
        BitNetModel.load(bad, LoadOptions(threads=1, context_length=64))


def test_the_native_model_is_made_while_the_tokenizer_is_built(tmp_path, monkeypatch):
    weights_started = threading.Event()
    load_weights, from_gguf_metadata = model_module.load_weights, Tokenizer.from_gguf_metadata

    def load_weights_and_say_so(g, spec):
        weights_started.set()
        return load_weights(g, spec)

    def tokenizer_once_the_weights_are_loading(metadata):
        assert weights_started.wait(timeout=30), "the native model waited for the tokenizer"
        return from_gguf_metadata(metadata)

    monkeypatch.setattr(model_module, "load_weights", load_weights_and_say_so)
    monkeypatch.setattr(Tokenizer, "from_gguf_metadata", staticmethod(tokenizer_once_the_weights_are_loading))
    model = BitNetModel.load(synth(tmp_path), LoadOptions(threads=1, context_length=64))
    try:
        assert np.isfinite(model.native.forward(IDS[:3], 0)).all()
    finally:
        model.close()


def test_a_falcon3_file_without_a_template_loads_with_falcon3s_chat_format(tmp_path):
    """A Falcon3 vocabulary (pre-tokenizer falcon3 and its role tokens) over a synthetic model's free
    specials, with <|endoftext|> as EOS and no template: the built-in Falcon3 format, and its stop token."""
    src = synth(tmp_path, shape="tiny", arch="bitnet", fmt="tq2_0", seed=3)
    with open_gguf(src) as g:
        tokens = list(g.metadata["tokenizer.ggml.tokens"])
    first_free = len(tokens) - 240       # <|reserved_special_token_N|> of the Llama-3 specials
    names = ["<|system|>", "<|user|>", "<|assistant|>", "<|endoftext|>"]
    assert all(t.startswith("<|reserved_special_token_") for t in tokens[first_free:first_free + 4])
    tokens[first_free:first_free + 4] = names
    path = rewrite(src, tmp_path / "falcon3.gguf", drop_meta=("tokenizer.chat_template",), meta={
        "tokenizer.ggml.tokens": (ValueType.ARRAY, GGUFArray(ValueType.STRING, tokens)),
        "tokenizer.ggml.pre": (ValueType.STRING, "falcon3"),
        "tokenizer.ggml.eos_token_id": (ValueType.UINT32, first_free + 3)})
    model = BitNetModel.load(path, LoadOptions(threads=1, context_length=64))
    try:
        assert isinstance(model.chat_format, Falcon3ChatFormat) and not model.is_base_model
        assert first_free + 3 in model.generator.stop_token_ids
        ids = model.chat_format.render_ids([{"role": "user", "content": "Hi"}])
        assert ids[-2:] == [first_free + 2, model.tokenizer.token_id("Ċ")]   # "<|assistant|>", "\n"
        events = list(model.generator.generate(ids, SamplingParams(temperature=0, max_tokens=3)))
        assert events[-1].reason in ("max_tokens", "eos")
    finally:
        model.close()
