"""The llama.cpp engine: ordinary (not ternary) GGUF models, run by llama-cpp-python behind the
same interface as the engine's BitNetModel (runtime.loader.load_model chooses between them).

Files: library.py (the optional import, llama.cpp's log kept quiet), model.py (LlamaCppModel:
loading with progress and cancel, the attributes callers read), forward.py (a llama.cpp context as
the engine Generator's forward model), tokenizer.py (llama.cpp's vocabulary behind the Tokenizer's
surface), spec.py (the model's facts), memory.py (the estimate checked before loading).

llama-cpp-python is imported only when such a model is loaded; without it the load is refused with
LlamaCppUnavailableError, which says `pip install "bitnet-desktop[llama]"`.
"""
from bitnet_desktop.engine.llama_cpp.library import INSTALL_HINT
from bitnet_desktop.engine.llama_cpp.model import ENGINE_NAME, LlamaCppModel

__all__ = ["ENGINE_NAME", "INSTALL_HINT", "LlamaCppModel"]
