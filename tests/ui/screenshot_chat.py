"""The conversations the screenshots show, written straight into the store: a synthetic model
writes random tokens, so a realistic exchange has to be written by hand. The open one has a
heading, a list, a table, a fenced Python block and a long answer; a few more fill the sidebar."""
from __future__ import annotations

import time

from bitnet_desktop.chats.records import AnswerStats, Conversation, Message
from bitnet_desktop.chats.store import ConversationStore

SYSTEM_PROMPT = "You are a helpful assistant."
SAMPLING = {"temperature": 0.8, "max_tokens": 1024, "seed": 7}

FIRST_QUESTION = "What is the quickest way to read a CSV file in Python?"
FIRST_ANSWER = ("For a quick look, the standard library's `csv` module is enough; for anything you want to "
                "filter, group or plot, use **pandas**.")

QUESTION = ("I have a CSV of my monthly expenses (date, category, amount). How do I get the total per category, "
            "and which approach should I use?")

ANSWER = """\
## Totals per category

Two good ways, depending on how big the file is and what else you need:

1. **The `csv` module** – nothing to install, fine for a few thousand rows.
2. **pandas** – one line for the grouping, and easy to sort, plot or export.
3. **SQLite** – worth it only when the data outgrows memory.

| Approach | Install | Rows it handles well | Lines of code |
|---|---|---|---|
| `csv` + `dict` | nothing | up to ~100 000 | 8 |
| pandas | `pip install pandas` | millions | 3 |
| SQLite | nothing | more than fits in memory | 6 |

With the standard library only:

```python
import csv
from collections import defaultdict

totals: dict[str, float] = defaultdict(float)
with open("expenses.csv", newline="", encoding="utf-8") as f:
    for row in csv.DictReader(f):
        totals[row["category"]] += float(row["amount"])

for category, amount in sorted(totals.items(), key=lambda kv: -kv[1]):
    print(f"{category:<15} {amount:>10.2f}")
```

And with pandas, where the grouping is a single call:

```python
import pandas as pd

df = pd.read_csv("expenses.csv", parse_dates=["date"])
print(df.groupby("category")["amount"].sum().sort_values(ascending=False))
```

### Things to watch for

- **Decimal commas.** If your bank writes `12,50`, pass `decimal=","` to `read_csv`, or replace the comma
  before calling `float()`.
- **Encoding.** Exports from spreadsheet programs are often `cp1252` or carry a byte-order mark; try
  `encoding="utf-8-sig"` first.
- **Refunds.** Negative amounts reduce a category's total, which is usually what you want, but check it.

### Which one?

If this is a one-off, the `csv` version is perfectly fine and has no dependencies. If you will come back to the
file every month – to compare months, draw a chart, or split categories further – pandas pays for itself
quickly: `df.groupby([df["date"].dt.to_period("M"), "category"])["amount"].sum().unstack()` gives you a
month-by-category table in one line.

Would you like a version that also writes the totals to a new CSV file?"""

# Older conversations for the sidebar: (title, question, answer, hours ago, pinned)
SIDEBAR = (
    ("Packing list for a week in Lisbon", "What should I pack for a week in Lisbon in April?",
     "Layers: it can be 14 °C in the morning and 24 °C in the afternoon. Bring comfortable shoes for the hills.",
     24 * 9, True),
    ("Explain SQLite WAL mode", "What does WAL mode change in SQLite?",
     "Writers append to a separate log, so readers are never blocked by a writer.", 26, False),
    ("Birthday message for Ana", "Help me write a short birthday message for my sister Ana.",
     "Happy birthday, Ana! Thank you for every laugh this year – here's to many more.", 3, False),
)


def _stats(prompt: int, generated: int) -> AnswerStats:
    return AnswerStats(prompt_tokens=prompt, generated_tokens=generated, prompt_tokens_per_second=412.5,
                       generation_tokens_per_second=28.4, time_to_first_token=0.31, energy_joules=generated * 0.42,
                       energy_source="estimated: CPU time x 15 W per core", finish_reason="eos")


def fill_store(store: ConversationStore, model_file: str) -> dict[str, int]:
    """Writes the conversations; returns the ids of the one to open ("open") and of its last
    question ("question")."""
    now = time.time()
    older = []
    for title, question, answer, hours_ago, pinned in SIDEBAR:
        when = now - hours_ago * 3600
        older.append((Conversation(0, title, when, when + 40, pinned, model_file, SYSTEM_PROMPT, SAMPLING),
                      [Message(0, 0, "user", question, when),
                       Message(0, 0, "assistant", answer, when + 40, model_file, None, SAMPLING,
                               _stats(40, len(answer.split()) * 2))]))
    store.import_conversations(older)      # unlike add_message, keeps the times given
    c = store.create_conversation("Totals per category from a CSV", model=model_file,
                                  system_prompt=SYSTEM_PROMPT, sampling=SAMPLING)
    store.add_message(c.id, "user", FIRST_QUESTION)
    store.add_message(c.id, "assistant", FIRST_ANSWER, model_file=model_file, sampling=SAMPLING,
                      stats=_stats(31, 38))
    question = store.add_message(c.id, "user", QUESTION)
    store.add_message(c.id, "assistant", ANSWER, model_file=model_file, sampling=SAMPLING,
                      stats=_stats(142, 612))
    return {"open": c.id, "question": question.id}
