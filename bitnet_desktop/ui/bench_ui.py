"""`bitnet-desktop bench ui`: drives the real window (offscreen unless $QT_QPA_PLATFORM says
otherwise) and the engine alone on the same model, and starts the app in child processes. What is
measured and the goals: bitnet_desktop/engine/benchmarks/ui_bench.py.

Everything runs in a temporary folder (model, conversations, settings) that is deleted afterwards.
Waiting here uses a QEventLoop with a timeout, never processEvents().
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QEventLoop, QtMsgType, QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from ..app_settings import AppSettings
from ..chats.context_policy import ContextPolicy
from ..chats.records import AnswerStats
from ..chats.session import DEFAULT_TITLE, ChatSession
from ..chats.store import ConversationStore
from ..engine.benchmarks.model_bench import OtherLoad, write_in_child_process
from ..engine.benchmarks.ui_bench import UiBenchReport
from ..engine.errors import BitNetError
from ..engine.native import cpu_info
from ..engine.runtime.model import BitNetModel
from ..engine.sampling import SamplingParams
from ..engine.synth import get_shape
from ..meters.energy import EnergyMeter
from ..paths import DATA_DIR_ENV_VAR
from ..startup_check import run_startup_check
from .heartbeat import Heartbeat
from .main_window import MainWindow

PROMPT_TOKENS = 500
GEN_TOKENS = 128
PAIRS = 2                 # engine, window, engine, window
MESSAGES = 1000
IDLE_SECONDS = 10.0
LOAD_TIMEOUT_S = 600
ANSWER_TIMEOUT_S = 900
CHILD_TIMEOUT_S = 120
_SENTENCES = ("The kernel reads two bits per weight and adds or subtracts the activation.",
              "A long conversation is fed to the model in chunks, and the window shows the progress.",
              "Memory bandwidth bounds the speed of every generated token on a laptop.",
              "The window stays responsive because the model runs on its own thread.")


def run_ui_benchmark(model_path: str | os.PathLike | None = None, shape: str | None = None, seed: int = 0,
                     threads: int | None = None, gen_tokens: int = GEN_TOKENS, prompt_tokens: int = PROMPT_TOKENS,
                     pairs: int = PAIRS, messages: int = MESSAGES, idle_seconds: float = IDLE_SECONDS,
                     progress: Callable[[str], None] | None = None) -> UiBenchReport:
    if (model_path is None) == (shape is None):
        raise ValueError("give either a model path or a synthetic shape")
    say = progress or (lambda _msg: None)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    other_load = OtherLoad()
    with tempfile.TemporaryDirectory(prefix="bitnet-bench-ui-") as tmp:
        tmp_dir = Path(tmp)
        if shape is not None:
            get_shape(shape)
            say(f"writing the synthetic {shape} model (I2_S, seed {seed})")
            path = write_in_child_process(tmp_dir / f"synthetic-{shape}-i2_s.gguf", shape, seed)
        else:
            path = Path(model_path)
        speed = _measure_answers(path, threads, gen_tokens, prompt_tokens, pairs, tmp_dir / "answers", say)
        say("starting the app twice (the second, warm start is reported)")
        first = _child("startup", tmp_dir / "startup")
        warm = _child("startup", tmp_dir / "startup")
        say(f"opening a {messages:,}-message conversation, then {idle_seconds:g} s idle")
        conversation = _child("conversation", tmp_dir / "conversation", str(messages), str(idle_seconds))
        say("removing temporary files")
    report = UiBenchReport(
        model=str(path) if shape is None else f"synthetic {shape} (I2_S, seed {seed})", synthetic_shape=shape,
        cpu=cpu_info().brand, qt_platform=os.environ["QT_QPA_PLATFORM"], startup_seconds=warm["seconds"],
        first_startup_seconds=first["seconds"], rss_no_model_bytes=warm["rss_bytes"],
        open_conversation_messages=messages, open_conversation_seconds=conversation["open_seconds"],
        idle_seconds=idle_seconds, idle_cpu_seconds=conversation["idle_cpu_seconds"], **speed)
    report.other_cpu_load = other_load.fraction()
    if report.other_cpu_load > 0.1:
        report.notes.append(f"other processes used {report.other_cpu_load:.0%} of the CPUs during the run: "
                            "timings are lower and noisier than on an idle machine")
    if report.qt_platform == "offscreen":
        report.notes.append("Qt's offscreen platform: no display server, so the start time leaves out "
                            "connecting to one and the window manager mapping the window")
    return report


# ---- generation: the engine alone against the window

def _measure_answers(path: Path, threads: int | None, gen_tokens: int, prompt_tokens: int, pairs: int,
                     data_dir: Path, say) -> dict:
    app = QApplication.instance() or QApplication([sys.argv[0]])  # noqa: F841 - lives as long as the window
    previous_handler = qInstallMessageHandler(_quiet_offscreen_notice)
    settings = AppSettings(threads=threads, default_sampling={"temperature": 0.0, "max_tokens": gen_tokens})
    data_dir.mkdir(parents=True)
    store = ConversationStore.open(data_dir / "chats.sqlite3")
    window = MainWindow(settings, store, run_startup_check(settings.kernel), data_dir / "config" / "settings.json")
    engine_model = None
    try:
        window.show()
        say("loading the model in the window and beside it")
        window.load_model(str(path))
        _wait(window.engine.model_loaded, LOAD_TIMEOUT_S, failed=window.engine.model_load_failed)
        engine_model = BitNetModel.load(path, settings.load_options())
        prompt, prompt_tokens = _prompt_text(engine_model, settings.default_system_prompt, prompt_tokens)
        if prompt_tokens + gen_tokens >= engine_model.native.max_context:
            raise BitNetError(f"a {prompt_tokens}-token prompt and {gen_tokens} tokens do not fit the "
                              f"{engine_model.native.max_context}-position context")
        _prepare(engine_model)
        _on_engine_thread(window, _prepare)
        say(f"prompt: {prompt_tokens} tokens; {gen_tokens} tokens generated per run")
        return dict(threads=engine_model.ctx.threads, kernel=engine_model.ctx.kernel, prompt_tokens=prompt_tokens,
                    gen_tokens=gen_tokens, **_runs(window, store, engine_model, settings, prompt, pairs, say))
    finally:
        if engine_model is not None:
            engine_model.close()
        window.close()
        window.deleteLater()
        store.close()
        _wait_ms(0)  # lets the deferred delete run before the next window (or the exit)
        qInstallMessageHandler(previous_handler)


def _runs(window: MainWindow, store: ConversationStore, engine_model: BitNetModel, settings: AppSettings,
          prompt: str, pairs: int, say) -> dict:
    engine_runs: list[AnswerStats] = []
    window_runs: list[AnswerStats] = []
    ui_busy: list[float] = []
    for i in range(pairs):
        say(f"run {i + 1} of {pairs}: the engine alone, then the window")
        engine_runs.append(_engine_answer(store, engine_model, settings, prompt))
        stats, busy = _window_answer(window, None, prompt)
        window_runs.append(stats)
        ui_busy.append(busy)
    # Watched apart from the timed runs: on a machine with no core to spare, the heartbeat's
    # 100 wake-ups a second would slow the engine it measures.
    say("one more window run with the 10 ms heartbeat watching the UI thread")
    heartbeat = Heartbeat(window, phase=lambda: _answer_phase(window))
    watched, _busy = _window_answer(window, heartbeat, prompt)
    gen_tokens = settings.default_sampling["max_tokens"]
    counts = {s.generated_tokens for s in engine_runs + window_runs + [watched]}
    if counts != {gen_tokens}:
        raise BitNetError(f"runs generated {sorted(counts)} tokens instead of {gen_tokens} each")
    engine_tps = [s.generation_tokens_per_second for s in engine_runs]
    window_tps = [s.generation_tokens_per_second for s in window_runs]
    engine_median, window_median = statistics.median(engine_tps), statistics.median(window_tps)
    return dict(engine_tokens_per_second=engine_tps, window_tokens_per_second=window_tps,
                engine_median_tokens_per_second=engine_median, window_median_tokens_per_second=window_median,
                window_over_engine=window_median / engine_median, ui_thread_busy=statistics.median(ui_busy),
                watched_window_tokens_per_second=watched.generation_tokens_per_second,
                prompt_gaps=heartbeat.stats("prompt"), generation_gaps=heartbeat.stats("generation"))


def _prepare(model: BitNetModel) -> None:
    """End of text is ignored, so every run makes exactly max_tokens tokens; then a short warm-up
    (every weight page touched once)."""
    model.generator.stop_token_ids = frozenset()
    for _event in model.generator.generate(model.tokenizer.encode("Warm up the model."),
                                           SamplingParams(temperature=0.0, max_tokens=4)):
        pass


def _prompt_text(model: BitNetModel, system_prompt: str, tokens: int) -> tuple[str, int]:
    """Sentences until the rendered prompt (system prompt included) has at least `tokens` tokens;
    the text and its rendered length."""
    text = ""
    for i in range(100_000):
        text += ("" if not text else " ") + _SENTENCES[i % len(_SENTENCES)]
        messages = [{"role": "system", "content": system_prompt}, {"role": "user", "content": text}]
        rendered = len(model.chat_format.render_ids(messages, add_generation_prompt=True))
        if rendered >= tokens:
            return text, rendered
    raise BitNetError("the prompt could not be made long enough")


def _engine_answer(store: ConversationStore, model: BitNetModel, settings: AppSettings, prompt: str) -> AnswerStats:
    """ChatSession.answer on a plain thread, as the window's engine thread runs it, no window involved."""
    model.generator.reset()  # the prompt is read in full every run, as in the window
    conversation = store.create_conversation(DEFAULT_TITLE, system_prompt=settings.default_system_prompt,
                                             sampling=dict(settings.default_sampling))
    session = ChatSession(store, conversation.id, model, policy=ContextPolicy(settings.context_policy),
                          default_sampling=dict(settings.default_sampling),
                          energy=EnergyMeter(settings.watts_per_core))
    session.add_user_message(prompt)
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(outcome=session.answer()), name="bench-engine")
    thread.start()
    thread.join()
    if "outcome" not in result:
        raise BitNetError("the engine-alone answer failed (see the traceback above)")
    return _checked(result["outcome"].message.stats)


def _window_answer(window: MainWindow, heartbeat: Heartbeat | None, prompt: str) -> tuple[AnswerStats, float]:
    """Typed into the composer and sent, as a user would; the heartbeat, if any, runs until the
    answer is in. Also the UI thread's CPU time over the wall time of the answer."""
    _on_engine_thread(window, lambda model: model.generator.reset())
    chat = window.chat
    chat.new_conversation()
    chat.composer.set_text(prompt)
    if heartbeat is not None:
        heartbeat.start()
    wall, cpu = time.perf_counter(), time.thread_time()  # this is the UI thread
    chat.send(chat.composer.text())
    try:
        [outcome] = _wait(chat.answer_finished, ANSWER_TIMEOUT_S, failed=chat.error_shown)
    finally:
        if heartbeat is not None:
            heartbeat.stop()
    return _checked(outcome.message.stats), (time.thread_time() - cpu) / (time.perf_counter() - wall)


def _answer_phase(window: MainWindow) -> str:
    # Once the answer ended (no snapshot) the finishing work counts with generation.
    snapshot = window.chat.answer_snapshot()
    return "prompt" if snapshot is not None and snapshot.generated_tokens == 0 else "generation"


def _checked(stats: AnswerStats | None) -> AnswerStats:
    if stats is None or stats.error:
        raise BitNetError(f"the answer failed: {stats.error if stats else 'no stats were recorded'}")
    return stats


def _on_engine_thread(window: MainWindow, fn: Callable[[BitNetModel], object]) -> None:
    loop, errors = QEventLoop(), []
    window.engine.run(fn, lambda _result: loop.quit(), lambda error: (errors.append(error), loop.quit()))
    loop.exec()
    if errors:
        raise BitNetError(f"work on the window's engine thread failed: {errors[0]}")


def _wait(signal, timeout_s: float, failed=None) -> tuple:
    """Runs the event loop until `signal` fires (its arguments returned); `failed` firing first,
    or the timeout, raises."""
    loop, got = QEventLoop(), {}

    def done(*args) -> None:
        got["args"] = args
        loop.quit()

    def fail(message) -> None:
        got["failed"] = message
        loop.quit()

    signal.connect(done)
    if failed is not None:
        failed.connect(fail)
    timer = _timer(timeout_s * 1000, loop)
    try:
        loop.exec()
    finally:
        timer.stop()
        signal.disconnect(done)
        if failed is not None:
            failed.disconnect(fail)
    if "failed" in got:
        raise BitNetError(str(got["failed"]))
    if "args" not in got:
        raise BitNetError(f"nothing happened within {timeout_s:g} s")
    return got["args"]


def _wait_ms(ms: int) -> None:
    loop = QEventLoop()
    timer = _timer(ms, loop)
    loop.exec()
    timer.stop()


def _timer(ms: float, loop: QEventLoop) -> QTimer:
    """A single-shot timer owned here, so it cannot fire into a loop that is gone."""
    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(loop.quit)
    timer.start(round(ms))
    return timer


def _quiet_offscreen_notice(kind: QtMsgType, _context, message: str) -> None:
    if "does not support propagateSizeHints" not in message and kind != QtMsgType.QtDebugMsg:
        print(message, file=sys.stderr)


# ---- the app in child processes

def _child(mode: str, data_dir: Path, *args: str) -> dict:
    """Runs bench_ui_child in a fresh interpreter; `seconds` is from just before the process was
    started to the window's first frame."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, **{DATA_DIR_ENV_VAR: str(data_dir)})
    started = time.time()
    result = subprocess.run([sys.executable, "-m", "bitnet_desktop.ui.bench_ui_child", mode, *args], env=env,
                            capture_output=True, text=True, timeout=CHILD_TIMEOUT_S)
    if result.returncode != 0 or not result.stdout.strip():
        raise BitNetError(f"the app's {mode} child failed (exit code {result.returncode}): "
                          f"{result.stderr.strip()[-2000:]}")
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    if "shown_at" in measured:
        measured["seconds"] = measured["shown_at"] - started
    return measured
