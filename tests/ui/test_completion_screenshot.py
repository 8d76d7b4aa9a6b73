"""Screenshots of the text-completion view as a person sees it: the real app on an X server
(Xvfb) with a synthetic base model (no chat template), a hand-written document open, then after
Continue. Checked to be the window's size and not blank, then copied for a person to look at (see
test_screenshots.py for where)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from bitnet_desktop.engine.synth import write_synthetic_model

from .driver_process import REPO, STARTUP_TIMEOUT_S, STEP_TIMEOUT_S, DriverProcess, driver_env
from .test_screenshots import SCREENSHOTS_ENV_VAR, _distinct_colours, _pixels, _publish, xvfb_display  # noqa: F401

SHOTS = ("completion", "completion-continued")


def test_screenshots_of_the_completion_view(tmp_path: Path, xvfb_display: int) -> None:  # noqa: F811 - fixture
    model = write_synthetic_model(tmp_path / "base.gguf", shape="small", fmt="tq2_0", arch="bitnet",
                                  tokenizer="llama", seed=7)
    data_dir, shots_dir, runtime = tmp_path / "data", tmp_path / "screenshots", tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = driver_env(data_dir, DISPLAY=f":{xvfb_display}", QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(runtime))

    with DriverProcess(["completion-screenshots", "--data-dir", str(data_dir), "--model", str(model), "--out",
                        str(shots_dir)], env) as driver:
        driver.expect("loaded", STARTUP_TIMEOUT_S)
        shots = {}
        for _ in SHOTS:
            shot = json.loads(driver.expect("shot", STEP_TIMEOUT_S))
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
    assert (pixels["completion"] != pixels["completion-continued"]).any(), "Continue changed nothing on screen"
    _publish([shots_dir / f"{name}.png" for name in SHOTS],
             Path(os.environ.get(SCREENSHOTS_ENV_VAR) or REPO / "screenshots"))
