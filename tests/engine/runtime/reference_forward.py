"""Independent NumPy reference of the BitNet b1.58 forward pass, written from docs/numerics.md
and A.2-A.4 (not from the C code), plus the random synthetic models the tests run it on.

The LLaMA graph of arch `llama` (docs/architectures.md) is the same pass without the two sub-norms
(the attention output and the gated product are quantized as they are), with RoPE rotating
adjacent pairs (2i, 2i+1) as llama.cpp's "normal" mode does, each pair's angle divided by its
`rope_freqs` factor when the model has them (ggml: theta / freq_factor[i]).

Precision choices (the spec's, and the ones the native model documents in bitnet.h):
* f32 exactly where the spec pins f32 arithmetic: RMSNorm (sum of f32 squares in double, mean
  cast to f32, 1/sqrt in f32, x*scale then *gain), the BitLinear epilogue (A.4), RoPE, ReLU²,
  the gated product and the residual adds;
* exact integers for every BitLinear dot (int64), with the spec's activation quantization (A.3);
* f16 rounding where bitnet.cpp rounds (spec 1.5): K and V in the cache, Q before QKᵀ, the
  softmax probabilities before P·V, the exact head's input;
* float64 for the dot-product accumulations (QKᵀ, P·V, head), the softmax and SiLU's exp, where
  the engine accumulates in f32 in its own order. These, and cos/sin/exp implementations, are the
  only intended differences.

Rounding sites: every int8 activation rounding and every f16 rounding can land on the other side
of a tie when the engine's f32 value differs from ours by an ulp. The reference records such
near-ties (value within `margin` of the rounding midpoint, in units of the rounding step) and can
re-run with chosen roundings flipped, so a test can *explain* a larger difference by a few named
flips instead of widening its tolerance (see `explain_difference`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

F32 = np.float32


# ---------------------------------------------------------------------------------------------
# I2_S (docs/file-formats.md#i2_s)
# ---------------------------------------------------------------------------------------------

def i2s_encode(t: np.ndarray, alpha: float) -> np.ndarray:
    """Ternary [m, k] (k % 128 == 0) → I2_S bytes: byte j of a 128-block holds elements j, 32+j,
    64+j, 96+j at bits 7-6, 5-4, 3-2, 1-0 as code t+1; tail = alpha (f32 LE) + 28 zero bytes."""
    m, k = t.shape
    assert k % 128 == 0
    codes = (t.astype(np.int16) + 1).astype(np.uint8).reshape(m, k // 128, 4, 32)
    packed = (codes[:, :, 0] << 6) | (codes[:, :, 1] << 4) | (codes[:, :, 2] << 2) | codes[:, :, 3]
    tail = np.zeros(32, np.uint8)
    tail[:4] = np.frombuffer(np.array([alpha], "<f4").tobytes(), np.uint8)
    return np.concatenate([packed.reshape(-1).astype(np.uint8), tail])


def i2s_decode(data: np.ndarray, m: int, k: int) -> tuple[np.ndarray, np.float32]:
    """A.2: I2_S bytes → (ternary int8 [m, k], alpha). Code 3 decodes to 0."""
    data = np.asarray(data, np.uint8).reshape(-1)
    assert data.size == m * k // 4 + 32
    alpha = np.frombuffer(data[m * k // 4: m * k // 4 + 4].tobytes(), "<f4")[0]
    blocks = data[: m * k // 4].reshape(m, k // 128, 32)
    codes = np.stack([(blocks >> s) & 3 for s in (6, 4, 2, 0)], axis=2).reshape(m, k)
    return np.array([-1, 0, 1, 0], np.int8)[codes], F32(alpha)


# ---------------------------------------------------------------------------------------------
# Rounding sites with near-tie recording and flips
# ---------------------------------------------------------------------------------------------

@dataclass
class Rounding:
    """Near-tie bookkeeping for one reference run."""
    margin: float = 0.0                      # record |v - midpoint| < margin (in rounding steps)
    flips: frozenset = frozenset()           # (site, index) pairs rounded the other way
    near: list = field(default_factory=list)  # (distance, site, index) found in this run
    skip_f16: frozenset = frozenset()        # f16 site kinds ("q", "p", "k", "v", "head") left unrounded

    def _record(self, site, dist: np.ndarray) -> None:
        if self.margin > 0:
            for i in np.flatnonzero(dist < self.margin):
                self.near.append((float(dist[i]), site, int(i)))

    def _flip(self, site, q: np.ndarray, v: np.ndarray, step) -> None:
        for s, i in self.flips:
            if s == site:
                q[i] = q[i] + step if v[i] > q[i] else q[i] - step

    def int8(self, site, x: np.ndarray) -> tuple[np.ndarray, np.float32]:
        """A.3: amax in double with a 1e-5 floor, s = f32(127/amax), v = f32(x*s), clamp, RNE."""
        x = np.asarray(x, F32)
        amax = max(1e-5, float(np.max(np.abs(x.astype(np.float64)))))
        s = F32(127.0 / amax)
        v = np.clip(x * s, F32(-128), F32(127))
        q = np.rint(v)
        inside = (v > -128) & (v < 127)
        self._record(site, np.where(inside, np.abs(np.abs(v - np.floor(v)) - 0.5), 1.0))
        self._flip(site, q, v, 1)
        return q.astype(np.int64), s

    def f16(self, site, x: np.ndarray) -> np.ndarray:
        """Round f32 values to f16 (RNE), returned as f32."""
        x = np.asarray(x, F32).reshape(-1)
        kind = site[0] if site[0] == "head" else site[1]
        if kind in self.skip_f16:
            return x.copy()
        h = x.astype(np.float16)
        if self.margin > 0 or self.flips:
            lo = np.nextafter(h, np.float16(-np.inf)).astype(np.float64)
            hi = np.nextafter(h, np.float16(np.inf)).astype(np.float64)
            hv = h.astype(np.float64)
            xv = x.astype(np.float64)
            other = np.where(xv > hv, hi, lo)              # the neighbour on x's side
            step = np.abs(other - hv)
            with np.errstate(invalid="ignore", divide="ignore"):
                dist = np.abs(np.abs(xv - hv) / step - 0.5)
            self._record(site, np.where(np.isfinite(dist), dist, 1.0))
            for s, i in self.flips:
                if s == site:
                    h[i] = np.float16(other[i])
        return h.astype(F32)


# ---------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------

TERNARY = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")
NORMS = ("attn_norm", "attn_sub_norm", "ffn_norm", "ffn_sub_norm")


@dataclass
class SyntheticModel:
    """A random BitNet model in the engine's input format (I2_S bytes, f16 bits, f32 gains)."""
    n_layers: int
    d_model: int
    n_heads: int
    n_kv_heads: int
    d_ffn: int
    vocab: int
    activation: str
    rope_theta: float
    rms_eps: float
    layers: list          # dicts: NORMS -> f32, TERNARY -> I2_S uint8, "<name>.scale" -> float
    token_embd: np.ndarray  # uint16 f16 bits [vocab, d]
    output: np.ndarray | None
    output_norm: np.ndarray
    rope_style: str = "neox"       # "neox" pairs (i, i + hd/2); "normal" pairs (2i, 2i + 1)
    sub_norms: bool = True         # False: the LLaMA graph (no attn/ffn sub-norms)
    rope_freqs: np.ndarray | None = None  # f32 [hd/2] angle divisors, or None

    @property
    def norm_names(self) -> tuple:
        return NORMS if self.sub_norms else ("attn_norm", "ffn_norm")

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_heads

    def shapes(self) -> dict[str, tuple[int, int]]:
        d, f, kv = self.d_model, self.d_ffn, self.n_kv_heads * self.head_dim
        return {"attn_q": (d, d), "attn_k": (kv, d), "attn_v": (kv, d), "attn_output": (d, d),
                "ffn_gate": (f, d), "ffn_up": (f, d), "ffn_down": (d, f)}

    def engine_layers(self) -> list[dict]:
        """Layer mappings for NativeModel: ternary entries as (bytes, scale)."""
        out = []
        for layer in self.layers:
            entry = {n: layer[n] for n in self.norm_names}
            for n in TERNARY:
                entry[n] = (layer[n], layer.get(n + ".scale", 1.0))
            out.append(entry)
        return out


def make_model(seed: int, *, n_layers=2, d_model=128, n_heads=4, n_kv_heads=2, d_ffn=256,
               vocab=300, activation="relu2", tied=True, scales=False, rope_theta=10000.0,
               rms_eps=1e-5, llama=False, rope_freqs=False) -> SyntheticModel:
    """Random ternary weights (each of -1, 0, 1 with probability 1/3), alpha in [0.05, 0.2],
    gains in [0.5, 1.5], f16 embeddings ~ N(0, 0.05²) — magnitudes that keep attention scores
    and activations of order one, like a trained model's.

    llama=True: the LLaMA graph (SiLU, no sub-norms, normal RoPE). Without sub-norms the
    attention output and the gated product enter their BitLinear unnormalised, so alphas are
    drawn in [0.02, 0.08] instead, keeping the residual stream of order one. rope_freqs=True adds
    freq factors in [1, 8] (Llama-3.1's long-context scaling divides low frequencies by up to 8)."""
    rng = np.random.default_rng(seed)
    hd = d_model // n_heads
    m = SyntheticModel(n_layers, d_model, n_heads, n_kv_heads, d_ffn, vocab, "silu" if llama else activation,
                       rope_theta, rms_eps, [], None, None, None,
                       rope_style="normal" if llama else "neox", sub_norms=not llama)
    alpha_range = (0.02, 0.08) if llama else (0.05, 0.2)
    for _ in range(n_layers):
        layer = {}
        for n in m.norm_names:
            size = d_ffn if n == "ffn_sub_norm" else d_model
            layer[n] = rng.uniform(0.5, 1.5, size).astype(F32)
        for n, (rows, cols) in m.shapes().items():
            t = rng.integers(-1, 2, (rows, cols)).astype(np.int8)
            layer[n] = i2s_encode(t, float(rng.uniform(*alpha_range)))
            if scales:
                layer[n + ".scale"] = float(F32(rng.uniform(0.5, 2.0)))
        m.layers.append(layer)
    assert hd * n_heads == d_model
    m.token_embd = (rng.standard_normal((vocab, d_model)) * 0.05).astype(np.float16).view(np.uint16)
    if not tied:
        m.output = (rng.standard_normal((vocab, d_model)) * 0.05).astype(np.float16).view(np.uint16)
    m.output_norm = rng.uniform(0.5, 1.5, d_model).astype(F32)
    if rope_freqs:
        m.rope_freqs = rng.uniform(1.0, 8.0, hd // 2).astype(F32)
    return m


def hf_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert_hf_to_gguf `permute` of a Hugging Face Q or K weight [n_head*hd, d]:
    reshape(n_head, 2, hd/2, d).swapaxes(1, 2), so that HF's rotate-half pairs (i, i + hd/2)
    become adjacent rows (2i, 2i + 1) of each head."""
    rows, cols = w.shape
    return w.reshape(n_head, 2, rows // n_head // 2, cols).swapaxes(1, 2).reshape(rows, cols)


def permuted_for_llama_cpp(hf: SyntheticModel) -> SyntheticModel:
    """The model as bitnet.cpp's LlamaModel converter writes `hf` (a Hugging Face-layout model,
    NeoX RoPE): Q rows permuted over n_heads, K rows over n_kv_heads, and normal RoPE."""
    from dataclasses import replace
    layers = []
    for layer in hf.layers:
        entry = dict(layer)
        for name, heads in (("attn_q", hf.n_heads), ("attn_k", hf.n_kv_heads)):
            rows, cols = hf.shapes()[name]
            t, alpha = i2s_decode(layer[name], rows, cols)
            entry[name] = i2s_encode(hf_permute(t, heads), float(alpha))
        layers.append(entry)
    out = replace(hf, layers=layers, rope_style="normal")
    out.__dict__.pop("_decoded_layers", None)
    return out


# ---------------------------------------------------------------------------------------------
# Forward pass (docs/architectures.md#the-bitnet-b158-graph)
# ---------------------------------------------------------------------------------------------

def rms_norm(x: np.ndarray, g: np.ndarray, eps: float) -> np.ndarray:
    """Spec 1.5: sum of f32 squares in double, mean cast to f32, scale = 1/sqrtf(mean + eps)."""
    x = np.asarray(x, F32)
    total = np.sum((x * x).astype(np.float64))
    mean = F32(total / x.size)
    scale = F32(1.0) / np.sqrt(mean + F32(eps))
    return (x * scale) * g


def bitlinear(r: Rounding, site, x: np.ndarray, weights: list) -> list:
    """Spec 1.4 / A.4 for weights sharing one activation quantization: [(T, alpha, scale)] →
    outputs y = f32(f32(T·q) / s) * alpha (* scale when scale != 1)."""
    q, s = r.int8(site, x)
    out = []
    for t, alpha, scale in weights:
        d = t.astype(np.int64) @ q              # = D - S_q exactly
        y = (d.astype(F32) / s) * alpha
        if scale != 1.0:
            y = y * F32(scale)
        out.append(y)
    return out


def rope_angles(pos: int, head_dim: int, theta: float, freqs=None) -> tuple[np.ndarray, np.ndarray]:
    """Spec 1.3: theta_0 = pos, theta_{i+1} = theta_i * beta (f32), beta = theta^(-2/head_dim);
    pair i's angle is theta_i / freqs[i] (f32) when freq factors are given."""
    beta = F32(np.float64(F32(theta)) ** np.float64(F32(-2.0) / F32(head_dim)))
    angles = np.empty(head_dim // 2, F32)
    a = F32(pos)
    for i in range(head_dim // 2):
        angles[i] = a if freqs is None else F32(a / F32(freqs[i]))
        a = F32(a * beta)
    return np.cos(angles.astype(np.float64)).astype(F32), np.sin(angles.astype(np.float64)).astype(F32)


def rope_neox(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate pairs (i, i + head_dim/2) of each row of x [heads, head_dim], f32."""
    half = x.shape[1] // 2
    x0, x1 = x[:, :half], x[:, half:]
    return np.concatenate([x0 * cos - x1 * sin, x0 * sin + x1 * cos], axis=1).astype(F32)


def rope_normal(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    """Rotate adjacent pairs (2i, 2i + 1) of each row of x [heads, head_dim], f32."""
    x0, x1 = x[:, 0::2], x[:, 1::2]
    out = np.empty_like(x, dtype=F32)
    out[:, 0::2] = x0 * cos - x1 * sin
    out[:, 1::2] = x0 * sin + x1 * cos
    return out


def _decoded(model: SyntheticModel) -> list:
    cache = getattr(model, "_decoded_layers", None)
    if cache is None:
        cache = []
        for layer in model.layers:
            entry = {}
            for n, (rows, cols) in model.shapes().items():
                t, alpha = i2s_decode(layer[n], rows, cols)
                entry[n] = (t, alpha, layer.get(n + ".scale", 1.0))
            cache.append(entry)
        model._decoded_layers = cache
    return cache


def f16_values(bits: np.ndarray) -> np.ndarray:
    return np.asarray(bits, np.uint16).view(np.float16).astype(np.float64)


def reference_forward(model: SyntheticModel, tokens, head: str = "f16",
                      rounding: Rounding | None = None, head_i8=None) -> np.ndarray:
    """Logits [n_tokens, vocab] (float32) of tokens at positions 0..n-1.

    head "f16": the exact head (f16 weights × f16-rounded final norm output). head "i8": the
    fast head, given as `head_i8` = (int8 weights [vocab, d], f32 row scales) — the int8 copy is
    an input here like the other weights (its construction is checked by check_head_i8); the
    final norm output is quantized per A.3 and logits = f32(D) / s * row_scale."""
    r = rounding or Rounding()
    d, hd, nh, nkv = model.d_model, model.head_dim, model.n_heads, model.n_kv_heads
    group = nh // nkv
    eps = model.rms_eps
    emb = f16_values(model.token_embd)
    head_w = f16_values(model.output if model.output is not None else model.token_embd)
    layers = _decoded(model)
    n = len(tokens)
    h = np.stack([emb[t] for t in tokens]).astype(F32)          # exact f16 -> f32
    kcache = [np.zeros((nkv, n, hd)) for _ in layers]             # f16 values (as float64)
    vcache = [np.zeros((nkv, n, hd)) for _ in layers]
    scale = np.float64(F32(1.0) / np.sqrt(F32(hd)))
    angles = [rope_angles(p, hd, model.rope_theta, model.rope_freqs) for p in range(n)]
    rope = rope_normal if model.rope_style == "normal" else rope_neox
    logits = np.empty((n, model.vocab), F32)
    if head == "i8":
        w8, w_scales = np.asarray(head_i8[0], np.int64), np.asarray(head_i8[1], F32)
    for p in range(n):                      # token by token: causal by construction
        x = h[p]
        cos, sin = angles[p]
        for li, (layer, w) in enumerate(zip(model.layers, layers)):
            a = rms_norm(x, layer["attn_norm"], eps)
            q, k, v = bitlinear(r, (li, "qkv", p), a, [w["attn_q"], w["attn_k"], w["attn_v"]])
            q = rope(q.reshape(nh, hd), cos, sin)
            k = rope(k.reshape(nkv, hd), cos, sin)
            kcache[li][:, p] = r.f16((li, "k", p), k).reshape(nkv, hd)
            vcache[li][:, p] = r.f16((li, "v", p), v).reshape(nkv, hd)
            q16 = r.f16((li, "q", p), q).reshape(nh, hd).astype(np.float64)
            o = np.empty((nh, hd), F32)
            for hq in range(nh):
                g = hq // group                                     # GQA: contiguous groups
                s = kcache[li][g, : p + 1] @ q16[hq]                # f64 accumulation
                wts = s * scale
                e = np.exp(wts - wts.max())
                prob = (e / e.sum()).astype(F32)
                p16 = r.f16((li, "p", p, hq), prob).astype(np.float64)
                o[hq] = (p16 @ vcache[li][g, : p + 1]).astype(F32)
            o = o.reshape(-1)
            if model.sub_norms:
                o = rms_norm(o, layer["attn_sub_norm"], eps)
            (attn,) = bitlinear(r, (li, "o", p), o, [w["attn_output"]])
            x = x + attn
            b = rms_norm(x, layer["ffn_norm"], eps)
            gate, up = bitlinear(r, (li, "gate_up", p), b, [w["ffn_gate"], w["ffn_up"]])
            if model.activation == "relu2":
                rg = np.maximum(gate, F32(0))
                z = (rg * rg) * up
            else:
                g64 = gate.astype(np.float64)
                z = (g64 / (1.0 + np.exp(-g64))).astype(F32) * up
            if model.sub_norms:
                z = rms_norm(z, layer["ffn_sub_norm"], eps)
            (down,) = bitlinear(r, (li, "down", p), z, [w["ffn_down"]])
            x = x + down
        y = rms_norm(x, model.output_norm, eps)
        if head == "f16":
            logits[p] = (head_w @ r.f16(("head", p), y).astype(np.float64)).astype(F32)
        else:
            q, s = r.int8(("head", p), y)
            logits[p] = ((w8 @ q).astype(F32) / s) * w_scales
    return logits


def check_head_i8(model: SyntheticModel, w8: np.ndarray, scales: np.ndarray, tie: float = 1e-4) -> None:
    """Checks an int8 head against bitnet.h's bn_quantize_rows_i8 contract: d = max|w| / 127
    (f32), w8 = rne(w / d) in [-127, 127]. Elements within `tie` of a rounding midpoint may go
    either way (w / d and w * (127 / max|w|) differ by an ulp)."""
    w = np.asarray(model.output if model.output is not None else model.token_embd, np.uint16)
    w = w.view(np.float16).astype(F32)
    d = (np.max(np.abs(w), axis=1) / F32(127)).astype(F32)
    np.testing.assert_array_equal(scales, d)
    v = w / d[:, None]
    expected = np.clip(np.rint(v), -127, 127)
    differ = np.asarray(w8, np.int64) != expected
    near = np.abs(np.abs(v - np.floor(v)) - 0.5) < tie
    assert np.all(np.abs(np.asarray(w8, np.int64) - expected) <= 1)
    assert not np.any(differ & ~near), f"{int(np.sum(differ & ~near))} int8 head values are wrong"


# ---------------------------------------------------------------------------------------------
# Comparison with flip explanation
# ---------------------------------------------------------------------------------------------

def relative_error(a: np.ndarray, ref: np.ndarray) -> float:
    """max |a - ref| over the logits, relative to the largest reference logit magnitude."""
    return float(np.max(np.abs(a.astype(np.float64) - ref)) / np.max(np.abs(ref)))


def _site_token(site) -> int:
    return site[1] if site[0] in ("head", "head_w") else site[2]


def explain_difference(engine: np.ndarray, model: SyntheticModel, tokens, head: str, tight: float,
                       margin: float = 2e-3, max_flips: int = 8, head_i8=None):
    """Compares engine logits [n_tokens, vocab] with the reference. Returns (error, flips): the
    relative error (scale: the largest reference logit) left after flipping at most max_flips
    near-tie roundings of the reference (within `margin` of their midpoint), and those flips.

    Causality makes the search cheap and precise: token p's logits depend only on sites of
    tokens <= p. So take the first token whose row differs by more than `tight`, try each near
    tie of that token (then of earlier tokens, if none helps) on the prefix up to it, keep the
    flip that reduces that row's error most, and repeat."""
    engine = np.asarray(engine, np.float64)
    tokens = list(tokens)
    flips: list = []
    r = Rounding(margin=margin)
    ref = reference_forward(model, tokens, head, r, head_i8)
    scale = float(np.max(np.abs(ref)))

    def row_error(ref_rows: np.ndarray, p: int) -> float:
        return float(np.max(np.abs(engine[p] - ref_rows[p])) / scale)

    while len(flips) <= max_flips:
        errors = np.max(np.abs(engine - ref), axis=1) / scale
        bad = np.flatnonzero(errors > tight)
        if bad.size == 0 or len(flips) == max_flips:
            break
        p = int(bad[0])
        nearest: dict = {}
        for dist, site, index in r.near:
            key = (site, index)
            if key not in flips and _site_token(site) <= p and dist < nearest.get(key, 1.0):
                nearest[key] = dist
        best = None
        for own_token_only in (True, False):
            for key in sorted(nearest, key=nearest.get):
                if (_site_token(key[0]) == p) != own_token_only:
                    continue
                trial = Rounding(margin=margin, flips=frozenset(flips + [key]))
                e = row_error(reference_forward(model, tokens[: p + 1], head, trial, head_i8), p)
                if best is None or e < best[0]:
                    best = (e, key)
            if best is not None and best[0] < errors[p]:
                break
        if best is None or best[0] >= errors[p]:
            break
        flips.append(best[1])
        r = Rounding(margin=margin, flips=frozenset(flips))
        ref = reference_forward(model, tokens, head, r, head_i8)
    return float(np.max(np.abs(engine - ref)) / scale), flips
