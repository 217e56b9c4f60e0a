"""Runs alone in a child process: `python pdf_child.py FILE MEMORY_BYTES`.

Loads pdfium, caps its own address space, then prints {"pages": [text, ...]} or {"error": code}
as JSON on stdout. Imports nothing from the studio, so a hostile PDF only ever meets pdfium
inside this short-lived, memory-capped process.
"""
import json
import resource
import sys


def _limit_memory(limit: int) -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _error_code(error: Exception) -> str:
    message = str(error).lower()
    return "password" if "password" in message else "corrupt"


def _pages(path: str) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(path)
    try:
        texts = []
        for index in range(len(document)):
            page = document[index]
            textpage = page.get_textpage()
            texts.append(textpage.get_text_range())
            textpage.close()
            page.close()
        return texts
    finally:
        document.close()


def main() -> int:
    path, limit = sys.argv[1], int(sys.argv[2])
    import pypdfium2 as pdfium

    _limit_memory(limit)  # after loading the library: the limit is for what the file makes pdfium do

    try:
        result = {"pages": _pages(path)}
    except pdfium.PdfiumError as error:
        result = {"error": _error_code(error)}
    except MemoryError:
        result = {"error": "memory"}
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
