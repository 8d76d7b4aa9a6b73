"""The Models place of the main window: the catalog (with memory, fit and the speed predicted on this
machine), downloads, and the models installed here. It adapts hub/ to the window and holds no logic of
its own a test could not reach without Qt.

- Catalog: a table over hub/catalog.py, filtered by the catalog's own search. This machine's read speed
  is measured once (about 1.5 s, hub/predict.py) on the task pool the first time the panel is shown, and
  cached by hub/predict.py; until then the predicted column says "measuring…".
- Download: the licence first where the catalog asks for it, then a DownloadManager item (hub.pull on
  the pool, one at a time); a repo that wants a token asks for one and keeps it with hub/token_store.py.
- Installed: ModelLibrary's models with Load, Delete (refused while loaded), Reveal, Set as default and
  Import (validated by the engine's reader, on the pool); the files opened without importing them.
- Offline mode (HF_HUB_OFFLINE): everything is listed, downloads are off with the reason, nothing is
  requested.
"""
from __future__ import annotations

import threading
from html import escape
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QShowEvent
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel,
                               QLineEdit, QMessageBox, QPushButton, QSplitter, QTableView, QTabWidget, QVBoxLayout,
                               QWidget)

from .. import paths
from ..app_settings import AppSettings
from ..hub import predict, token_store
from ..hub.catalog import Catalog, CatalogEntry, CatalogError, add_user_entry, load_catalog
from ..hub.errors import AuthenticationRequiredError, HubError
from ..hub.installed import InstalledModel, ModelLibrary
from ..hub.pull import LicenceNotAcceptedError, accept_licence, licence_accepted
from ..hub.remote import offline_mode
from ..meters.display import format_bytes
from .add_repo_dialog import AddRepoDialog
from .catalog_table_model import ENTRY_ID_ROLE, CatalogFilter, CatalogTableModel, catalog_rows
from .download_list import DownloadList
from .download_manager import DownloadManager, partial_download_bytes
from .engine_controller import EngineController, ModelInfo
from .installed_list import InstalledList
from .licence_dialog import LicenceDialog
from .tasks import TaskManager

CATALOG_PATH = None          # the shipped catalog; tests point this at their own file
MODEL_FILTER = "GGUF models (*.gguf);;All files (*)"
MIN_MEASURED_TOKENS = 16     # an answer shorter than this says little about the speed
OFFLINE_REASON = ("Offline mode is on (HF_HUB_OFFLINE is set): downloads are off and nothing is requested from the "
                  "hub. Installed models work as usual.")


def ask_import_mode(parent: QWidget, path: str) -> str | None:
    """Copy, move or link the file into the models folder? None when the person cancels."""
    box = QMessageBox(QMessageBox.Icon.Question, "Import a model",
                      f"How should {Path(path).name} be added to the models folder?", parent=parent)
    box.setInformativeText("Copy keeps the file where it is and uses the space twice; Move takes it; Link "
                           "leaves it where it is (it must stay there).")
    buttons = {box.addButton("Copy", QMessageBox.ButtonRole.AcceptRole): "copy",
               box.addButton("Move", QMessageBox.ButtonRole.AcceptRole): "move",
               box.addButton("Link", QMessageBox.ButtonRole.AcceptRole): "link"}
    box.addButton(QMessageBox.StandardButton.Cancel)
    box.exec()
    return buttons.get(box.clickedButton())


class ModelsPanel(QWidget):
    open_file_requested = Signal()
    model_chosen = Signal(str)           # a model file to load
    message_shown = Signal(str)          # every message shown (tests listen)

    def __init__(self, settings: AppSettings, tasks: TaskManager, engine: EngineController,
                 parent: QWidget | None = None, *, download_options: dict | None = None):
        super().__init__(parent)
        self.settings, self.tasks, self.engine = settings, tasks, engine
        self.config_dir = paths.config_dir()
        self.library = ModelLibrary.open()
        self.catalog = Catalog(())
        self.installed: list[InstalledModel] = []
        self.profile: predict.MachineProfile | None = None
        self._profile_key: tuple | None = None
        self._profile_asked = 0
        self._manifest_lock = threading.Lock()
        self._closing = False
        self.licence_dialog: LicenceDialog | None = None
        self.token_dialog: QInputDialog | None = None
        self.delete_box: QMessageBox | None = None
        self.add_repo_dialog: AddRepoDialog | None = None
        self.downloads = DownloadManager(tasks, self.library, self.config_dir, self, download_options=download_options)

        self.offline_label = QLabel(OFFLINE_REASON, self)
        self.offline_label.setObjectName("offline_notice")
        self.offline_label.setWordWrap(True)
        self.message = QLabel(self)
        self.message.setObjectName("models_message")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        # catalog
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search the catalog (name, licence, architecture, …)")
        self.search.setClearButtonEnabled(True)
        self.catalog_model = CatalogTableModel(self)
        self.catalog_filter = CatalogFilter(self)
        self.catalog_filter.setSourceModel(self.catalog_model)
        self.table = QTableView(self)
        self.table.setObjectName("catalog_table")
        self.table.setModel(self.catalog_filter)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)     # the name takes what is left
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)   # the catalog's own order until one is chosen
        self.table.setSortingEnabled(True)
        self.details = QLabel(self)
        self.details.setObjectName("catalog_details")
        self.details.setWordWrap(True)
        self.details.setOpenExternalLinks(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.download_button = QPushButton("Download", self)
        self.download_button.setObjectName("catalog_download")
        self.add_repo_button = QPushButton("Add a repo…", self)
        catalog_buttons = QHBoxLayout()
        catalog_buttons.addWidget(self.download_button)
        catalog_buttons.addStretch(1)
        catalog_buttons.addWidget(self.add_repo_button)
        catalog_page = QWidget(self)
        catalog_layout = QVBoxLayout(catalog_page)
        catalog_layout.setContentsMargins(0, 6, 0, 0)
        catalog_layout.addWidget(self.search)
        catalog_layout.addWidget(self.table, 3)
        catalog_layout.addWidget(self.details, 1)
        catalog_layout.addLayout(catalog_buttons)

        # installed, downloads
        self.installed_list = InstalledList(self)
        self.sections = QTabWidget(self)
        self.sections.setDocumentMode(True)
        self.sections.addTab(catalog_page, "Catalog")
        self.sections.addTab(self.installed_list, "Installed")
        self.catalog_page = catalog_page
        self.download_list = DownloadList(self.downloads, self)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<h3>Models</h3>", self))
        layout.addWidget(self.offline_label)
        layout.addWidget(self.message)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.sections)
        splitter.addWidget(self.download_list)
        splitter.setStretchFactor(0, 1)
        splitter.setChildrenCollapsible(False)
        layout.addWidget(splitter, 1)

        self.search.textChanged.connect(self._on_search_text_changed)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._show_selected())
        self.download_button.clicked.connect(self._on_download_button_clicked)
        self.add_repo_button.clicked.connect(self.add_repo)
        self.installed_list.load_requested.connect(self.model_chosen)
        self.installed_list.recent_chosen.connect(self.model_chosen)
        self.installed_list.open_file_requested.connect(self.open_file_requested)
        self.installed_list.delete_requested.connect(self.delete_model)
        self.installed_list.reveal_requested.connect(self.reveal_model)
        self.installed_list.default_requested.connect(self.set_default_model)
        self.installed_list.import_requested.connect(self.choose_import)
        self.downloads.item_changed.connect(self._on_downloads_item_changed)
        self.downloads.item_removed.connect(self._on_downloads_item_changed)
        self.downloads.model_installed.connect(self._on_downloads_model_installed)
        self.downloads.download_failed.connect(self._on_downloads_download_failed)
        self.download_list.token_requested.connect(self.ask_token)
        self.download_list.licence_requested.connect(self._on_download_list_licence_requested)
        engine.model_loaded.connect(self._on_engine_model_loaded)
        engine.model_unloaded.connect(self.refresh_installed)
        engine.model_load_failed.connect(lambda _message: self.refresh_installed())

        self.reload_catalog()
        self.refresh()

    # ---- state

    def offline_reason(self) -> str | None:
        return OFFLINE_REASON if offline_mode() else None

    def selected_entry(self) -> CatalogEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        entry_id = rows[0].data(ENTRY_ID_ROLE)
        return next((e for e in self.catalog if e.id == entry_id), None)

    def select_entry(self, entry_id: str) -> None:
        row = self.catalog_model.row_of(entry_id)
        if row is None:
            return
        index = self.catalog_filter.mapFromSource(self.catalog_model.index(row, 0))
        if index.isValid():
            self.table.selectionModel().select(index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                                               | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)

    def show_error(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #c92a2a;")
        self.message.show()
        self.message_shown.emit(text)

    def show_info(self, text: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("")
        self.message.show()
        self.message_shown.emit(text)

    # ---- refreshing (reads small files only: manifests, the catalog, a .part's size)

    def reload_catalog(self) -> None:
        try:
            self.catalog = load_catalog(CATALOG_PATH, config_dir=self.config_dir)
        except (CatalogError, OSError) as error:
            self.catalog = Catalog(())
            self.show_error(f"The model catalog cannot be read: {error}")
        self.downloads.catalog = self.catalog

    def refresh(self) -> None:
        """Everything again: installed models, the catalog's facts (memory available now), recent files."""
        self.installed_list.show_recent(self.settings.recent_models)
        self.refresh_installed()

    def refresh_installed(self) -> None:
        self.installed = self.library.list()
        default = self.library.default()
        info = self.engine.info
        self.installed_list.show_models(self.installed, default.name if default else None,
                                        info.path if info else None, sum(m.disk_bytes() for m in self.installed),
                                        self.library.partial_download_bytes(), self.library.root)
        self.sections.setTabText(1, f"Installed ({len(self.installed)})")
        self.refresh_catalog()

    def refresh_catalog(self) -> None:
        selected = self.selected_entry()
        library = self.library
        rows = catalog_rows(self.catalog, self.settings.context_length, self.settings.head, self.settings.threads,
                            self.profile, self.installed,
                            partial=lambda e: partial_download_bytes(library, e.repo, e.file))
        self.catalog_model.set_rows(rows, self.settings.context_length)
        self._on_search_text_changed(self.search.text())
        if selected is not None:
            self.select_entry(selected.id)
        offline = self.offline_reason()
        self.offline_label.setVisible(offline is not None)
        self.add_repo_button.setToolTip("Add any Hugging Face repo holding a GGUF file")
        self._on_downloads_item_changed()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.measure_machine()
        self.refresh_catalog()     # "fits now" is about now

    # ---- the machine's speed

    def measure_machine(self) -> None:
        """This machine's profile for the settings' threads and kernel, on the pool (cached by predict: a
        second call costs a file read). Nothing happens while one is on its way."""
        threads = self.settings.threads
        kernel = None if self.settings.kernel == "auto" else self.settings.kernel
        key = (threads, kernel)
        if key == self._profile_key:
            return
        self._profile_key = key
        self._profile_asked += 1
        asked = self._profile_asked
        self.profile = None
        self.catalog_model.set_speed_placeholder("measuring…")
        config = self.config_dir
        self._in_background(lambda: predict.machine_profile(threads, kernel, config),
                                     lambda profile: self._on_profile_measured(asked, profile),
                                     lambda error: self._on_profile_failed(asked, error))

    def _on_profile_measured(self, asked: int, profile: predict.MachineProfile) -> None:
        if asked == self._profile_asked:
            self.profile = profile
            self.refresh_catalog()

    def _on_profile_failed(self, asked: int, error: BaseException) -> None:
        if asked == self._profile_asked:
            self.catalog_model.set_speed_placeholder("unavailable")
            self.show_error(f"This computer's speed could not be measured, so no speed is predicted: {error}")

    def record_answer(self, outcome) -> None:
        """After an answer: its generation speed is kept with the installed model (shown beside the
        prediction)."""
        info = self.engine.info
        stats = outcome.finished.stats
        if info is None or stats.generated_tokens < MIN_MEASURED_TOKENS or stats.generation_tokens_per_second <= 0:
            return
        library, speed = self.library, stats.generation_tokens_per_second
        self._in_background(
            lambda: self._update_manifest(lambda: library.record_run(info.path, speed, info.threads, info.kernel,
                                                                      info.head)),
            lambda model: self.refresh_installed() if model is not None else None,
            lambda error: self.show_error(f"The measured speed could not be saved: {error}"))

    # ---- catalog and downloads

    def _on_search_text_changed(self, text: str) -> None:
        self.catalog_filter.set_ids({e.id for e in self.catalog.search(text)} if text.strip() else None)

    def _show_selected(self) -> None:
        entry = self.selected_entry()
        self._update_download_button(entry)
        if entry is None:
            self.details.setText("<i>Select a model to see its details.</i>")
            return
        row = self.catalog_model.row(self.catalog_model.row_of(entry.id))
        lines = [f"<b>{escape(entry.name)}</b> — {escape(entry.repo)}/{escape(entry.file)}"]
        if entry.description:
            lines.append(escape(entry.description))
        if entry.licence:
            lines.append(f"Licence: <a href=\"{escape(entry.licence.url, quote=True)}\">{escape(entry.licence.name)}</a>"
                         + (" (to be accepted before downloading)" if entry.licence.accept_before_download else ""))
        if row.fit is not None:
            lines.append("Memory: " + escape(row.fit.summary()))
        if row.prediction is not None:
            lines.append("Speed: " + escape(row.prediction.summary()))
        if entry.engine != "yes":
            lines.append("Runs here: " + escape(entry.engine_note or "checked when the file is downloaded"))
        self.details.setText("<br>".join(lines))

    def _update_download_button(self, entry: CatalogEntry | None) -> None:
        button = self.download_button
        text, enabled, tip = "Download", entry is not None, ""
        if entry is not None:
            row = self.catalog_model.row(self.catalog_model.row_of(entry.id))
            item = self.downloads.find(entry.repo, entry.file)
            if row.installed is not None:
                text, tip = "Load", f"Installed as {row.installed.name}"
            elif item is not None and item.phase not in ("paused", "failed"):
                text, enabled = "Downloading…", False
            elif entry.engine == "no":
                enabled, tip = False, f"This engine cannot run it: {entry.engine_note}"
            elif self.offline_reason():
                enabled, tip = False, self.offline_reason()
            elif (item is not None and item.phase in ("paused", "failed")) or row.partial:
                text = "Resume download"
            if text in ("Download", "Resume download") and entry.size:
                text += f" ({format_bytes(entry.size)})"
        button.setText(text)
        button.setEnabled(enabled)
        button.setToolTip(tip)

    def _on_download_button_clicked(self) -> None:
        entry = self.selected_entry()
        if entry is None:
            return
        row = self.catalog_model.row(self.catalog_model.row_of(entry.id))
        if row.installed is not None:
            self.model_chosen.emit(str(row.installed.path))
        else:
            self.download(entry)

    def download(self, entry: CatalogEntry, load_when_installed: bool = False) -> None:
        """Downloads a catalog entry: its licence first where it must be accepted, then the download."""
        offline = self.offline_reason()
        if offline:
            self.show_error(f"{entry.name} cannot be downloaded: {offline}")
            return
        if entry.engine == "no":
            self.show_error(f"{entry.name} is not downloaded: {entry.engine_note}")
            return
        if not licence_accepted(entry, self.config_dir):
            self._ask_licence(entry, lambda: self._queue(entry, load_when_installed))
            return
        self._queue(entry, load_when_installed)

    def download_first_run_model(self) -> None:
        """The first-run screen's one click: the catalog's first-run model, loaded once installed."""
        if not len(self.catalog):
            self.show_error("The model catalog is empty: open a model file instead.")
            return
        entry = self.catalog.first_run()
        self.sections.setCurrentWidget(self.catalog_page)
        self.search.clear()
        self.select_entry(entry.id)
        installed = next((m for m in self.installed if m.catalog_id == entry.id and not m.missing), None)
        if installed is not None:
            self.model_chosen.emit(str(installed.path))
        else:
            self.download(entry, load_when_installed=True)

    def first_run_offer(self) -> tuple[str, str | None] | None:
        """(the first-run button's text, why it is disabled or None); None without a catalog."""
        if not len(self.catalog):
            return None
        entry = self.catalog.first_run()
        facts = [_decimal_size(entry.size) if entry.size else None, entry.licence.name if entry.licence else None]
        facts = ", ".join(f for f in facts if f)
        return f"Download {entry.name}" + (f" ({facts})" if facts else ""), self.offline_reason()

    def _queue(self, entry: CatalogEntry, load_when_installed: bool) -> None:
        self.downloads.add(entry.repo, entry.file, entry, load_when_installed)
        self.show_info(f"Downloading {entry.name}…")

    def _ask_licence(self, entry: CatalogEntry, then) -> None:
        dialog = LicenceDialog(entry, self)
        self.licence_dialog = dialog

        def accepted() -> None:
            try:
                accept_licence(entry, self.config_dir)
            except OSError as error:
                self.show_error(f"The accepted licence could not be recorded: {error}")
                return
            then()

        dialog.accepted.connect(accepted)
        dialog.rejected.connect(lambda: self.show_info(f"{entry.name} was not downloaded: its licence was not "
                                                       "accepted."))
        dialog.open()

    def _on_download_list_licence_requested(self, item_id: str) -> None:
        item = self.downloads.item(item_id)
        entry = item.plan.entry if item.plan is not None and item.plan.entry is not None else item.entry
        if entry is not None and entry.licence is not None:
            self._ask_licence(entry, lambda: self.downloads.resume(item_id))

    def _on_downloads_item_changed(self, _item_id: str = "") -> None:
        status = {}
        for item in self.downloads.items():
            if item.entry is None or item.phase in ("installed", "cancelled"):
                continue
            p = item.progress
            if item.phase == "running" and p is not None and p.total:
                status[item.entry.id] = f"{p.state} {100 * p.done / p.total:.0f}%"
            else:
                status[item.entry.id] = {"resolving": "starting", "running": "downloading"}.get(item.phase, item.phase)
        self.catalog_model.set_download_status(status)
        self._update_download_button(self.selected_entry())

    def _on_downloads_model_installed(self, model: InstalledModel, load: bool) -> None:
        self.show_info(f"Installed {model.name} ({format_bytes(model.size)}, sha256 verified).")
        self.refresh_installed()
        if load:
            self.model_chosen.emit(str(model.path))

    def _on_downloads_download_failed(self, item_id: str, error: BaseException) -> None:
        item = self.downloads.item(item_id)
        self.show_error(f"{item.label} was not downloaded: {error}" if isinstance(error, HubError)
                        else f"{item.label} was not downloaded because of an unexpected error: {error!r}")
        self.refresh_installed()
        if isinstance(error, AuthenticationRequiredError):
            self.ask_token(item_id)
        elif isinstance(error, LicenceNotAcceptedError):
            self._on_download_list_licence_requested(item_id)

    def ask_token(self, item_id: str) -> None:
        """A Hugging Face token for a download the hub refused: stored with token_store, then retried."""
        item = self.downloads.item(item_id)
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Hugging Face token")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setInputMode(QInputDialog.InputMode.TextInput)
        dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
        dialog.setLabelText(f"{item.label} needs a Hugging Face access token (a read token from "
                            "huggingface.co/settings/tokens). It is kept in the system keyring, or in a file only "
                            "you can read.\n\nToken:")
        label = dialog.findChild(QLabel)
        if label is not None:
            label.setWordWrap(True)
        dialog.textValueSelected.connect(lambda token: self._on_token_entered(item_id, token))
        self.token_dialog = dialog
        dialog.open()

    def _on_token_entered(self, item_id: str, token: str) -> None:
        config = self.config_dir

        def stored(where: str) -> None:
            self.show_info("Token stored in " + ("the system keyring" if where == "keyring" else where)
                           + "; trying again…")
            self.downloads.resume(item_id)

        self._in_background(lambda: token_store.save_token(token, config), stored,
                                     lambda error: self.show_error(f"The token was not stored: {error}"))

    def add_repo(self) -> None:
        dialog = AddRepoDialog(self.tasks, self.config_dir, self.offline_reason(), self)
        self.add_repo_dialog = dialog
        dialog.accepted.connect(lambda: self._on_add_repo_accepted(dialog))
        dialog.open()

    def _on_add_repo_accepted(self, dialog: AddRepoDialog) -> None:
        try:
            entry = add_user_entry(dialog.repo, dialog.file, self.config_dir)
        except (CatalogError, OSError) as error:
            self.show_error(f"The repo was not added: {error}")
            return
        self.reload_catalog()
        self.sections.setCurrentWidget(self.catalog_page)
        self.search.clear()
        self.refresh_catalog()
        self.select_entry(entry.id)
        self.show_info(f"Added {entry.repo}/{entry.file} to the catalog: Download gets it (its size, memory and "
                       "speed are known once it is downloaded).")

    # ---- installed models

    def _loaded_path(self) -> str | None:
        info: ModelInfo | None = self.engine.info
        if info is not None:
            return info.path
        if self.engine.loading:
            return self.settings.last_model     # what load_model asked for
        return None

    def delete_model(self, name: str) -> None:
        """Asks first; refused while the model is loaded (its file is mapped)."""
        model = self.library.find(name)
        if model is None:
            self.refresh_installed()
            return
        loaded = self._loaded_path()
        if loaded is not None and _same_file(loaded, model.path):
            self.show_error(f"{name} is loaded: unload it (or load another model) before deleting it.")
            return
        kept = f" The file it links to ({model.original_path}) is left alone." if model.is_link else ""
        box = QMessageBox(QMessageBox.Icon.Question, "Delete model",
                          f"Delete {name}? This frees {format_bytes(model.disk_bytes())} in {model.folder}.{kept}",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.finished.connect(lambda result: self._delete_now(name) if result == QMessageBox.StandardButton.Yes
                             else None)
        self.delete_box = box
        box.open()

    def _delete_now(self, name: str) -> None:
        loaded = self._loaded_path()
        library = self.library

        def deleted(freed: int) -> None:
            self.show_info(f"Deleted {name}: {format_bytes(freed)} freed.")
            self.refresh_installed()

        def failed(error: BaseException) -> None:
            self.show_error(str(error) if isinstance(error, HubError) else f"{name} could not be deleted: {error}")
            self.refresh_installed()

        self._in_background(
            lambda: library.delete(name, is_loaded=lambda path: loaded is not None and _same_file(loaded, path)),
            deleted, failed)

    def reveal_model(self, name: str) -> None:
        model = self.library.find(name)
        if model is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(model.folder))):
            self.show_error(f"No file manager could be opened; the model is in {model.folder}")

    def set_default_model(self, name: str) -> None:
        try:
            self.library.set_default(name)
        except (HubError, OSError) as error:
            self.show_error(f"{name} was not made the default: {error}")
            return
        self.show_info(f"{name} is the default model: it is loaded when the app starts.")
        self.refresh_installed()

    def default_model_path(self) -> str | None:
        model = self.library.default()
        return str(model.path) if model is not None and not model.missing else None

    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a GGUF model", "", MODEL_FILTER)
        if not path:
            return
        mode = ask_import_mode(self, path)
        if mode is not None:
            self.import_file(path, mode)

    def import_file(self, path: str, mode: str) -> None:
        """Checks the file with the engine's reader and copies, moves or links it in (on the pool)."""
        library = self.library
        self.show_info(f"Checking {Path(path).name}…")

        def imported(model: InstalledModel) -> None:
            self.show_info(f"Imported {Path(path).name} as {model.name}: {model.format} {model.architecture}, "
                           f"{format_bytes(model.size)}.")
            self.refresh_installed()
            self.sections.setCurrentWidget(self.installed_list)
            self.installed_list.select(model.name)

        def failed(error: BaseException) -> None:
            self.show_error(f"{Path(path).name} was not imported: {error}")

        self._in_background(lambda: library.import_file(path, mode), imported, failed)

    # ---- the engine

    def _on_engine_model_loaded(self, info: ModelInfo) -> None:
        library = self.library
        self._in_background(lambda: self._update_manifest(lambda: library.mark_used(info.path)),
                                     lambda _model: self.refresh_installed())
        self.refresh_installed()

    def _in_background(self, fn, on_done=None, on_error=None) -> None:
        """tasks.run_in_background, except once the window is closing (the pool is shut down then; an
        answer stopped by the close still reports its end)."""
        if not self._closing:
            self.tasks.run_in_background(fn, on_done, on_error)

    def _update_manifest(self, change):
        """ModelLibrary.record_run reads, changes and rewrites a manifest: two at once (marked used on
        load, the speed after an answer) would lose one, so they take turns. On a pool thread."""
        with self._manifest_lock:
            return change()

    def shutdown(self) -> None:
        """The window closes: running downloads pause, keeping their partial files for the next start."""
        self._closing = True
        self.downloads.shutdown()


def _decimal_size(n: int) -> str:
    """1.19 GB, 866 MB, 865 kB: the way the hub's pages state a download's size."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:.2f} GB" if unit == "GB" else f"{n / scale:.0f} MB"
    return f"{n / 1e3:.0f} kB"


def _same_file(a: str | Path, b: str | Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except (OSError, RuntimeError):
        return str(a) == str(b)
