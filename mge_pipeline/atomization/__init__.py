"""Atomization: existing Python, TypeScript and JavaScript code taken apart into a masterplan."""
