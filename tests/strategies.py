"""Hypothesis strategies for incident text."""

from __future__ import annotations

from hypothesis import strategies as st

_PIECES = st.sampled_from([
    "https://status.example.com/x?y=1", "10.0.0.1", "db01.corp.example.com", "ORA-00942", "0xDEADBEEF",
    "at org.a.B.c(B.java:12)", "From: ops@example.com", "> quoted", "2024-05-01 10:22:33", "42", "3.14%",
    "NullPointerException", "HTTP 503", "/var/log/app.log", "C:\\Temp\\x.txt", "Über", "打印机", "не работает",
    "\t", "\n", "  ", "!!!", "...", "__url__", "error 809", "é", "\x00", "\ufffd",
])

#: Messy incident text: machine tokens, scripts, control characters and arbitrary unicode.
messy_text = st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=12).map(" ".join)
