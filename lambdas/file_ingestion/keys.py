"""The object-key pattern of a landing bucket: which tenant, site, date and file type a key names.

Pure stdlib, shared by the construct (checked at synth) and the recorder Lambda (applied per event), so the
pattern the Lambda runs is exactly the one the synth accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

#: Named groups every pattern must define.
REQUIRED_GROUPS = ("tenant", "site", "date", "file_type")
#: ``<tenant>/<site>/<YYYY-MM-DD>/<file_type>/<file name>.csv`` or ``.csv.gz``.
DEFAULT_KEY_PATTERN = (
    r"^(?P<tenant>[a-z0-9][a-z0-9-]*)/(?P<site>[A-Za-z0-9][A-Za-z0-9_-]*)/(?P<date>\d{4}-\d{2}-\d{2})/"
    r"(?P<file_type>[a-z][a-z0-9_]*)/[^/]+\.csv(\.gz)?$"
)
#: ``datetime.strptime`` format of the ``date`` group.
DEFAULT_DATE_FORMAT = "%Y-%m-%d"


class KeyPatternError(ValueError):
    """The pattern itself is unusable (raised at synth)."""


class KeyRejected(ValueError):
    """An object key that does not follow the pattern (the file is recorded as REJECTED, never retried)."""


@dataclass(frozen=True)
class ParsedKey:
    """What a key says: the four required groups (``date`` as ISO ``YYYY-MM-DD``) and any other named group."""

    tenant: str
    site: str
    date: str
    file_type: str
    extra: dict[str, str]


def compile_key_pattern(pattern: str, date_format: str = DEFAULT_DATE_FORMAT) -> re.Pattern[str]:
    """Compile ``pattern`` and check it names every required group.

    Raises:
        KeyPatternError: not a string, not a valid regular expression, or a required group missing; the
            message names the pattern and the fix.
    """
    if not isinstance(pattern, str) or not pattern:
        raise KeyPatternError(f"key_pattern must be a non-empty regular expression string, got {pattern!r}")
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise KeyPatternError(f"key_pattern {pattern!r} is not a valid Python regular expression ({error})") from None
    missing = [name for name in REQUIRED_GROUPS if name not in compiled.groupindex]
    if missing:
        groups = ", ".join(f"(?P<{name}>...)" for name in missing)
        raise KeyPatternError(
            f"key_pattern {pattern!r} lacks the named group(s) {groups}: every pattern must name "
            f"{', '.join(REQUIRED_GROUPS)}, e.g. {DEFAULT_KEY_PATTERN!r}"
        )
    if not isinstance(date_format, str) or "%" not in date_format:
        raise KeyPatternError(f"date_format {date_format!r} is not a strptime format: use e.g. '%Y-%m-%d' or '%Y%m%d'")
    return compiled


def parse_key(compiled: re.Pattern[str], key: str, date_format: str = DEFAULT_DATE_FORMAT) -> ParsedKey:
    """The groups of ``key``; the whole key must match (``fullmatch``).

    Raises:
        KeyRejected: the key does not match, a required group is empty, or ``date`` is no valid date in
            ``date_format``; the message names the key, the pattern and what was wrong.
    """
    match = compiled.fullmatch(key)
    if match is None:
        raise KeyRejected(f"key {key!r} does not match the landing pattern {compiled.pattern!r}: rename the file")
    groups = {name: value for name, value in match.groupdict().items() if value is not None}
    empty = [name for name in REQUIRED_GROUPS if not groups.get(name)]
    if empty:
        raise KeyRejected(f"key {key!r}: the group(s) {', '.join(empty)} of {compiled.pattern!r} matched nothing")
    try:
        date = datetime.strptime(groups["date"], date_format).date().isoformat()
    except ValueError:
        raise KeyRejected(f"key {key!r}: date {groups['date']!r} is not a valid date in the format {date_format!r}") from None
    extra = {name: value for name, value in groups.items() if name not in REQUIRED_GROUPS}
    return ParsedKey(groups["tenant"], groups["site"], date, groups["file_type"], extra)
