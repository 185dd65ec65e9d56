"""The collector tuning every routing process applies at start (routing.operations.runtime)."""

from __future__ import annotations

import gc

from routing.operations.runtime import THRESHOLDS, tune_gc


def test_tune_gc_raises_thresholds_and_freezes_what_is_loaded() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == THRESHOLDS
        assert gc.get_freeze_count() > 1000, "modules loaded so far are out of collections"
        assert gc.isenabled(), "cycles are still collected"
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
