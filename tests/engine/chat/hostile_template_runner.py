"""Child process of test_hostile_templates.py: loads and renders the named hostile templates, one JSON line each.

    python -m tests.engine.chat.hostile_template_runner NAME...

A line {"started": name} comes before each template, so the parent can tell which one hung or killed the
process. The address space is capped, so a template that allocates gigabytes fails here, not the machine.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import tracemalloc

from bitnet_desktop.engine.chat import JinjaChatFormat
from bitnet_desktop.engine.errors import ChatTemplateError
from bitnet_desktop.engine.tokenizer import Tokenizer
from tests.engine.chat.hostile_templates import HOSTILE_TEMPLATES
from tests.engine.chat.llama3_layout_vocabulary import llama3_layout_metadata

ADDRESS_SPACE_BYTES = 3 << 30
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hey"}]


def run_one(tokenizer: Tokenizer, template: str) -> dict:
    """Where it stopped ("load", "render" or "done"), how, each stage's seconds, and each stage's peak traced
    MB. Each stage runs twice: timed without tracemalloc (which slows allocation-heavy code several times),
    then traced for memory."""
    result: dict = {"seconds": {}, "peak_mb": {}}
    for traced in (False, True):
        outcome = {"outcome": "rendered", "message": "", "stage": "done"}
        chat_format = None
        for stage in ("load", "render"):
            if traced:
                tracemalloc.start()
            start = time.perf_counter()
            try:
                if stage == "load":
                    chat_format = JinjaChatFormat(tokenizer, template)
                else:
                    chat_format.render_text(MESSAGES)
            except ChatTemplateError as error:
                outcome = {"outcome": "ChatTemplateError", "message": str(error), "stage": stage}
            except BaseException as error:  # noqa: BLE001 - reported to the parent, which fails the test
                outcome = {"outcome": type(error).__name__, "message": str(error)[:500], "stage": stage}
            if traced:
                result["peak_mb"][stage] = tracemalloc.get_traced_memory()[1] / 1e6
                tracemalloc.stop()
            else:
                result["seconds"][stage] = time.perf_counter() - start
            if outcome["stage"] != "done":
                break
        result.update(outcome)
    return result


def main(names: list[str]) -> int:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    templates = {name: template for name, template, _ in HOSTILE_TEMPLATES}
    tokenizer = Tokenizer.from_gguf_metadata(llama3_layout_metadata("llama"))
    for name in names:
        print(json.dumps({"started": name}), flush=True)
        print(json.dumps({"name": name, **run_one(tokenizer, templates[name])}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
