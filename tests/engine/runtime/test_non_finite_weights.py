"""NaN or infinity in a model's weights: refused at load where it is cheap to see (norm gains,
alphas, scales, and the int8 head's table, which the fast head's build reads anyway), else a
NonFiniteLogitsError that ends the generation with reason ERROR; never meaningless tokens."""
import shutil

import numpy as np
import pytest

from bitnet_desktop.engine.errors import BitNetError, ModelFormatError, NonFiniteLogitsError
from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.runtime.generation_events import FinishedEvent, FinishReason
from bitnet_desktop.engine.runtime.model import BitNetModel, LoadOptions
from bitnet_desktop.engine.runtime.native_model import ModelConfigError
from bitnet_desktop.engine.sampling import SamplingParams
from bitnet_desktop.engine.synth import write_synthetic_model
from tests.cli.test_info import run_cli

F16_NAN, F16_INF = b"\x00\x7e", b"\x00\x7c"


def patched(src, dst, tensor: str, byte_offset: int, data: bytes, repeat: int = 1):
    """A copy of src with `data` written `repeat` times at byte_offset of the tensor's data."""
    shutil.copyfile(src, dst)
    with open_gguf(src) as g:
        start = g.tensors[tensor].file_offset + byte_offset
    with open(dst, "r+b") as f:
        f.seek(start)
        f.write(data * repeat)
    return dst


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("models")
    return {name: write_synthetic_model(tmp / f"{name}.gguf", shape=shape, seed=3, **kw) for name, shape, kw in (
        ("tied", "tiny", {}), ("untied", "tiny-untied", {}), ("q8", "tiny", {"embedding_type": "q8_0"}),
        ("scales", "tiny", {"fmt": "tq2_0", "scales": True}))}


def load(path, head="fast"):
    return BitNetModel.load(path, LoadOptions(threads=1, head=head, context_length=32))


def generate(model):
    events = list(model.generator.generate([1, 2, 3], SamplingParams(temperature=0.0, max_tokens=3)))
    return events[-1]


D = 256  # the tiny shape's d_model


@pytest.mark.parametrize("head", ["fast", "exact"])
@pytest.mark.parametrize("tensor, index", [("blk.1.ffn_sub_norm.weight", 17), ("output_norm.weight", 0)])
def test_a_non_finite_norm_gain_is_refused_naming_file_and_tensor(models, tmp_path, head, tensor, index):
    path = patched(models["tied"], tmp_path / "m.gguf", tensor, 4 * index, np.float32(np.inf).tobytes())
    with pytest.raises(ModelFormatError) as raised:
        load(path, head)
    assert str(path) in str(raised.value) and repr(tensor) in str(raised.value) and f"index {index}" in str(raised.value)


def test_a_non_finite_i2s_alpha_is_refused(models, tmp_path):
    k = D
    path = patched(models["tied"], tmp_path / "m.gguf", "blk.0.attn_q.weight", D * k // 4, np.float32(np.nan).tobytes())
    with pytest.raises(ModelFormatError, match=r"'blk\.0\.attn_q\.weight' has alpha = nan in its I2_S tail"):
        load(path)


@pytest.mark.parametrize("value", [np.nan, np.inf, 0.0])
def test_a_non_finite_or_zero_scale_tensor_is_refused(models, tmp_path, value):
    path = patched(models["scales"], tmp_path / "m.gguf", "blk.0.ffn_up.scale", 0, np.float32(value).tobytes())
    with pytest.raises(ModelFormatError, match=r"'blk\.0\.ffn_up\.scale' must hold one finite, non-zero number"):
        load(path)


@pytest.mark.parametrize("name, repeat, at, row", [
    ("all NaN", 1024 * D, 0, 0),
    ("one inf", 1, 2 * (7 * D + 3), 7),
])
def test_fast_mode_refuses_a_non_finite_embedding_naming_the_row(models, tmp_path, name, repeat, at, row):
    data = F16_NAN if repeat > 1 else F16_INF
    path = patched(models["tied"], tmp_path / "m.gguf", "token_embd.weight", at, data, repeat)
    with pytest.raises(ModelConfigError, match=f"token_embd row {row} holds NaN or infinity"):
        load(path, "fast")


def test_fast_mode_names_the_row_of_an_untied_output_table(models, tmp_path):
    path = patched(models["untied"], tmp_path / "m.gguf", "output.weight", 2 * (1000 * D + 255), F16_NAN)
    with pytest.raises(ModelConfigError, match="output row 1000 holds NaN or infinity"):
        load(path, "fast")


def test_fast_mode_refuses_a_q8_0_row_whose_scale_is_infinite(models, tmp_path):
    row_bytes = D // 32 * 34
    path = patched(models["q8"], tmp_path / "m.gguf", "token_embd.weight", 5 * row_bytes + 34, F16_INF)
    with pytest.raises(ModelConfigError, match="token_embd row 5 holds NaN or infinity"):
        load(path, "fast")


def end_of(path, head):
    model = load(path, head)
    try:
        return generate(model)
    finally:
        model.close()


def test_exact_mode_ends_the_stream_with_a_named_error(models, tmp_path):
    path = patched(models["tied"], tmp_path / "m.gguf", "token_embd.weight", 2 * (500 * D), F16_NAN)
    finished = end_of(path, "exact")
    assert isinstance(finished, FinishedEvent) and finished.reason == FinishReason.ERROR
    assert isinstance(finished.error, NonFiniteLogitsError) and finished.token_ids == []


@pytest.mark.parametrize("head", ["fast", "exact"])
def test_a_nan_embedding_row_of_an_untied_model_ends_the_stream(models, tmp_path, head):
    # Row 3 is the prompt's last token. The int8 head quantizes NaN to finite codes; the forward
    # pass gives a token whose final hidden state is not finite NaN logits instead.
    path = patched(models["untied"], tmp_path / "m.gguf", "token_embd.weight", 2 * (3 * D + 9), F16_NAN)
    finished = end_of(path, head)
    assert finished.reason == FinishReason.ERROR and isinstance(finished.error, NonFiniteLogitsError)
    assert isinstance(finished.error, BitNetError)


def test_finite_weights_still_generate(models):
    finished = end_of(models["untied"], "fast")
    assert finished.reason == FinishReason.MAX_TOKENS and len(finished.token_ids) == 3


def test_generate_prints_the_error_and_exits_2(models, tmp_path):
    path = patched(models["tied"], tmp_path / "m.gguf", "token_embd.weight", 0, F16_NAN, 1024 * D)
    result = run_cli("generate", str(path), "--prompt-ids", "1,2", "--head", "exact", "--threads", "1",
                     "--max-tokens", "2")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "bitnet-desktop: error: the model produced NaN logits" in result.stderr
