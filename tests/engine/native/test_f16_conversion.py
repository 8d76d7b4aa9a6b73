"""The library's f16 conversions equal NumPy's IEEE half conversions (round to nearest even)."""
import numpy as np

from bitnet_desktop.engine.native import f16_to_f32, f32_to_f16


def test_every_half_converts_up_exactly():
    bits = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    ours = f16_to_f32(bits)
    theirs = bits.view(np.float16).astype(np.float32)
    finite = ~np.isnan(theirs)
    assert np.array_equal(ours[finite].view(np.uint32), theirs[finite].view(np.uint32))
    assert np.isnan(ours[~finite]).all()


def test_down_conversion_rounds_like_numpy(rng):
    samples = [
        (rng.standard_normal(200_000) * 10.0 ** rng.integers(-9, 6, 200_000)).astype(np.float32),
        rng.integers(0, 1 << 32, 200_000, dtype=np.uint64).astype(np.uint32).view(np.float32),
        np.array([65504, 65519.99, 65520, 1e9, -1e9, 2.0 ** -25, 2.0 ** -24 * 1.5, 2.0 ** -26,
                  5.960464477539063e-08, 0.0, -0.0, np.inf, -np.inf], np.float32),
    ]
    for x in samples:
        x = x[~np.isnan(x)]
        with np.errstate(over="ignore"):  # overflow to inf is the expected rounding
            expected = x.astype(np.float16).view(np.uint16)
        assert np.array_equal(f32_to_f16(x), expected)


def test_nan_stays_nan():
    out = f32_to_f16(np.array([np.nan, -np.nan], np.float32))
    assert np.isnan(out.view(np.float16)).all()
