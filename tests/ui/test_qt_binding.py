"""The Qt binding itself: PySide6 6.12.0 drops a reference to None on every call of a method
that returns nothing; on Python 3.11 the app aborts ("deallocating None") after a minute or two of
streaming. pyproject excludes that release; this test catches any release that does the same."""
import sys

from PySide6.QtCore import QObject


def test_calls_returning_nothing_keep_the_reference_count_of_none():
    target = QObject()
    before = sys.getrefcount(None)
    for _ in range(2000):
        target.setObjectName("x")
    assert sys.getrefcount(None) >= before - 50
