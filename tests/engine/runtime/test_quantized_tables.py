"""Q8_0 / Q6_K token_embd and output tables given to the native model as stored (views of the mapped
file) give the logits of the same model whose F16 tables hold the Python decode (formats.dequant,
then NumPy's f16 cast), in both head modes, tied and untied, on 1 and 2 threads: the int8 head
built from decoded rows and the exact head's own f16 decode are bit-identical to those built from
an f16 copy. Wrong lengths and types are refused with named errors."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bitnet_desktop.engine.errors import ShapeError
from bitnet_desktop.engine.formats import dequantize_tensor
from bitnet_desktop.engine.gguf import open_gguf
from bitnet_desktop.engine.native import KernelContext
from bitnet_desktop.engine.runtime.model_spec import read_model_spec
from bitnet_desktop.engine.runtime.native_model import ModelConfigError, NativeModel, WeightSizeError
from bitnet_desktop.engine.runtime.weights import load_weights
from tests.engine.runtime.gguf_files import synth
from tests.engine.runtime.native_helpers import native_config
from tests.engine.runtime.reference_forward import make_model

IDS = [0, 5, 17, 300, 42, 7, 99, 1000, 3, 250, 1023]  # first and last rows too
TYPES = ("q8_0", "q6_k")
SHAPES = ("tiny", "tiny-untied")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tables")
    return {(t, s): synth(folder, f"{t}-{s}.gguf", shape=s, seed=4, embedding_type=t) for t in TYPES for s in SHAPES}


def weights_of(g):
    spec = read_model_spec(g.metadata, str(g.path), g.tensors["token_embd.weight"].shape[0])
    return load_weights(g, spec)


def with_python_decoded_tables(weights, g):
    """The same weights with F16 tables holding the Python decode of the quantized ones."""
    shape = (weights.spec.vocab_size, weights.spec.d_model)

    def f16(name: str) -> np.ndarray:
        return dequantize_tensor(g.tensors[name]).reshape(shape).astype(np.float16).view(np.uint16)

    tied = weights.output is None
    return dataclasses.replace(weights, token_embd=f16("token_embd.weight"), token_embd_type="F16",
                               output=None if tied else f16("output.weight"), output_type=None if tied else "F16")


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("head", ["i8", "f16"])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("table_type", TYPES)
def test_quantized_tables_give_the_logits_of_their_python_decode(files, table_type, shape, head, threads):
    path = files[table_type, shape]
    with open_gguf(path) as g:
        weights = weights_of(g)
        assert weights.token_embd_type == table_type.upper() and weights.converted_bytes == 0
        reference = NativeModel.from_model_weights(KernelContext(threads=threads),
                                                   with_python_decoded_tables(weights, g), 64, head=head)
        expected = reference.forward(IDS, 0, all_logits=True).copy()
        native = NativeModel.from_model_weights(KernelContext(threads=threads), weights, 64, head=head)
        np.testing.assert_array_equal(native.forward(IDS, 0, all_logits=True), expected)

        decoded = 2 * weights.spec.vocab_size * weights.spec.d_model if head == "f16" else 0
        assert native.decoded_head_bytes == decoded
        assert NativeModel.estimate_memory(native.config, threads)["decoded_head"] == decoded
        assert native.allocated_bytes == native.kv_bytes + native.scratch_bytes + native.head_bytes + decoded

        # Rows from the file are checked against the rows decoded from the mapped table, then used.
        embd = g.tensors["token_embd.weight"]
        native.read_embedding_from_file(path, embd.file_offset, embd.type.name)
        np.testing.assert_array_equal(native.forward(IDS, 0, all_logits=True), expected)


@pytest.fixture(scope="module")
def q6_k_weights(files):
    with open_gguf(files["q6_k", "tiny"]) as g:
        weights = weights_of(g)
        yield dataclasses.replace(weights, token_embd=np.array(weights.token_embd))  # outlives the mapping


def create(weights, head="i8"):
    return NativeModel.from_model_weights(KernelContext(threads=1), weights, 16, head=head)


def test_a_quantized_table_of_the_wrong_length_is_refused(files, q6_k_weights):
    short = q6_k_weights.token_embd.reshape(-1)[:-1]
    # Q6_K: 256 values are one block of 210 bytes.
    with pytest.raises(WeightSizeError, match=r"token_embd has 215039 bytes, \[vocab 1024, d 256\] as Q6_K needs 215040"):
        create(dataclasses.replace(q6_k_weights, token_embd=short))
    with open_gguf(files["q8_0", "tiny-untied"]) as g:
        weights = weights_of(g)
        output = weights.output.reshape(-1)
        with pytest.raises(WeightSizeError, match=r"output has 278529 bytes, \[vocab 1024, d 256\] as Q8_0 needs 278528"):
            create(dataclasses.replace(weights, output=np.concatenate([output, output[:1]])), head="f16")


@pytest.mark.parametrize("change, error, message", [
    ({"token_embd_type": "NOPE"}, ModelConfigError, "unknown ggml type 'NOPE' for token_embd"),
    ({"token_embd_type": "BF16"}, ModelConfigError,
     r"tok_embd_type = 30, must be BN_GGML_F16 \(1\), BN_GGML_Q8_0 \(8\) or BN_GGML_Q6_K \(14\)"),
    ({"output_type": "F16"}, ModelConfigError,
     "output is NULL .tied to token_embd. but output_type = F16 differs from tok_embd_type = Q6_K"),
    ({"token_embd_type": "F16"}, ShapeError, "token_embd must be float16"),
    ({"token_embd_type": "Q8_0"}, WeightSizeError, "token_embd has 215040 bytes, .* as Q8_0 needs 278528"),
])
def test_a_table_of_another_type_is_refused(q6_k_weights, change, error, message):
    with pytest.raises(error, match=message):
        create(dataclasses.replace(q6_k_weights, **change))


def test_q6_k_tables_need_whole_blocks_per_row():
    m = make_model(1, n_layers=1, d_model=128, n_heads=2, n_kv_heads=1, d_ffn=128, vocab=8, tied=False)
    config = dataclasses.replace(native_config(m, max_context=8), token_embd_type="Q8_0", output_type="Q6_K")
    q8_0_rows = np.zeros((8, 4 * 34), np.uint8)
    with pytest.raises(ModelConfigError, match="output_type = Q6_K needs d_model to be a multiple of its block of "
                                               "256 values, d_model = 128"):
        NativeModel(KernelContext(threads=1), config, m.engine_layers(), q8_0_rows, m.output_norm, q8_0_rows)
    with pytest.raises(ModelConfigError, match="estimating the model's memory"):
        NativeModel.estimate_memory(config, 1)
    tied_q8_0 = dataclasses.replace(config, output_type=None)  # the exact head decodes it: [8, 128] f16
    assert NativeModel.estimate_memory(tied_q8_0, 1)["decoded_head"] == 8 * 128 * 2
