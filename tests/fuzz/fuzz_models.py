"""Mutation fuzzer for model files, run by hand (pytest does not collect it: no test_ prefix).

    nice -n 10 .venv/bin/python -m tests.fuzz.fuzz_models --count 50000 --workers 2 --out /tmp/fuzz
    .venv/bin/python -m tests.fuzz.fuzz_models --replay SEED --out /tmp/fuzz   # one case, in process

A case is one seed: its mutant of one of the base models (tests/fuzz/mutations.py) is loaded, a
chat rendered, text encoded and decoded, and a few tokens generated (tests/fuzz/exercise.py), in a
child forked from this warm process, so a case costs milliseconds rather than an interpreter start.
The child runs under a memory cap (RLIMIT_AS, this process's address space plus --memory-mib) and
is killed after --timeout seconds; it reports its outcome on a pipe, and a child that dies without
reporting is classified by its exit status. Every file whose outcome is not "loaded fine" or
"own error" is written again (the same seed gives the same bytes) to --out with a note.
"""
from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # no BLAS threads to fork
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import select  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
import warnings  # noqa: E402
from collections import Counter, defaultdict  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

from bitnet_desktop.engine.native import cpu_info  # noqa: E402
from tests.fuzz.bases import Base, make_bases  # noqa: E402
from tests.fuzz.exercise import (CLASSES, GENERIC, LOADED_FINE, MEMORY, OWN_ERROR, SIGNAL, TIMEOUT,  # noqa: E402
                                 classify, exercise, where)
from tests.fuzz.mutations import mutate  # noqa: E402

HARNESS = "harness error"  # the mutation itself failed: a bug in this script, reported apart


@dataclass
class Running:
    pid: int
    seed: int
    started: float
    path: Path
    chunks: list[bytes] = field(default_factory=list)


@dataclass
class Tally:
    counts: Counter = field(default_factory=Counter)
    by_kind: dict = field(default_factory=lambda: defaultdict(Counter))      # mutator -> class counts
    own_types: Counter = field(default_factory=Counter)
    problems: dict = field(default_factory=dict)   # (class, type, where) -> [count, first seed, note]

    def add(self, seed: int, report: dict) -> None:
        cls = report["class"]
        self.counts[cls] += 1
        self.by_kind[report.get("kind", "?")][cls] += 1
        if cls == OWN_ERROR:
            self.own_types[report["type"]] += 1
        elif cls not in (LOADED_FINE,):
            # No exception to tell them apart: grouped by mutation (and template) instead.
            kind = report.get("kind")
            detail = report.get("where") or f"{kind} {report.get('what', '')[:50] if kind == 'template' else ''}"
            key = (cls, report.get("type", ""), detail)
            entry = self.problems.setdefault(key, [0, seed, report])
            entry[0] += 1


def _address_space() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(bases: dict[str, Base], seed: int, path: Path, cap: int, fd: int) -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    report: dict = {}
    try:
        base, kind, what = mutate(bases, seed, path)
        report = {"base": base, "kind": kind, "what": what, "head": "fast" if seed % 2 == 0 else "exact"}
        os.write(fd, json.dumps(report).encode() + b"\n")  # what it was, should the child not report again
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
        warnings.simplefilter("error")  # as the test suite runs: a numpy warning is arithmetic on garbage
        error = None
        try:
            exercise(path, report["head"], seed)
        except BaseException as exc:  # noqa: BLE001 - every outcome is classified
            error = exc
        report.update({"class": classify(error), "type": type(error).__name__ if error else "",
                       "message": str(error)[:400] if error else "", "where": where(error) if error else ""})
    except BaseException as exc:  # noqa: BLE001
        report.update({"class": HARNESS, "type": type(exc).__name__, "message": str(exc)[:400], "where": where(exc)})
    try:
        os.write(fd, json.dumps(report).encode() + b"\n")
    finally:
        path.unlink(missing_ok=True)
        os._exit(0)


def _start(bases, seed: int, folder: Path, cap: int) -> tuple[int, Running]:
    r, w = os.pipe()
    path = folder / f"case-{seed}.gguf"
    pid = os.fork()
    if pid == 0:
        os.close(r)
        _child(bases, seed, path, cap, w)
    os.close(w)
    return r, Running(pid, seed, time.monotonic(), path)


def _finish(run: Running, status: int, timed_out: bool) -> dict:
    report: dict = {}
    for line in b"".join(run.chunks).splitlines():
        try:
            report.update(json.loads(line))
        except ValueError:
            pass
    if timed_out:
        report.update({"class": TIMEOUT, "type": "", "where": ""})
    elif os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        report.update({"class": SIGNAL, "type": name, "where": ""})
    elif "class" not in report:
        report.update({"class": SIGNAL, "type": f"exit {os.waitstatus_to_exitcode(status)} without a report",
                       "where": ""})
    run.path.unlink(missing_ok=True)
    return report


def run_cases(bases, seeds: range, workers: int, timeout: float, cap: int, folder: Path, tally: Tally,
              progress_every: int = 2000) -> None:
    pending = iter(seeds)
    running: dict[int, Running] = {}
    done, t0 = 0, time.monotonic()
    exhausted = False
    try:
        while running or not exhausted:
            while not exhausted and len(running) < workers:
                seed = next(pending, None)
                if seed is None:
                    exhausted = True
                    break
                fd, run = _start(bases, seed, folder, cap)
                running[fd] = run
            if not running:
                break
            now = time.monotonic()
            wait = max(0.0, min(r.started + timeout for r in running.values()) - now)
            readable, _, _ = select.select(list(running), [], [], wait)
            finished: list[tuple[int, bool]] = []
            for fd in readable:
                data = os.read(fd, 1 << 16)
                if data:
                    running[fd].chunks.append(data)
                else:
                    finished.append((fd, False))
            now = time.monotonic()
            finished += [(fd, True) for fd, r in running.items()
                         if now - r.started > timeout and (fd, False) not in finished]
            for fd, timed_out in finished:
                run = running.pop(fd)
                if timed_out:
                    os.kill(run.pid, signal.SIGKILL)
                _, status = os.waitpid(run.pid, 0)
                os.close(fd)
                tally.add(run.seed, _finish(run, status, timed_out))
                done += 1
                if done % progress_every == 0:
                    rate = done / (time.monotonic() - t0)
                    print(f"  {done} files, {rate:.0f}/s: " + ", ".join(f"{c} {n}" for c, n in tally.counts.items()),
                          file=sys.stderr, flush=True)
    finally:
        for fd, run in running.items():
            os.kill(run.pid, signal.SIGKILL)
            os.waitpid(run.pid, 0)
            os.close(fd)
            run.path.unlink(missing_ok=True)


def print_table(tally: Tally, total: int, seconds: float, workers: int, out: Path | None) -> None:
    info = cpu_info()
    print(f"\n{total} files in {seconds:.0f} s ({total / seconds:.1f} files/s), {workers} workers, "
          f"CPU: {info.brand or platform.processor()} ({os.cpu_count()} logical CPUs)")
    print(f"{'outcome':20} {'files':>8}")
    for cls in (*CLASSES, HARNESS):
        print(f"{cls:20} {tally.counts.get(cls, 0):8}")
    print("\nby mutation:  " + "  ".join(f"{c[:12]:>12}" for c in CLASSES))
    for kind in sorted(tally.by_kind):
        print(f"{kind:12}  " + "  ".join(f"{tally.by_kind[kind].get(c, 0):12}" for c in CLASSES))
    print("\nown errors by class: " + ", ".join(f"{t} {n}" for t, n in tally.own_types.most_common()))
    if tally.problems:
        print("\nproblems (class, type, where: count, first seed, what):")
        for (cls, typ, loc), (n, seed, rep) in sorted(tally.problems.items(), key=lambda kv: -kv[1][0]):
            print(f"  {cls} {typ} {loc}: {n} files, e.g. seed {seed} ({rep.get('base')}, {rep.get('head')} head, "
                  f"{rep.get('kind')}: {rep.get('what', '')[:160]}): {rep.get('message', '')[:200]}")
            if out is not None:
                (out / f"{cls.replace(' ', '-')}-{seed}.txt").write_text(json.dumps(rep, indent=1))


def replay(bases, seed: int, out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"seed-{seed}.gguf"
    print(mutate(bases, seed, path))
    try:
        exercise(path, "fast" if seed % 2 == 0 else "exact", seed)
    except BaseException:  # noqa: BLE001
        traceback.print_exc()
        return 1
    print("loaded fine")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--first-seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds per file")
    p.add_argument("--memory-mib", type=int, default=1024, help="address space a child may add to this process's")
    p.add_argument("--out", type=Path, default=None, help="folder for the files of problem outcomes")
    p.add_argument("--replay", type=int, default=None, metavar="SEED")
    args = p.parse_args(argv)
    bases = make_bases()
    if args.replay is not None:
        return replay(bases, args.replay, args.out or Path(tempfile.gettempdir()))
    shm = Path("/dev/shm")
    folder = Path(tempfile.mkdtemp(prefix="bitnet-fuzz-", dir=shm if shm.is_dir() else None))
    gc.collect()
    gc.freeze()  # the children's collections leave the inherited objects' pages shared
    cap = _address_space() + (args.memory_mib << 20)
    tally = Tally()
    t0 = time.monotonic()
    try:
        run_cases(bases, range(args.first_seed, args.first_seed + args.count), args.workers, args.timeout, cap,
                  folder, tally)
    except KeyboardInterrupt:
        print("interrupted: the table counts the files finished so far", file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        for _, (_, seed, rep) in tally.problems.items():
            mutate(bases, seed, args.out / f"seed-{seed}.gguf")
    print_table(tally, sum(tally.counts.values()), time.monotonic() - t0, args.workers, args.out)
    return 0 if not tally.problems else 1


if __name__ == "__main__":
    sys.exit(main())
