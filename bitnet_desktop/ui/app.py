"""`bitnet-desktop` with no command: the desktop app's window."""
from __future__ import annotations

import argparse
import os
import sys

from ..paths import DATA_DIR_ENV_VAR


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bitnet-desktop", description="The BitNet Desktop window.")
    p.add_argument("--data-dir", default=None, help=f"folder for conversations and settings (or ${DATA_DIR_ENV_VAR})")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.data_dir:
        os.environ[DATA_DIR_ENV_VAR] = os.path.abspath(args.data_dir)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from ..app_settings import AppSettings
    from ..chats.errors import StoreError
    from ..chats.store import ConversationStore
    from ..paths import database_path, settings_path
    from ..startup_check import run_startup_check
    from .main_window import MainWindow
    from .theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("BitNet Desktop")
    settings = AppSettings.load(settings_path())
    dark = apply_theme(app, settings.theme, settings.font_size)
    try:
        store = ConversationStore.open(database_path())
    except StoreError as exc:
        QMessageBox.critical(None, "BitNet Desktop", f"The conversations cannot be opened:\n\n{exc}")
        print(f"bitnet-desktop: error: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(settings, store, run_startup_check(settings.kernel), settings_path())
    window.chat.view.set_dark(dark)
    window.chat.view.set_font_point_size(settings.font_size)
    window.show()
    QTimer.singleShot(0, window.start)
    try:
        return app.exec()
    finally:
        store.close()
