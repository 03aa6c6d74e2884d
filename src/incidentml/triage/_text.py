"""Text preparation built for incident text.

Incident text mixes prose with machine output: URLs, IP addresses, host names, numbers, error
codes, stack traces, log lines and e-mail boilerplate. :func:`normalize_text` maps each of those
to a stable token (``__url__``, ``__ip__``, ``__host__``, ``__num__``, ``errcode_ora``,
``__frame__``...) so that two tickets about the same failure share features even when their
addresses, timestamps and line numbers differ. It never fails on messy input: ``None``, NaN,
bytes that are not UTF-8, any script or language, and very long text all give a string.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any

__all__ = ["normalize_text", "PLACEHOLDERS"]

#: The stable tokens :func:`normalize_text` may emit, and what each one stands for.
PLACEHOLDERS = {
    "__url__": "a URL",
    "__email__": "an e-mail address",
    "__ip__": "an IPv4 or IPv6 address",
    "__host__": "a host name (dotted name with a known top-level domain or many labels)",
    "__path__": "a file system path",
    "__uuid__": "a UUID",
    "__hex__": "a hexadecimal number (0x...) or long hex string",
    "__num__": "a number",
    "__date__": "a date or time of day",
    "__frame__": "one stack-trace frame (Java, Python, .NET)",
    "__quote__": "a quoted e-mail reply line",
    "errcode_<prefix>": "an error code such as ORA-00942 (the prefix is kept, the number dropped)",
    "errnum_<n>": "a number following 'error', 'code', 'status' or 'http' (e.g. http 503)",
    "exc_<name>": "an exception class name (e.g. NullPointerException)",
}

_MAX_CHARS_DEFAULT = 20_000

# Order matters: the broad patterns (numbers) run last so they never eat a structured token.
_RULES: list[tuple[re.Pattern[str], str]] = [
    # e-mail headers and quoted replies
    (re.compile(r"^\s*(?:from|sent|to|cc|bcc|subject|date|von|de|envoyé|gesendet|an|objet|betreff)\s*:.*$",
                re.IGNORECASE | re.MULTILINE), " "),
    (re.compile(r"^\s*>.*$", re.MULTILINE), " __quote__ "),
    # stack-trace frames: Java "at a.b.C.m(C.java:12)", Python 'File "x.py", line 3, in f',
    # .NET "at A.B() in x.cs:line 3"
    (re.compile(r"\bat\s+[\w$.<>]+\([^)\n]*\)(?:\s+in\s+\S+)?"), " __frame__ "),
    (re.compile(r'File\s+"[^"\n]+",\s+line\s+\d+(?:,\s+in\s+\S+)?'), " __frame__ "),
    (re.compile(r"\.\.\.\s*\d+\s+more\b"), " __frame__ "),
    (re.compile(r"\b(?:https?|ftp|file|ssh|jdbc:\w+)://\S+", re.IGNORECASE), " __url__ "),
    (re.compile(r"\bwww\.\S+", re.IGNORECASE), " __url__ "),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), " __email__ "),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), " __uuid__ "),
    (re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), " __ip__ "),
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), " __ip__ "),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?)?\b"),
     " __date__ "),
    (re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d+)?\b"), " __date__ "),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), " __hex__ "),
    # error codes written PREFIX-NNNN or PREFIXNNNN in capitals (ORA-00942, KB4012212, CVE-...)
    (re.compile(r"\b([A-Z][A-Z0-9]{1,7})-(\d{2,7})\b"), r" errcode_\1 "),
    (re.compile(r"(?i)\b(error|err|code|status|http|event\s+id|exit)[\s:=#]*(\d{2,6})\b"), r" \1 errnum_\2 "),
    (re.compile(r"\b([A-Za-z_$][\w$]*\.)+([A-Z]\w*(?:Exception|Error|Fault))\b"), r" exc_\2 "),
    (re.compile(r"\b([A-Z]\w*(?:Exception|Error|Fault))\b"), r" exc_\1 "),
    (re.compile(r"(?:(?<=\s)|^)(?:[A-Za-z]:\\|\\\\|/)(?:[\w.$~-]+[\\/])+[\w.$~-]*"), " __path__ "),
    (re.compile(r"\b(?:[a-zA-Z0-9-]+\.)+(?:com|net|org|io|local|lan|internal|corp|intra|cloud|dev|int|edu|gov|"
                r"co\.uk|de|fr|uk|eu|ro|md|rs|bg|nl|ch|at|it|es|pl|cz|us)\b", re.IGNORECASE), " __host__ "),
    (re.compile(r"\b[0-9a-fA-F]{16,}\b"), " __hex__ "),
    (re.compile(r"(?<![\w])[-+]?\d+(?:[.,]\d+)*(?:[eE][-+]?\d+)?(?:%|ms|s|kb|mb|gb|tb|k|m|g)?(?![\w])",
                re.IGNORECASE), " __num__ "),
]
# Every rule above needs one of these to match; text without any (plain prose) skips them all.
_TRIGGER = re.compile(r"[\d:>(@/\\.]|[0-9a-fA-F]{16,}|(?:Exception|Error|Fault)\b")
_PUNCT_RUN = re.compile(r"([^\w\s])\1{2,}")  # ===== ------ ...... collapsed to one
_SPACE = re.compile(r"\s+")
_REPEATED_TOKEN = re.compile(r"\b(__\w+__)(?:\s+\1\b)+")


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="replace")
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return ""
    except ImportError:  # pragma: no cover - pandas is a core dependency
        pass
    return str(value)


def normalize_text(value: Any, *, max_chars: int = _MAX_CHARS_DEFAULT) -> str:
    """Turn raw incident text into a normalised, lower-case string of stable tokens.

    Parameters
    ----------
    value : str, bytes, None or float
        The raw text. ``None`` and NaN give ``""``; bytes are decoded as UTF-8 with invalid
        sequences replaced, so a ticket with broken encoding still gets triaged.
    max_chars : int, default=20000
        Only the first ``max_chars`` characters are read (a 10 MB pasted log costs no more
        than a 20 kB one); the result is also cut to this length.

    Returns
    -------
    str
        Lower-case text with single spaces, where URLs, IPs, hosts, numbers, error codes,
        stack frames and e-mail boilerplate are replaced by the tokens in :data:`PLACEHOLDERS`.
        The function is idempotent: ``normalize_text(normalize_text(x)) == normalize_text(x)``.

    Examples
    --------
    >>> normalize_text("DB down: ORA-00942 on db01.corp.example.com (10.0.0.12), see https://wiki/x")
    'db down: errcode_ora on __host__ ( __ip__ ), see __url__'
    >>> normalize_text("Exception in thread main java.lang.NullPointerException\\n at a.B.c(B.java:12)")
    'exception in thread main exc_nullpointerexception __frame__'
    >>> normalize_text(b"caf\\xe9 printer jammed")
    'caf\\ufffd printer jammed'
    >>> normalize_text(None)
    ''
    """
    text = _to_str(value)
    if not text:
        return ""
    if len(text) > max_chars:
        text = text[:max_chars]
    text = unicodedata.normalize("NFKC", text)
    if _TRIGGER.search(text):
        for pattern, repl in _RULES:
            text = pattern.sub(repl, text)
    text = _PUNCT_RUN.sub(r"\1", text)
    text = text.lower()
    text = _SPACE.sub(" ", text).strip()
    text = _REPEATED_TOKEN.sub(r"\1", text)
    return text[:max_chars]
