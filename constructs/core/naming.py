"""Names that fit a service's length limit and stay unique: ``fit_name``."""

from __future__ import annotations

import hashlib
import re

__all__ = ["fit_name"]


def fit_name(text: str, max_length: int, *, disallowed: str = r"[^A-Za-z0-9_-]") -> str:
    """``text`` with characters matching ``disallowed`` replaced by ``-``, shortened to ``max_length``.

    A name that is too long keeps its start and ends with ``-`` and 8 hex digits of the SHA-256 of the
    whole text, so two long names that differ only at the end stay distinct, and the result is stable
    from one synth to the next. Example: ``fit_name("acme-prod-monitoring-job-events-222222222222", 32)``.

    Raises:
        ValueError: ``max_length`` is below 16 (too short to hold a distinguishing hash).
    """
    if max_length < 16:
        raise ValueError(f"max_length must be at least 16, got {max_length}")
    clean = re.sub(disallowed, "-", text)
    if len(clean) <= max_length:
        return clean
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return f"{clean[: max_length - 9]}-{digest}"
