"""The catalog as a table: what a person needs to choose a model (size, memory at the chosen context and
whether it fits now, the speed predicted on this machine beside any measured one, licence, base or
instruct, whether this engine runs it) and where its download stands. A Qt model over hub/catalog.py;
the facts come from hub/fit.py and hub/predict.py (`catalog_rows`, no Qt)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor

from ..hub.catalog import Catalog, CatalogEntry
from ..engine.errors import BitNetError
from ..hub.fit import FitResult, MemoryNeed, check_fit, memory_for_entry, memory_from_file_size
from ..hub.installed import InstalledModel
from ..hub.predict import MachineProfile, SpeedPrediction, predict_for_entry
from ..meters.display import format_bytes

ENTRY_ID_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1

NAME, PARAMETERS, SIZE, MEMORY, FITS, PREDICTED, LICENCE, KIND, RUNS, STATUS = range(10)
HEADERS = ["Model", "Params", "Size", "Memory", "Fits now", "Predicted tok/s", "Licence", "Type", "Runs here",
           "Status"]
FITS_COLOURS = {True: QColor("#2b8a3e"), False: QColor("#c92a2a")}


@dataclass(frozen=True)
class CatalogRow:
    entry: CatalogEntry
    need: MemoryNeed | None
    fit: FitResult | None
    prediction: SpeedPrediction | None   # None until this machine is measured, or when nothing is known
    installed: InstalledModel | None     # an installed copy of this entry
    measured: float | None               # tokens/s measured on the installed copy
    partial: int                         # bytes an unfinished download left


def catalog_rows(catalog: Catalog, context: int, head: str, threads: int | None, profile: MachineProfile | None,
                 installed: list[InstalledModel], partial=lambda entry: 0) -> list[CatalogRow]:
    """The facts of every entry at `context` tokens (at most the entry's own context length)."""
    available = None
    rows = []
    for entry in catalog:
        ctx = min(context, entry.context_length) if entry.context_length else context
        try:
            need = memory_for_entry(entry, ctx, head, threads)
        except BitNetError:       # the kernel library cannot say (it failed to load): the size alone
            need = memory_from_file_size(entry.size, ctx, head) if entry.size else None
        fit = None
        if need is not None:
            fit = check_fit(need, available)
            available = fit.available          # one reading of free memory for the whole table
        prediction = predict_for_entry(entry, profile, head) if profile is not None else None
        copy = _installed_copy(entry, installed)
        measured = copy.measured.get("tokens_per_second") if copy is not None and copy.measured else None
        rows.append(CatalogRow(entry, need, fit, prediction, copy, measured, 0 if copy else partial(entry)))
    return rows


def _installed_copy(entry: CatalogEntry, installed: list[InstalledModel]) -> InstalledModel | None:
    for model in installed:
        if model.missing:
            continue
        if model.catalog_id == entry.id or (model.repo and model.repo.lower() == entry.repo.lower()
                                            and model.file == entry.file.rsplit("/", 1)[-1]):
            return model
    return None


class CatalogTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._rows: list[CatalogRow] = []
        self._context = 0
        self._measuring = "measuring…"     # the speed column's text while no profile is known
        self._status: dict[str, str] = {}  # entry id -> the download's state, from the panel

    # ---- what the panel sets

    def set_rows(self, rows: list[CatalogRow], context: int) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._context = context
        self.endResetModel()

    def set_speed_placeholder(self, text: str) -> None:
        """What the predicted column says while there is no measurement ("measuring…", "unavailable")."""
        self._measuring = text
        self._column_changed(PREDICTED)

    def set_download_status(self, status: dict[str, str]) -> None:
        if status != self._status:
            self._status = dict(status)
            self._column_changed(STATUS)

    def row(self, index: int) -> CatalogRow:
        return self._rows[index]

    def row_of(self, entry_id: str) -> int | None:
        return next((i for i, r in enumerate(self._rows) if r.entry.id == entry_id), None)

    def _column_changed(self, column: int) -> None:
        if self._rows:
            self.dataChanged.emit(self.index(0, column), self.index(len(self._rows) - 1, column))

    # ---- QAbstractTableModel

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == MEMORY:
                return f"Memory at\n{self._context:,} ctx"
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole:
            return {SIZE: "Size on disk", MEMORY: "Peak memory while loading and running at the context length chosen in the settings "
                            "(at most the model's own)",
                    FITS: "Whether that fits in the memory available right now",
                    PREDICTED: "Generation speed predicted for this computer from its measured memory read "
                               "speed and kernel efficiency; once a model has run here, the measured speed is "
                               "shown beside it"}.get(section)
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == FITS and row.fit is not None:
            return FITS_COLOURS[row.fit.fits]
        if role == Qt.ItemDataRole.ForegroundRole and column == RUNS and row.entry.engine == "no":
            return FITS_COLOURS[False]
        if role == ENTRY_ID_ROLE:
            return row.entry.id
        if role == SORT_ROLE:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (PARAMETERS, SIZE, MEMORY, PREDICTED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, row: CatalogRow, column: int) -> str:
        e = row.entry
        if column == NAME:
            return e.name + (" (added)" if e.user_added else "")
        if column == PARAMETERS:
            return e.parameters or "?"
        if column == SIZE:
            return format_bytes(e.size) if e.size else "?"
        if column == MEMORY:
            if row.need is None:
                return "?"
            return ("~" if row.need.source == "file size" else "") + format_bytes(row.need.peak)
        if column == FITS:
            return "?" if row.fit is None else ("yes" if row.fit.fits else "no")
        if column == PREDICTED:
            if row.prediction is None:
                text = self._measuring if (e.shape is not None or e.size) else "?"
            else:
                text = f"{row.prediction.tokens_per_second:.1f}"
            if row.measured:
                text += f" · measured {row.measured:.1f}"
            return text
        if column == LICENCE:
            return e.licence.name if e.licence else "unknown"
        if column == KIND:
            return e.kind
        if column == RUNS:
            return {"yes": "yes", "no": "no", "unknown": "after download"}[e.engine]
        if column == STATUS:
            status = self._status.get(e.id)
            if status:
                return status
            if row.installed is not None:
                return f"installed as {row.installed.name}"
            if row.partial:
                return f"{format_bytes(row.partial)} downloaded, can resume"
            return ""
        return ""

    def _tooltip(self, row: CatalogRow, column: int) -> str | None:
        e = row.entry
        if column == NAME:
            return f"{e.repo}/{e.file}" + (f"\n{e.description}" if e.description else "")
        if column == SIZE and e.size:
            return f"{e.size:,} bytes"
        if column in (MEMORY, FITS) and row.fit is not None:
            tip = row.fit.summary()
            return tip + (f"\n{row.need.note}" if row.need.note else "")
        if column == PREDICTED:
            if row.prediction is None:
                return None
            tip = row.prediction.summary() + (f"\n{row.prediction.note}" if row.prediction.note else "")
            if row.measured and row.installed is not None and row.installed.measured:
                m = row.installed.measured
                tip += (f"\nmeasured {row.measured:.1f} tokens/s when it last ran here ({m.get('threads')} "
                        f"threads, {m.get('kernel')} kernel)")
            return tip
        if column == LICENCE and e.licence:
            return e.licence.url + ("\nTo be accepted before downloading" if e.licence.accept_before_download else "")
        if column == RUNS:
            return e.engine_note or ("The engine runs this model" if e.engine == "yes" else
                                     "Checked when the file is downloaded")
        return None

    def _sort_key(self, row: CatalogRow, column: int):
        e = row.entry
        if column == PARAMETERS:
            return e.parameter_count or 0
        if column == SIZE:
            return e.size or 0
        if column == MEMORY:
            return row.need.peak if row.need else 0
        if column == PREDICTED:
            return row.prediction.tokens_per_second if row.prediction else 0.0
        return self._text(row, column).lower()


class CatalogFilter(QSortFilterProxyModel):
    """Rows whose entry id is in `ids` (the catalog's own search decides which match); all when None."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._ids: set[str] | None = None
        self.setSortRole(SORT_ROLE)

    def set_ids(self, ids: set[str] | None) -> None:
        self.beginFilterChange()
        self._ids = ids
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex) -> bool:
        if self._ids is None:
            return True
        index = self.sourceModel().index(source_row, 0, source_parent)
        return self.sourceModel().data(index, ENTRY_ID_ROLE) in self._ids
