"""Every file of the hostile corpus (tests/fuzz/make_hostile_files.py), in both heads, either
loads and generates or fails with one of the engine's own errors (a BitNetError), never a generic
exception; where the corpus names the error a case must get, it gets that one."""
import pytest

from bitnet_desktop.engine.errors import BitNetError
from tests.fuzz.bases import make_bases
from tests.fuzz.exercise import exercise
from tests.fuzz.make_hostile_files import CASES


@pytest.fixture(scope="module")
def bases():
    return make_bases()


def outcome(path, head: str) -> BaseException | None:
    try:
        exercise(path, head)
    except BitNetError as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - reported as the failure, with what it was
        pytest.fail(f"{head} head: {type(exc).__name__} instead of an engine error: {exc}")
    return None


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_file_loads_or_gets_an_engine_error(bases, tmp_path, name):
    case = CASES[name]
    path = tmp_path / f"{name}.gguf"
    case.make(bases[case.base], path)
    for head in ("fast", "exact"):
        error = outcome(path, head)
        wanted = case.expect or (case.fast_only if head == "fast" else None)
        if wanted is not None:
            assert isinstance(error, wanted), f"{head} head: {error!r}, wanted {wanted.__name__}"
