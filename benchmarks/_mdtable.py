"""Markdown for the results files: one table writer, one machine-facts list, and the write-and-print
every script ends with."""


def table(header, rows):
    """A GitHub Markdown table; cells are written with ``str``."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def facts(pairs):
    """``(label, value)`` pairs as a bullet list, e.g. the machine a report was measured on."""
    return "".join(f"- **{label}**: {value}\n" for label, value in pairs)


def publish(text, path):
    """Write a results file (making its folder) and print it, so a run's output is also its record."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(text)
