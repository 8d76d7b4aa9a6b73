import pytest

from bitnet_desktop.meters.display import (format_bytes, format_cpu_percent, format_duration,
                                           format_energy_per_token, format_rate, format_watt_hours)


@pytest.mark.parametrize("n, text", [(512 * 1024, "512 KiB"), (812 * 1024 ** 2, "812 MiB"),
                                     (int(1.42 * 1024 ** 3), "1.42 GiB")])
def test_bytes(n, text):
    assert format_bytes(n) == text


@pytest.mark.parametrize("seconds, text", [(0.32, "320 ms"), (0.0004, "0 ms"), (1.25, "1.2 s"), (65.3, "65.3 s")])
def test_duration(seconds, text):
    assert format_duration(seconds) == text


@pytest.mark.parametrize("wh, text", [(0.0123, "12.3 mWh"), (0.5, "500 mWh"), (1.254, "1.25 Wh"), (123.4, "123 Wh")])
def test_watt_hours(wh, text):
    assert format_watt_hours(wh) == text


def test_rates_energy_and_cpu():
    assert format_rate(15.26) == "15.3 tok/s"
    assert format_energy_per_token(0.4213) == "0.421 J/token"
    assert format_energy_per_token(12.34) == "12.3 J/token"
    assert format_cpu_percent(387.4) == "387 %"
