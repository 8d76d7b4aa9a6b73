"""Synthetic GGUF files for the runtime tests, and a rewriter that damages them on purpose."""
from __future__ import annotations

from pathlib import Path

from bitnet_desktop.engine.gguf import open_gguf, type_by_name, write_gguf
from bitnet_desktop.engine.synth import write_synthetic_model


def synth(tmp_path: Path, name: str = "model.gguf", **kwargs) -> Path:
    return write_synthetic_model(tmp_path / name, **kwargs)


def rewrite(src: Path, dst: Path, drop=(), retype: dict | None = None, meta: dict | None = None,
            reshape: dict | None = None, drop_meta=()) -> Path:
    """Copy of `src` without the tensors in `drop`, with tensor types relabelled (`retype`:
    name -> type name, bytes cut to the new size), ne changed (`reshape`: name -> ne), metadata values
    replaced or added (`meta`: key -> (ValueType, value)) and the metadata keys in `drop_meta` left out."""
    retype, meta, reshape = retype or {}, meta or {}, reshape or {}
    with open_gguf(src) as g:
        metadata = [(k, *(meta[k] if k in meta else (v.type, v.value)))
                    for k, v in g.fields.items() if k not in drop_meta]
        metadata += [(k, *meta[k]) for k in meta if k not in g.fields]
        tensors = []
        for name, t in g.tensors.items():
            if name in drop:
                continue
            ggml_type = type_by_name(retype[name]) if name in retype else t.type
            ne = reshape.get(name, t.ne)
            tensors.append((name, ne, ggml_type, bytes(t.data)[: ggml_type.nbytes(ne, name)]))
    return write_gguf(dst, metadata, tensors)
