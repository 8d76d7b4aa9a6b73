"""The documents the completion-view screenshots show, written straight into the store: a synthetic
model writes random tokens, so a realistic text has to be written by hand. The open one is the
beginning of a story a base model would be asked to continue; a few more fill the list."""
from __future__ import annotations

from bitnet_desktop.chats.store import ConversationStore

SAMPLING = {"temperature": 0.8, "max_tokens": 24, "seed": 7}

OPEN_TITLE = "The lighthouse keeper"
OPEN_TEXT = """\
The Lighthouse Keeper

For thirty-one years Elias Varga had climbed the hundred and twelve steps of the Harrow Point light \
every evening at dusk, and for thirty-one years the lamp had answered him. He knew each step by the \
sound it made under his boots: the seventh creaked, the forty-second rang faintly like a struck glass, \
and the last one, worn into a shallow bowl, made no sound at all.

On the night the supply boat failed to come, the fog rolled in early. It came low across the water, \
thick as wool, swallowing first the rocks below the cliff and then the cliff itself, until the tower \
stood alone in a grey sea of its own. Elias lit the lamp, wound the clockwork that turned the lens, and \
sat down with his logbook to write the date and the weather, as he had done eleven thousand times before.

He had written only the date when he heard the knock.

It was not the wind. The wind at Harrow Point had a hundred voices, and he knew them all. This was three \
knocks, slow and deliberate, on the iron door at the foot of the tower. Elias set down his pen. No boat \
had come; no one could have walked the causeway with the tide this high. He took the lantern from its \
hook and began the long way down, counting the steps out of habit, and on the forty-second step the \
glass did not ring."""

# Older documents for the list, oldest first: (title, text)
OLDER = (
    ("def fibonacci(n):", 'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n'),
    ("Letter to the housing committee", "Dear members of the committee,\n\nI am writing on behalf of the tenants "
     "of building C regarding"),
    ("Product description: ceramic mug", "Handmade in small batches, this 350 ml stoneware mug keeps your "
     "coffee warm and your hands happy. Its glaze"),
)


def fill_store(store: ConversationStore, model_file: str) -> int:
    """Writes the documents; returns the id of the one to open (the most recent)."""
    for title, text in OLDER:
        store.documents.create_document(title, text, model=model_file, sampling=SAMPLING)
    return store.documents.create_document(OPEN_TITLE, OPEN_TEXT, model=model_file, sampling=SAMPLING).id
