"""Settings read from LEADSCORE_* variables: a bad value stops the process, naming it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from leadscore.settings import Settings


def test_the_worker_log_level_is_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().worker_log_level == "WARNING"
    monkeypatch.setenv("LEADSCORE_WORKER_LOG_LEVEL", "INFO")
    assert Settings().worker_log_level == "INFO"
    monkeypatch.setenv("LEADSCORE_WORKER_LOG_LEVEL", "chatty")
    with pytest.raises(ValidationError, match="worker_log_level"):
        Settings()
