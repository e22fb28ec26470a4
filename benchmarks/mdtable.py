"""Markdown for the results files: one table writer and one machine-facts list, shared by both reports."""


def table(header, rows):
    """A GitHub Markdown table; cells are written with ``str``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def facts(pairs):
    """``(label, value)`` pairs as a bullet list, e.g. the machine a report was measured on."""
    return "".join(f"- **{label}**: {value}\n" for label, value in pairs)
