"""Every command's numeric and string options are checked while the arguments are parsed: a bad
value exits 2 with one message naming the option and its range, and no traceback. The model path
does not exist, so an error that names the option proves nothing was loaded first."""
import argparse

import pytest

from bitnet_desktop.cli.arguments import MAX_THREADS, token_ids
from bitnet_desktop.cli.main import main
from bitnet_desktop.engine.errors import KernelError
from bitnet_desktop.engine.native import KernelContext


def refused(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize("option, value, allowed", [
    ("--max-tokens", "0", "1..131072"), ("--max-tokens", "-1", "1..131072"),
    ("--top-logits", "-1", "0..1000000"),
    ("--temperature", "nan", "0..5"), ("--temperature", "-1", "0..5"), ("--temperature", "inf", "0..5"),
    ("--top-p", "2", "0..1"), ("--min-p", "2", "0..1"), ("--repeat-penalty", "0", "(0, 3]"),
    ("--seed", "-1", "0.."), ("--top-k", "-5", "0..1000000"),
    ("--threads", "0", f"1..{MAX_THREADS}"), ("--threads", "999", f"1..{MAX_THREADS}"),
    ("--ctx", "0", "1..4194304"), ("--ctx", "x", "1..4194304"),
])
def test_generate_refuses_out_of_range_values_before_loading(tmp_path, capsys, option, value, allowed):
    err = refused(["generate", str(tmp_path / "no-model.gguf"), "--prompt", "x", option, value], capsys)
    assert f"argument {option}: must be" in err and allowed in err and repr(value) in err


def test_generate_refuses_an_empty_stop_string(tmp_path, capsys):
    err = refused(["generate", str(tmp_path / "no-model.gguf"), "--prompt", "x", "--stop", ""], capsys)
    assert "argument --stop: must not be empty" in err


@pytest.mark.parametrize("ids", ["1,a", "1,-2", ",", ""])
def test_generate_refuses_bad_prompt_ids(tmp_path, capsys, ids):
    err = refused(["generate", str(tmp_path / "no-model.gguf"), "--prompt-ids", ids], capsys)
    assert "argument --prompt-ids: must be comma-separated token ids" in err


def test_token_ids_accepts_spaces_and_a_trailing_comma():
    assert token_ids(" 1, 2,3,") == [1, 2, 3]
    with pytest.raises(argparse.ArgumentTypeError):
        token_ids("1.5")


@pytest.mark.parametrize("argv, option", [
    (["bench", "kernels", "--threads", "0"], "--threads"),
    (["bench", "kernels", "--threads", "999"], "--threads"),
    (["bench", "kernels", "--tokens", "0"], "--tokens"),
    (["bench", "kernels", "--working-set-mib", "-5"], "--working-set-mib"),
    (["bench", "kernels", "--min-seconds", "nan"], "--min-seconds"),
    (["bench", "kernels", "--min-seconds", "0"], "--min-seconds"),
    (["bench", "NOFILE", "--threads", "0"], "--threads"),
    (["bench", "NOFILE", "--ctx", "100"], "--ctx"),
    (["bench", "NOFILE", "--repeats", "0"], "--repeats"),
    (["bench", "NOFILE", "--bandwidth-mib", "0"], "--bandwidth-mib"),
    (["bench", "--shape", "tiny", "--seed", "-1"], "--seed"),
    (["perplexity", "NOFILE", "--text", "t.txt", "--ctx", "3"], "--ctx"),
    (["perplexity", "NOFILE", "--text", "t.txt", "--threads", "999"], "--threads"),
    (["chat", "NOFILE", "--threads", "0"], "--threads"),
    (["chat", "NOFILE", "--ctx", "0"], "--ctx"),
])
def test_other_commands_refuse_out_of_range_values(capsys, argv, option):
    err = refused(argv, capsys)
    assert f"argument {option}: must be" in err


def test_perplexity_names_the_token_file_and_line(tmp_path, capsys):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("1, 2 3\n4 five 6\n")
    assert main(["perplexity", str(tmp_path / "no-model.gguf"), "--tokens", str(tokens)]) == 2
    err = capsys.readouterr().err
    assert err == f"bitnet-desktop: error: --tokens {tokens} line 2: 'five' is not a token id (an integer >= 0)\n"


def test_perplexity_refuses_negative_ids_and_empty_files(tmp_path, capsys):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("1\n\n-3\n")
    assert main(["perplexity", str(tmp_path / "no-model.gguf"), "--tokens", str(tokens)]) == 2
    assert "line 3: '-3' is not a token id" in capsys.readouterr().err
    tokens.write_text(" \n")
    assert main(["perplexity", str(tmp_path / "no-model.gguf"), "--tokens", str(tokens)]) == 2
    assert "holds no token ids" in capsys.readouterr().err


def test_the_thread_limit_is_the_librarys():
    KernelContext(threads=MAX_THREADS).close()
    with pytest.raises(KernelError):
        KernelContext(threads=MAX_THREADS + 1)
