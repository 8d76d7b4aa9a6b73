"""The valid synthetic models the hostile files are made from: one layer each (small and fast to
load), covering both tokenizers, tied and untied heads, every ternary format and table type."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bitnet_desktop.engine.gguf import GGMLType, GGUFArray, ValueType, open_gguf, write_gguf
from bitnet_desktop.engine.synth import write_synthetic_model
from tests.fuzz.gguf_layout import Layout, walk

SPM_TEMPLATE = ("{% for m in messages %}{{ bos_token }}[{{ m['role'] }}] {{ m['content'] }}{{ eos_token }}"
                "{% endfor %}{% if add_generation_prompt %}{{ bos_token }}[assistant] {% endif %}")

# name -> write_synthetic_model arguments
BASE_SPECS: dict[str, dict[str, Any]] = {
    "i2s-tied-f16": dict(shape="tiny", n_layer=1),
    "i2s-untied-q8": dict(shape="tiny-untied", n_layer=1, embedding_type="q8_0"),
    "tq2-scales-spm": dict(shape="tiny", n_layer=1, fmt="tq2_0", scales=True, tokenizer="llama"),
    "tq1-q6k": dict(shape="tiny", n_layer=1, fmt="tq1_0", embedding_type="q6_k"),
    "f16-untied-bf16": dict(shape="tiny-untied", n_layer=1, fmt="f16", embedding_type="bf16"),
}


@dataclass(frozen=True)
class Tensor:
    name: str
    ne: tuple[int, ...]
    type: GGMLType
    offset: int    # absolute, in the file
    data: bytes


@dataclass(frozen=True)
class Base:
    name: str
    raw: bytes
    layout: Layout
    metadata: list[tuple[str, ValueType, Any]]  # as write_gguf takes it
    tensors: list[Tensor]
    data_start: int

    def tensor(self, name: str) -> Tensor:
        return next(t for t in self.tensors if t.name == name)


def _plain(value: Any) -> Any:
    """A metadata value detached from the mapped file."""
    if isinstance(value, GGUFArray):
        items = value.items if value.elem_type == ValueType.ARRAY else list(value._to_list())
        return GGUFArray(value.elem_type, [_plain(v) for v in items])
    return value


def read_base(name: str, path: Path) -> Base:
    with open_gguf(path) as g:
        metadata = [(k, v.type, _plain(v.value)) for k, v in g.fields.items()]
        tensors = [Tensor(t.name, tuple(t.ne), t.type, t.file_offset, bytes(t.data)) for t in g.tensors.values()]
        data_start = g.data_start
    raw = path.read_bytes()
    return Base(name, raw, walk(raw), metadata, tensors, data_start)


def encode(path: Path, metadata, tensors: list[Tensor]) -> Path:
    return write_gguf(path, metadata, [(t.name, t.ne, t.type, t.data) for t in tensors])


def make_bases(folder: Path | None = None) -> dict[str, Base]:
    with tempfile.TemporaryDirectory(prefix="bitnet-bases-") as tmp:
        bases = {}
        for name, spec in BASE_SPECS.items():
            path = write_synthetic_model(Path(tmp) / f"{name}.gguf", seed=7, **spec)
            base = read_base(name, path)
            if not any(k == "tokenizer.chat_template" for k, _, _ in base.metadata):
                encode(path, [*base.metadata, ("tokenizer.chat_template", ValueType.STRING, SPM_TEMPLATE)],
                       base.tensors)
                base = read_base(name, path)
            bases[name] = base
    return bases
