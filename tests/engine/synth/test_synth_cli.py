"""`bitnet-desktop synth` entry function."""

import numpy as np
import pytest

from bitnet_desktop.engine.formats import load_ternary
from bitnet_desktop.engine.gguf import TQ1_0, Q8_0, open_gguf
from bitnet_desktop.engine.synth import SyntheticModel
from bitnet_desktop.engine.synth.cli import main_synth


def test_writes_the_file_and_prints_path_and_size(tmp_path, capsys):
    out = tmp_path / "m.gguf"
    rc = main_synth(["--shape", "tiny-mha", "--format", "tq1_0", "--seed", "4", "--embedding-type", "q8_0", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and f"{out.stat().st_size:,} bytes" in printed
    with open_gguf(out) as g:
        assert g.metadata["general.architecture"] == "bitnet"
        assert g.metadata["bitnet.attention.head_count_kv"] == 4
        assert g.tensors["blk.0.attn_q.weight"].type is TQ1_0 and g.tensors["token_embd.weight"].type is Q8_0
        T, alpha = load_ternary(g.tensors["blk.1.ffn_gate.weight"])
    T_ref, alpha_ref = SyntheticModel("tiny-mha", seed=4).ternary("blk.1.ffn_gate.weight")
    np.testing.assert_array_equal(T, T_ref)
    assert alpha == alpha_ref


def test_arch_scales_untied_and_tokenizer_flags(tmp_path, capsys):
    out = tmp_path / "m.gguf"
    assert (
        main_synth(["--format", "f16", "--arch", "bitnet", "--scales", "--untied", "--tokenizer", "llama", str(out)])
        == 0
    )
    with open_gguf(out) as g:
        assert "blk.0.attn_q.scale" in g.tensors and "output.weight" in g.tensors
        assert g.metadata["tokenizer.ggml.model"] == "llama"


def test_defaults_are_tiny_i2s(tmp_path, capsys):
    out = tmp_path / "d.gguf"
    assert main_synth([str(out)]) == 0
    with open_gguf(out) as g:
        assert g.metadata["general.architecture"] == "bitnet-b1.58"
        assert g.metadata["bitnet-b1.58.embedding_length"] == 256


def test_bad_arguments(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main_synth(["--shape", "huge", str(tmp_path / "x.gguf")])
    assert e.value.code == 2
    assert main_synth(["--tokenizer", "llama", str(tmp_path / "y.gguf")]) == 2
    assert "only offered for arch 'bitnet'" in capsys.readouterr().err
    assert main_synth([str(tmp_path / "no" / "such" / "dir" / "z.gguf")]) == 1
    assert "cannot write" in capsys.readouterr().err
