"""The test side of window_driver.py: starts it as a subprocess, reads its stdout lines on a thread
(so no read can block a test), and bounds every wait. Whatever happens, `stop()` kills it."""
from __future__ import annotations

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90.0     # a loaded 2-core machine can take long to import Qt and open the window
STEP_TIMEOUT_S = 90.0


class DriverFailed(AssertionError):
    pass


class DriverProcess:
    def __init__(self, args: list[str], env: dict[str, str]):
        self._stderr = tempfile.TemporaryFile()
        self.lines: list[tuple[float, str]] = []   # (monotonic time read, line) of everything read
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self.process = subprocess.Popen([sys.executable, "-m", "tests.ui.window_driver", *args], cwd=REPO,
                                        env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=self._stderr, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        for line in self.process.stdout:
            self._queue.put((time.monotonic(), line.rstrip("\n")))
        self._queue.put(None)

    def next_line(self, deadline: float) -> tuple[float, str]:
        """The next stdout line (time read, text); DriverFailed at the deadline, at exit, or on an error line."""
        left = deadline - time.monotonic()
        try:
            item = self._queue.get(timeout=max(0.0, left))
        except queue.Empty:
            raise self.failure("no line from the driver in time") from None
        if item is None:
            self._queue.put(None)    # stay at the end for later calls
            self.wait(10)
            raise self.failure(f"the driver exited with status {self.process.returncode}")
        self.lines.append(item)
        if item[1].startswith("error "):
            raise self.failure(item[1])
        return item

    def expect(self, prefix: str, timeout: float = STEP_TIMEOUT_S, skip: tuple[str, ...] = ()) -> str:
        """Reads until a line starting with `prefix` (lines starting with a `skip` prefix pass by);
        returns the rest of that line."""
        deadline = time.monotonic() + timeout
        while True:
            _, line = self.next_line(deadline)
            if line == prefix or line.startswith(prefix + " "):
                return line[len(prefix):].strip()
            if not line.startswith(skip):
                raise self.failure(f"expected {prefix!r}, got {line!r}")

    def wait(self, timeout: float) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise self.failure(f"the driver did not exit within {timeout:.0f} s") from None

    def stderr_text(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def failure(self, message: str) -> DriverFailed:
        recent = "\n".join(line for _, line in self.lines[-20:])
        return DriverFailed(f"{message}\n--- last stdout lines ---\n{recent}\n--- stderr ---\n{self.stderr_text()[-6000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
        self._reader.join(timeout=5)
        self.process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> "DriverProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def driver_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QT_", "PYTEST_"))}
    env.update({"BITNET_DESKTOP_DATA_DIR": str(data_dir), "QT_QPA_PLATFORM": "offscreen",
                "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env
