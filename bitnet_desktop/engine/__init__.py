"""The model runtime: native kernels, GGUF loading, tokenizer, generation. Imports no Qt."""
