"""Strings that try to inject HTML or script into a report."""

XSS = "<script>alert('x')</script>"
XSS_ATTR = '"><img src=x onerror=alert(1)>'
