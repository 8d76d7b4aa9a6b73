"""The chat view: one document, only the streaming message re-rendered, lazy history, links as actions."""
import statistics
import time

import pytest
from PySide6.QtCore import QPoint, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip

from bitnet_desktop.chats.records import AnswerStats, Message
from bitnet_desktop.ui import chat_view
from bitnet_desktop.ui.chat_view import ChatView, stats_tooltip

STATS = AnswerStats(prompt_tokens=812, reused_tokens=640, generated_tokens=230, prompt_tokens_per_second=95.25,
                    generation_tokens_per_second=21.4, time_to_first_token=0.84, energy_joules=41.0,
                    energy_source="estimated: CPU time x 15 W per core", finish_reason="eos")


def _message(id, role, text, **fields):
    return Message(id=id, conversation_id=1, role=role, text=text, created=1000.0 + id, **fields)


def _conversation(count, first_id=1):
    """User and assistant messages taking turns, each a sentence, some answers with code."""
    messages = []
    for n in range(count):
        id = first_id + n
        if n % 2 == 0:
            messages.append(_message(id, "user", f"Question {id}: how do I do thing number {id}?"))
        else:
            code = f"\n\n```python\nprint({id})\n```" if n % 5 == 0 else ""
            messages.append(_message(id, "assistant", f"Answer {id}: you do it *this* way.{code}",
                                     model_file="/models/ggml-model-i2_s.gguf", stats=STATS))
    return messages


@pytest.fixture
def view(qtbot):
    widget = ChatView()
    qtbot.addWidget(widget)
    widget.resize(700, 500)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def _frame_text(view, message_id):
    frame = view._frames[message_id]
    cursor = frame.firstCursorPosition()
    cursor.setPosition(frame.lastPosition(), cursor.MoveMode.KeepAnchor)
    return cursor.selectedText().replace("\u2029", "\n").replace("\u2028", "\n")


def test_set_messages_shows_user_and_assistant_messages_but_not_the_system_prompt(view):
    view.set_messages([_message(1, "system", "You are a pirate."), *_conversation(4, first_id=2)])
    text = view.toPlainText()
    assert "Question 2" in text and "Answer 3" in text and "Question 4" in text and "Answer 5" in text
    assert "pirate" not in text
    assert view.message_ids() == [2, 3, 4, 5]
    assert _frame_text(view, 2).startswith("You\n") and _frame_text(view, 3).startswith("Assistant\n")
    view.append_message(_message(6, "system", "ignored"))
    assert view.message_ids() == [2, 3, 4, 5]


def test_links_under_each_message(view):
    messages = _conversation(4)
    messages[1] = _message(2, "assistant", "Cut short", complete=False)
    view.set_messages(messages)
    assert _frame_text(view, 1).endswith("Copy · Edit")
    assert _frame_text(view, 2).endswith("Copy · (stopped)")
    assert _frame_text(view, 4).endswith("Copy · Regenerate")
    view.append_message(_message(5, "user", "More?"))
    assert _frame_text(view, 4).endswith("\nCopy")        # no longer the last answer
    assert _frame_text(view, 5).endswith("Copy · Edit")


def test_an_answer_ended_by_an_error_says_so(view):
    stats = AnswerStats(finish_reason="error", error="out of memory")
    view.set_messages([_message(1, "user", "Hi"), _message(2, "assistant", "Par", stats=stats, complete=False)])
    assert _frame_text(view, 2).endswith("(stopped by an error)")


def test_streaming_re_renders_only_the_streaming_message(view):
    view.set_messages(_conversation(10))
    view.begin_streaming(_message(11, "assistant", ""))
    before = view.toPlainText()
    start = view._frames[11].firstPosition()
    changes = []
    view.document().contentsChange.connect(lambda position, removed, added: changes.append(position))
    text = ""
    for n in range(200):
        text += f"word{n} " if n % 40 else "\n\n```python\nx = 1\n"
        view.update_streaming(text)
    assert len(changes) >= 200
    assert min(changes) >= start
    assert view.toPlainText().startswith(before[:start])
    assert "word199" in _frame_text(view, 11)
    assert "Regenerate" not in _frame_text(view, 11)           # no actions on an answer still growing
    view.end_streaming(_message(11, "assistant", text, stats=STATS))
    assert _frame_text(view, 11).endswith("Copy · Regenerate")
    assert _frame_text(view, 10).endswith("\nCopy")


def test_while_streaming_only_the_last_markdown_block_is_re_rendered(view):
    view.set_messages(_conversation(2))
    done = "".join(f"Paragraph {n} is complete.\n\n```python\nprint({n})\n```\n\n" for n in range(30))
    view.begin_streaming(_message(3, "assistant", done + "The last"))
    tail_start = view._tail.firstPosition()
    changes = []
    view.document().contentsChange.connect(lambda position, removed, added: changes.append(position))
    text = done + "The last"
    for n in range(50):
        text += f" word{n}"
        view.update_streaming(text)
    assert len(changes) >= 50 and min(changes) >= tail_start
    copied = []
    view.copy_requested.connect(copied.append)
    view.update_streaming(text + "\n\n```sh\nls -l\n")   # numbered after the 30 code blocks above it
    view.anchorClicked.emit(QUrl("copy:3:30"))
    assert copied == ["ls -l\n"]


def test_a_streamed_answer_ends_up_as_it_shows_when_loaded(view):
    final = ("Intro.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- one\n- two\n\n```python\nx = 1\n```\n\n"
             "Setext heading\n---\n\nEnd with `code`.")
    view.set_messages([_message(1, "user", "Go")])
    view.begin_streaming(_message(2, "assistant", ""))
    for n in range(1, len(final) + 1):
        view.update_streaming(final[:n])
    view.end_streaming(_message(2, "assistant", final, stats=STATS))
    streamed = view.document().toHtml()
    view.set_messages([_message(1, "user", "Go"), _message(2, "assistant", final, stats=STATS)])
    assert streamed == view.document().toHtml()


def test_update_streaming_costs_the_same_whatever_the_history(view):
    def median_update_seconds(count):
        view.set_messages(_conversation(count))
        view.scroll_to_message(1)             # render the whole history, not only the newest page
        assert len(view.message_ids()) == count
        view.begin_streaming(_message(count + 1, "assistant", ""))
        times = []
        for n in range(20):
            start = time.perf_counter()
            view.update_streaming("Some words and `code`. " * (n + 1))
            view.document().size()            # include the layout of the change
            times.append(time.perf_counter() - start)
        view.end_streaming(_message(count + 1, "assistant", "done"))
        return statistics.median(times)

    small, large = median_update_seconds(10), median_update_seconds(1000)
    print(f"update_streaming median: {small * 1e3:.2f} ms at 10 messages, {large * 1e3:.2f} ms at 1,000")
    assert large < 3 * small + 0.002


def test_the_copy_link_of_a_code_block_copies_the_raw_code(view, qtbot):
    code = 'if a < b && c > d:\n    print("<tag> &amp;")\n'
    view.set_messages([_message(1, "user", "Code?"),
                       _message(2, "assistant", f"First:\n\n```sh\nls\n```\n\nThen:\n\n```python\n{code}```")])
    with qtbot.waitSignal(view.copy_requested) as blocker:
        view.anchorClicked.emit(QUrl("copy:2:1"))
    assert blocker.args == [code]
    assert QGuiApplication.clipboard().text() == code


def test_the_copy_link_of_a_message_copies_its_markdown(view, qtbot):
    view.set_messages([_message(1, "user", "Say **hi** <b>"), _message(2, "assistant", "hi")])
    with qtbot.waitSignal(view.copy_requested) as blocker:
        view.anchorClicked.emit(QUrl("message-copy:1"))
    assert blocker.args == ["Say **hi** <b>"]
    assert QGuiApplication.clipboard().text() == "Say **hi** <b>"


def test_links_that_name_no_shown_message_do_nothing(view, qtbot):
    view.set_messages(_conversation(2))
    with qtbot.assertNotEmitted(view.copy_requested), qtbot.assertNotEmitted(view.edit_requested):
        for href in ("copy:2:5", "copy:99:0", "copy:x:0", "message-copy:99", "message-edit:2", "nothing:1"):
            view.anchorClicked.emit(QUrl(href))


def test_edit_and_regenerate_signals_carry_the_message_ids(view, qtbot):
    view.set_messages(_conversation(4))
    with qtbot.waitSignal(view.edit_requested) as blocker:
        view.anchorClicked.emit(QUrl("message-edit:3"))
    assert blocker.args == [3]
    with qtbot.waitSignal(view.regenerate_requested) as blocker:
        view.anchorClicked.emit(QUrl("message-regenerate:4"))
    assert blocker.args == [4]


def test_remove_messages_from_drops_that_message_and_every_later_one(view):
    view.set_messages(_conversation(6))
    view.remove_messages_from(5)
    assert view.message_ids() == [1, 2, 3, 4]
    assert "Question 5" not in view.toPlainText() and "Answer 6" not in view.toPlainText()
    assert _frame_text(view, 4).endswith("Copy · Regenerate")     # the last answer again
    assert len(view.document().rootFrame().childFrames()) == 4
    view.append_message(_message(5, "user", "Again"))
    assert view.message_ids() == [1, 2, 3, 4, 5]
    assert view.toPlainText().rstrip().endswith("Copy · Edit")


def test_remove_messages_from_an_unrendered_message(view):
    view.set_messages(_conversation(200))
    view.remove_messages_from(20)
    assert view.message_ids() == list(range(1, 20))


def test_long_histories_render_the_newest_page_and_older_ones_on_scrolling_up(view):
    messages = _conversation(1000)
    start = time.perf_counter()
    view.set_messages(messages)
    seconds = time.perf_counter() - start
    print(f"set_messages of 1,000 messages: {seconds * 1e3:.0f} ms")
    assert seconds < 2
    assert view.message_ids() == list(range(1000 - chat_view.PAGE + 1, 1001))
    bar = view.verticalScrollBar()
    assert bar.value() == bar.maximum() > 0
    layout = view.document().documentLayout()
    first = view.message_ids()[0]
    bar.setValue(view.viewport().height() * 2)
    assert len(view.message_ids()) == chat_view.PAGE
    shown_at = layout.frameBoundingRect(view._frames[first]).top()     # where it is seen at the top
    bar.setValue(0)                           # the user reaches the top: the previous page is rendered
    assert len(view.message_ids()) == 2 * chat_view.PAGE
    assert bar.value() > 0
    assert layout.frameBoundingRect(view._frames[first]).top() - bar.value() == pytest.approx(shown_at, abs=1)


def test_scroll_to_message_renders_an_old_message_and_shows_it(view):
    view.set_messages(_conversation(300))
    view.scroll_to_message(7)
    assert view.message_ids()[0] <= 7
    top = view.document().documentLayout().frameBoundingRect(view._frames[7]).top()
    assert view.verticalScrollBar().value() == int(top)
    assert view.message_ids() == list(range(view.message_ids()[0], 301))


def test_streaming_follows_the_bottom_only_while_the_user_is_there(view):
    view.set_messages(_conversation(40))
    bar = view.verticalScrollBar()
    view.begin_streaming(_message(41, "assistant", ""))
    for n in range(30):
        view.update_streaming("A line of the answer.\n\n" * n)
    assert bar.value() == bar.maximum()
    half, maximum = bar.maximum() // 2, bar.maximum()
    bar.setValue(half)                        # the user scrolled up to read
    for n in range(30, 40):
        view.update_streaming("A line of the answer.\n\n" * n)
    assert bar.maximum() > maximum and bar.value() == half
    bar.setValue(bar.maximum())               # and came back down
    view.update_streaming("A line of the answer.\n\n" * 50)
    assert bar.value() == bar.maximum()


def test_a_view_filled_while_hidden_renders_one_page_and_opens_at_the_end(qtbot):
    view = ChatView()
    qtbot.addWidget(view)
    view.set_messages(_conversation(1000))
    assert len(view.message_ids()) == chat_view.PAGE
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    assert len(view.message_ids()) == chat_view.PAGE
    assert view.verticalScrollBar().value() == view.verticalScrollBar().maximum() > 0


def test_a_short_page_in_a_tall_view_renders_older_ones_until_there_is_something_to_scroll(view):
    view.set_messages([_message(n, "user", "Hi") for n in range(1, 5 * chat_view.PAGE)])
    view.resize(700, 3000)
    assert view.verticalScrollBar().maximum() > 0
    assert len(view.message_ids()) > chat_view.PAGE


def test_streaming_into_a_message_that_is_shown_already(view):
    view.set_messages([_message(1, "user", "Hi"), _message(2, "assistant", "Half an ans", complete=False)])
    view.begin_streaming(_message(2, "assistant", "Half an ans", complete=False))
    view.update_streaming("Half an answer, now whole.")
    view.end_streaming(_message(2, "assistant", "Half an answer, now whole."))
    assert view.message_ids() == [1, 2]
    assert _frame_text(view, 2) == "Assistant\nHalf an answer, now whole.\nCopy · Regenerate"


def test_the_stats_of_an_answer_show_as_its_tooltip(view, qtbot):
    message = _message(2, "assistant", "Answer", model_file="C:\\models\\ggml-model-i2_s.gguf", stats=STATS)
    assert stats_tooltip(message).splitlines() == [
        "Prompt: 812 tokens (640 reused), 95.2 tok/s",
        "Answer: 230 tokens, 21.4 tok/s",
        "First token after 0.84 s",
        "Energy: 41.0 J (0.18 J/token), estimated: CPU time x 15 W per core",
        "Finished: eos",
        "Model: ggml-model-i2_s.gguf",
    ]
    assert stats_tooltip(_message(1, "user", "Question")) == ""
    view.set_messages([_message(1, "user", "Question"), message])
    rect = view.document().documentLayout().frameBoundingRect(view._frames[2])
    pos = QPoint(int(rect.left()) + 20, int(rect.top() - view.verticalScrollBar().value()) + 10)
    assert view.message_at(pos).id == 2
    QTest.mouseMove(view.viewport(), pos)     # Qt sends the tooltip event after a hover pause
    qtbot.waitUntil(QToolTip.isVisible, timeout=5000)
    assert QToolTip.text() == stats_tooltip(message)
    QToolTip.hideText()


def test_dark_mode_re_renders_with_dark_colours(view):
    view.set_messages(_conversation(6))
    light = view.document().toHtml()
    view.set_dark(True)
    dark = view.document().toHtml()
    assert light != dark
    assert "#eef2f8" in light and "#252c36" in dark          # the user messages' background
    assert view.message_ids() == [1, 2, 3, 4, 5, 6]
    view.set_dark(False)
    assert view.document().toHtml() == light


def test_font_size(view):
    view.set_messages(_conversation(2))
    view.set_font_point_size(17.5)
    assert view.document().defaultFont().pointSizeF() == 17.5
