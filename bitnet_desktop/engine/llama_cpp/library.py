"""llama-cpp-python, imported on first use, with llama.cpp's own logging kept off the terminal.

llama-cpp-python is an optional extra (`pip install "bitnet-desktop[llama]"`): without it, or with a
build whose shared library does not load, `llama_cpp_library()` raises LlamaCppUnavailableError with
the install hint. Everything llama.cpp and ggml log goes to `LOG` instead of stderr (they print
hundreds of lines per load); its recent warnings and errors are quoted in our own error messages
(a file llama.cpp refuses is explained only in its log).
"""
from __future__ import annotations

import collections
import re
import threading
from types import ModuleType

from ..errors import LlamaCppUnavailableError

INSTALL_HINT = 'pip install "bitnet-desktop[llama]"'
UPGRADE_HINT = 'pip install --upgrade "bitnet-desktop[llama]"'
# The C API this engine calls that older llama-cpp-python releases lack (llama.cpp's memory API).
REQUIRED_FUNCTIONS = ("llama_model_load_from_file", "llama_init_from_model", "llama_get_memory",
                      "llama_memory_seq_rm", "llama_memory_seq_pos_max", "llama_vocab_n_tokens",
                      "llama_set_abort_callback")
# ggml_log_level: 2 INFO, 3 WARN, 4 ERROR, 5 CONT (continues the previous message).
_INFO, _WARN, _ERROR, _CONT = 2, 3, 4, 5
# How llama.cpp reports what a context allocated, e.g. "llama_kv_cache:  CPU KV buffer size =  4.00 MiB".
_BUFFER_REPORT = re.compile(r"\b(?:output|KV|compute) buffer size =\s*([0-9.]+) MiB")


class LlamaCppLog:
    """The recent warnings and errors llama.cpp logged (filled from its threads; read after a failure),
    and the buffer sizes it reported."""

    def __init__(self, keep: int = 20):
        self._lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._keeping = False
        self._buffer_mib: list[float] = []

    def record(self, level: int, text: bytes) -> None:
        if level == _INFO:
            report = _BUFFER_REPORT.search(text.decode("utf-8", "replace"))
            if report:
                self._buffer_mib.append(float(report.group(1)))
        if level == _CONT:
            if self._keeping and self._lines:
                self._lines[-1] += text.decode("utf-8", "replace")
            return
        self._keeping = level in (_WARN, _ERROR)
        if self._keeping:
            self._lines.append(text.decode("utf-8", "replace"))

    def clear(self) -> None:
        """Forget what was recorded, e.g. before a call whose failure `recent()` should explain."""
        self._lines.clear()
        self._buffer_mib.clear()

    def buffer_bytes(self) -> int:
        """The bytes of the KV, compute and output buffers llama.cpp reported since `clear()` (it says
        what it allocates only in its log, in MiB to two decimals)."""
        return round(sum(self._buffer_mib) * (1 << 20))

    def recent(self) -> str:
        """The warnings and errors recorded since `clear()`, one after the other, for an error message."""
        return " | ".join(line.strip() for line in list(self._lines) if line.strip())

LOG = LlamaCppLog()
_lock = threading.Lock()
_library: ModuleType | None = None
_log_callback = None  # the ctypes callback must live as long as llama.cpp may call it


def llama_cpp_library() -> ModuleType:
    """The `llama_cpp` module, its backend initialised and its logging routed to LOG."""
    global _library, _log_callback
    with _lock:
        if _library is not None:
            return _library
        try:
            import llama_cpp
        except ImportError as error:
            raise LlamaCppUnavailableError(
                "this model is an ordinary (not ternary) GGUF file, which runs on llama.cpp, and "
                f"llama-cpp-python is not installed ({error}); enable it with: {INSTALL_HINT}") from error
        except (OSError, RuntimeError) as error:  # installed, but its shared library does not load
            raise LlamaCppUnavailableError(
                f"this model runs on llama.cpp, but llama-cpp-python's library does not load ({error}); "
                f"reinstall it with: {INSTALL_HINT}") from error
        missing = [name for name in REQUIRED_FUNCTIONS if not hasattr(llama_cpp, name)]
        if missing:
            raise LlamaCppUnavailableError(
                f"llama-cpp-python {getattr(llama_cpp, '__version__', '?')} is too old for this app (it lacks "
                f"{', '.join(missing)}); upgrade it with: {UPGRADE_HINT}")

        @llama_cpp.llama_log_callback
        def log_to_memory(level, text, _user_data):
            LOG.record(level, text)

        llama_cpp.llama_log_set(log_to_memory, None)
        _log_callback = log_to_memory
        llama_cpp.llama_backend_init()
        _library = llama_cpp
        return llama_cpp


def repacked_weights_are_safe() -> bool:
    """Whether llama.cpp may repack weights into its extra CPU buffer types (AMX, the x86 / ARM
    repacked layouts). Not on a CPU that reports AMX: there llama.cpp puts Q8_0 / Q4 weights in its
    AMX buffer, and on a Xeon VM whose CPUID and kernel both offer AMX its first matmul still died
    with SIGILL, which would end the whole app. Without AMX the repacked layouts use only the
    instructions ggml checked, and they speed up Q4_0 / Q4_K / IQ4_NL models."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return "amx_tile" not in line.split()
    except OSError:
        pass  # not Linux: no AMX report to go by; llama.cpp's own checks decide
    return True
