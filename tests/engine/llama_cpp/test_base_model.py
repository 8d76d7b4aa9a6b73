"""An ordinary GGUF without a chat template is a base model on llama.cpp as on our engine: it loads
with no chat format, and the text it is given is continued as written."""
from bitnet_desktop.engine.runtime.generation_events import FinishReason
from bitnet_desktop.engine.runtime.loader import load_model
from bitnet_desktop.engine.runtime.model import LoadOptions
from bitnet_desktop.engine.sampling import SamplingParams
from tests.engine.llama_cpp.ordinary_gguf import write_ordinary_gguf


def test_a_file_without_a_template_loads_as_a_base_model_and_continues_text(tmp_path):
    path = write_ordinary_gguf(tmp_path / "base.gguf", vocabulary="llama", n_vocab=2048)
    model = load_model(path, LoadOptions(threads=1, context_length=128))
    try:
        assert model.chat_format is None and model.is_base_model
        ids = model.tokenizer.encode("Once upon a time")
        assert ids[0] == model.tokenizer.bos_id
        finished = list(model.generator.generate(ids, SamplingParams(temperature=0.0, max_tokens=6)))[-1]
        assert model.generator.stop_token_ids == {model.tokenizer.eos_id}
        assert finished.reason == FinishReason.MAX_TOKENS and len(finished.token_ids) == 6
        assert finished.text == model.tokenizer.decode(finished.token_ids)
    finally:
        model.close()
