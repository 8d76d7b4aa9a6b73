"""Add any hub repo to the catalog by hand: its id and, optionally, which GGUF file (a repo's GGUF files can
be listed from the hub, on the task pool). With no file named, the repo's only GGUF file is taken; a repo
holding several asks to pick one."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
                               QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget)

from ..hub.errors import HubError
from ..meters.display import format_bytes
from .tasks import TaskManager

FILE_ROLE = Qt.ItemDataRole.UserRole


class AddRepoDialog(QDialog):
    def __init__(self, tasks: TaskManager, config_dir, offline_reason: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.tasks = tasks
        self.config_dir = config_dir
        self.setWindowTitle("Add a repo")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.repo_edit = QLineEdit(self)
        self.repo_edit.setPlaceholderText("owner/name, e.g. microsoft/bitnet-b1.58-2B-4T-gguf")
        self.file_edit = QLineEdit(self)
        self.file_edit.setPlaceholderText("optional: the .gguf file, when the repo holds several")
        self.list_button = QPushButton("List GGUF files", self)
        self.files = QListWidget(self)
        self.files.setObjectName("repo_files")
        self.status = QLabel(self)
        self.status.setObjectName("add_repo_status")
        self.status.setWordWrap(True)
        buttons = QDialogButtonBox(self)
        self.add_button = buttons.addButton("Add", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        repo_row = QHBoxLayout()
        repo_row.addWidget(self.repo_edit, 1)
        repo_row.addWidget(self.list_button)
        form = QFormLayout()
        form.addRow("Repo", repo_row)
        form.addRow("File", self.file_edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.files, 1)
        layout.addWidget(self.status)
        layout.addWidget(buttons)
        self.resize(560, 360)
        self.offline_reason = offline_reason
        if offline_reason:
            self.list_button.setEnabled(False)
            self.list_button.setToolTip(offline_reason)
        self.list_button.clicked.connect(lambda: self.list_files())
        self.files.currentItemChanged.connect(
            lambda item, _old: self.file_edit.setText(item.data(FILE_ROLE)) if item is not None else None)
        buttons.accepted.connect(self._on_add_clicked)
        buttons.rejected.connect(self.reject)
        self.repo_edit.textChanged.connect(lambda _text: self.files.clear())
        self._listing = 0

    @property
    def repo(self) -> str:
        return self.repo_edit.text().strip()

    @property
    def file(self) -> str | None:
        return self.file_edit.text().strip() or None

    def list_files(self, then_accept: bool = False) -> None:
        """Asks the hub for the repo's GGUF files (on the pool); with `then_accept`, a repo holding exactly
        one is added at once."""
        from ..hub.remote import HubClient

        repo, config = self.repo, self.config_dir
        if not repo:
            self.status.setText("Type a repo id first (owner/name).")
            return
        self._listing += 1
        asked = self._listing
        self.status.setText(f"Listing the GGUF files of {repo}…")
        self.list_button.setEnabled(False)
        self.tasks.run_in_background(lambda: HubClient(config_dir=config).list_gguf_files(repo),
                                     lambda files: self._on_files_listed(asked, files, then_accept),
                                     lambda error: self._on_listing_failed(asked, error))

    def _on_files_listed(self, asked: int, files, then_accept: bool) -> None:
        if asked != self._listing:
            return
        self.list_button.setEnabled(True)
        self.files.clear()
        for f in files:
            item = QListWidgetItem(f"{f.file}    {format_bytes(f.size)}"
                                   + ("" if f.sha256 else "    (no sha256 published: cannot be verified)"))
            item.setData(FILE_ROLE, f.file)
            self.files.addItem(item)
        if not files:
            self.status.setText(f"{self.repo} holds no .gguf file.")
        elif len(files) == 1:
            self.file_edit.setText(files[0].file)
            self.status.setText("")
            if then_accept:
                self.accept()
        else:
            self.status.setText(f"{len(files)} GGUF files: pick one.")

    def _on_listing_failed(self, asked: int, error: BaseException) -> None:
        if asked != self._listing:
            return
        self.list_button.setEnabled(not self.offline_reason)
        self.status.setText(str(error) if isinstance(error, HubError) else f"The files could not be listed: {error!r}")

    def _on_add_clicked(self) -> None:
        if not self.repo:
            self.status.setText("Type a repo id first (owner/name).")
        elif self.file:
            self.accept()
        elif self.offline_reason:
            self.status.setText(f"Name the file: {self.offline_reason}")
        else:
            self.list_files(then_accept=True)
