"""Screenshots of the window as a person sees it: the real app on an X server (Xvfb) through Qt's
xcb platform, grabbed from the screen, in the light and the dark theme, the first-run page and the
settings dialog. The test checks they are the window's size and not blank, then copies them for a
person to look at into $BITNET_DESKTOP_SCREENSHOTS, else screenshots/ at the repository root."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

from bitnet_desktop.engine.synth import write_synthetic_model

from .driver_process import REPO, STARTUP_TIMEOUT_S, STEP_TIMEOUT_S, DriverProcess, driver_env

SCREEN = (1280, 800)
DISPLAYS = range(97, 127)        # tried in turn until one is free
XVFB_START_TIMEOUT_S = 30.0
SHOTS = ("first-run", "chat-light", "chat-light-end", "settings-dialog", "chat-dark")
SCREENSHOTS_ENV_VAR = "BITNET_DESKTOP_SCREENSHOTS"


def _lock_owner(display: int) -> int | None:
    try:
        return int(Path(f"/tmp/.X{display}-lock").read_text().strip())
    except (OSError, ValueError):
        return None


def _start_xvfb(log) -> tuple[subprocess.Popen, int]:
    """Xvfb on the first free display; returns it once its socket is there and the lock is its own."""
    tried = []
    for display in DISPLAYS:
        if Path(f"/tmp/.X11-unix/X{display}").exists() or Path(f"/tmp/.X{display}-lock").exists():
            continue
        xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten",
                                 "tcp"], stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + XVFB_START_TIMEOUT_S
        while xvfb.poll() is None and time.monotonic() < deadline:
            if Path(f"/tmp/.X11-unix/X{display}").exists() and _lock_owner(display) == xvfb.pid:
                return xvfb, display
            time.sleep(0.05)    # polling for the server's socket; there is nothing to wait on instead
        tried.append(display)
        _stop(xvfb)             # another server took the number first, or it never came up
        if len(tried) >= 5:
            break
    log.seek(0)
    raise AssertionError(f"Xvfb did not start on displays {tried}:\n{log.read().decode('utf-8', 'replace')}")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _pixels(path: Path) -> np.ndarray:
    """(height, width, 3) uint8 RGB of a PNG."""
    image = QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable image"
    image = image.convertToFormat(QImage.Format.Format_RGB888)
    rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def _luminance(rgb: np.ndarray) -> float:
    return float((rgb @ np.array([0.2126, 0.7152, 0.0722])).mean())


def _distinct_colours(rgb: np.ndarray) -> int:
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) | rgb[..., 2]
    return int(np.unique(packed).size)


@pytest.fixture
def xvfb_display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt install xvfb): the screenshots need an X server")
    with tempfile.TemporaryFile() as log:
        xvfb, display = _start_xvfb(log)
        try:
            yield display
        finally:
            _stop(xvfb)


def _publish(pictures: list[Path], out: Path) -> None:
    """Copies the checked pictures into `out`, each replaced whole (another run may write there too)."""
    out.mkdir(parents=True, exist_ok=True)
    for picture in pictures:
        temporary = out / f".{picture.name}.{os.getpid()}.tmp"
        shutil.copyfile(picture, temporary)
        os.replace(temporary, out / picture.name)


def test_screenshots_of_the_window_light_dark_first_run_and_settings(tmp_path: Path, xvfb_display: int) -> None:
    model = write_synthetic_model(tmp_path / "small.gguf", shape="small", seed=1)
    data_dir = tmp_path / "data"
    shots_dir = tmp_path / "screenshots"
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = driver_env(data_dir, DISPLAY=f":{xvfb_display}", QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(runtime))

    with DriverProcess(["screenshots", "--data-dir", str(data_dir), "--model", str(model), "--out",
                        str(shots_dir)], env) as driver:
        shots = {}
        for _ in SHOTS:
            shot = json.loads(driver.expect("shot", STARTUP_TIMEOUT_S, skip=("loaded",)))
            shots[shot["name"]] = shot
        driver.expect("done")
        status = driver.wait(STEP_TIMEOUT_S)
        assert status == 0, driver.failure(f"the driver exited with status {status}")

    assert sorted(shots) == sorted(SHOTS)
    pixels = {}
    for name, shot in shots.items():
        path = shots_dir / f"{name}.png"
        assert Path(shot["path"]) == path and path.is_file()
        rgb = pixels[name] = _pixels(path)
        assert rgb.shape[:2] == (shot["height"], shot["width"]), f"{name}: not the window's size"
        assert _distinct_colours(rgb) > 50, f"{name} looks blank"
    assert _luminance(pixels["chat-dark"]) < _luminance(pixels["chat-light"]) - 60
    _publish([shots_dir / f"{name}.png" for name in SHOTS],
             Path(os.environ.get(SCREENSHOTS_ENV_VAR) or REPO / "screenshots"))
