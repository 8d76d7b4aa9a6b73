import time

import pytest

from bitnet_desktop.meters.cpu import CpuMeter


def spin(seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_a_busy_thread_reads_as_about_one_core():
    meter = CpuMeter()
    meter.start()
    spin(0.3)
    sample = meter.sample()
    assert sample.wall_seconds >= 0.3
    assert 0.1 < sample.cpu_seconds <= sample.wall_seconds * meter.logical_cpus
    # One thread spinning: up to 100 %; less when the shared machine takes the core away.
    assert 30 < sample.percent < 130


def test_percent_covers_only_the_time_since_the_previous_sample():
    meter = CpuMeter()
    meter.start()
    spin(0.2)
    busy = meter.sample()
    time.sleep(0.2)
    idle = meter.sample()
    assert idle.percent < 20 < busy.percent
    assert idle.cpu_seconds >= busy.cpu_seconds and idle.wall_seconds > busy.wall_seconds  # both since start()


def test_sampling_before_start_is_a_mistake():
    with pytest.raises(RuntimeError):
        CpuMeter().sample()


def test_knows_the_logical_cpus():
    assert CpuMeter().logical_cpus >= 1
