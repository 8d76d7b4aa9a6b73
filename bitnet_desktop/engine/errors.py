"""Exceptions raised by the engine. Each names what was wrong so a user can act on it."""


class BitNetError(Exception):
    """Base class of every error the engine raises on purpose."""


class NativeLibraryError(BitNetError):
    """The native kernel library is missing, cannot be loaded, or has the wrong ABI version."""


class KernelError(BitNetError):
    """A native call returned a failure status."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class KernelUnavailableError(KernelError):
    """A kernel variant was requested that this build or this CPU cannot run."""


class ShapeError(KernelError, ValueError):
    """A dimension, block size or buffer length does not fit the operation."""


class CancelledError(KernelError):
    """The operation stopped because cancellation was requested."""


class ModelFormatError(BitNetError):
    """A model file is malformed, truncated, hostile, or uses something we do not support."""


class TokenizerError(BitNetError):
    """The tokenizer metadata is missing or inconsistent."""


class ChatTemplateError(BitNetError):
    """A chat template is missing, broken, or failed to render."""


class NonFiniteLogitsError(BitNetError):
    """The forward pass produced NaN or infinite logits (or only -inf): the model's weights hold
    non-finite values that loading could not see, so no token can be chosen."""


class ModelMetadataError(ModelFormatError):
    """A metadata value of a model file is missing, of the wrong type or out of range.

    `source` is the file (or "GGUF metadata" for a mapping from elsewhere), `key` the metadata key."""

    def __init__(self, message: str, source: str, key: str):
        super().__init__(message)
        self.source = source
        self.key = key


class TokenizerMetadataError(ModelMetadataError, TokenizerError):
    """A tokenizer metadata value is bad: both a malformed file and a tokenizer that cannot be built."""


class TextEncodingError(TokenizerError):
    """Text to encode is not valid Unicode (a lone surrogate); `position` is its character index."""

    def __init__(self, message: str, position: int):
        super().__init__(message)
        self.position = position


class LlamaCppUnavailableError(BitNetError):
    """An ordinary (not ternary) GGUF model needs llama.cpp, and llama-cpp-python is not installed or
    cannot be loaded; the message says how to install it."""
