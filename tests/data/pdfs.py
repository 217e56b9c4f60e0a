"""Small PDFs generated with reportlab for the knowledge tests and benchmarks."""
from __future__ import annotations

import io
import textwrap

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def text_pdf(pages: list[str], encrypt: str | None = None) -> bytes:
    """One page per string, wrapped into lines, with a real text layer."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, encrypt=encrypt)
    for page in pages:
        text = pdf.beginText(50, 800)
        text.setFont("Helvetica", 10)
        for paragraph in page.split("\n\n"):
            for line in textwrap.wrap(paragraph, 95) or [""]:
                text.textLine(line)
            text.textLine("")
        pdf.drawText(text)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def scanned_pdf(pages: int = 2) -> bytes:
    """Pages with drawings only (like a scan): no text layer at all."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    for number in range(pages):
        for row in range(40):
            pdf.setFillGray(0.1 + 0.02 * ((row + number) % 20))
            pdf.rect(50, 780 - row * 18, 400 + (row * 37) % 90, 10, fill=1, stroke=0)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def encrypted_pdf() -> bytes:
    return text_pdf(["Secret plans for the spring launch."], encrypt="open sesame")


def corrupt_pdf() -> bytes:
    """Starts like a PDF, then breaks off: no cross-reference table, no objects that parse."""
    return text_pdf(["This text will be cut off."])[:120]
