from core.knowledge.chunk import OVERLAP_TOKENS, TARGET_TOKENS, chunk_pages, chunk_params, split_by_tokens
from core.knowledge.extract import Page
from core.tokens import count_tokens

SENTENCES = [f"Sentence number {i} talks about topic {i % 7} in some detail." for i in range(200)]


def test_short_text_is_one_chunk():
    chunks = chunk_pages([Page(None, "Just one line.")], "text")
    assert [(c.index, c.text, c.page, c.heading) for c in chunks] == [(0, "Just one line.", None, "")]


def test_chunks_are_token_sized_with_overlap():
    chunks = chunk_pages([Page(None, " ".join(SENTENCES))], "text")
    assert len(chunks) > 5
    for chunk in chunks:
        assert count_tokens(chunk.text) <= TARGET_TOKENS + OVERLAP_TOKENS
    for before, after in zip(chunks, chunks[1:]):
        shared = after.text[:40]
        assert shared in before.text  # the next chunk starts with the end of the previous one
    joined = " ".join(c.text for c in chunks)
    assert all(sentence in joined for sentence in SENTENCES)


def test_markdown_headings_start_chunks_and_are_kept():
    md = "Preface.\n\n# Install\n\nRun the installer.\n\n## Linux\n\nUse apt.\n\n```\n# a comment, not a heading\n```\n"
    chunks = chunk_pages([Page(None, md)], "markdown")
    assert [(c.heading, c.text.splitlines()[0]) for c in chunks] == [
        ("", "Preface."), ("Install", "# Install"), ("Linux", "## Linux"),
    ]
    assert "# a comment, not a heading" in chunks[-1].text


def test_headings_in_plain_text_are_just_text():
    chunks = chunk_pages([Page(None, "# Not special\n\nBody.")], "text")
    assert len(chunks) == 1 and chunks[0].heading == ""


def test_pdf_chunks_never_cross_pages_and_keep_the_page_number():
    pages = [Page(1, "\n".join(SENTENCES[:60])), Page(2, "   "), Page(3, "Third page text.")]
    chunks = chunk_pages(pages, "pdf")
    assert {c.page for c in chunks} == {1, 3}
    assert chunks[-1].text == "Third page text." and chunks[-1].page == 3
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all("\n" not in c.text for c in chunks if c.page == 1)  # PDF lines are unwrapped


def test_paragraphs_are_preferred_boundaries():
    paragraphs = [" ".join(SENTENCES[i : i + 6]) for i in range(0, 48, 6)]
    chunks = chunk_pages([Page(None, "\n\n".join(paragraphs))], "text")
    # Each chunk after the first starts with an overlap tail and then a whole paragraph.
    first = chunks[0].text.split("\n\n")
    assert all(p in paragraphs for p in first)


def test_a_sentence_longer_than_a_chunk_is_split_by_tokens():
    pieces = split_by_tokens("word " * 450, 200)
    assert [count_tokens(p) for p in pieces] == [200, 200, 50]
    chunks = chunk_pages([Page(None, "x" + " longword" * 600)], "text")
    assert all(count_tokens(c.text) <= TARGET_TOKENS + OVERLAP_TOKENS for c in chunks)


def test_parameters_are_recorded():
    assert chunk_params() == {
        "tokenizer": "all-MiniLM-L6-v2 WordPiece", "target_tokens": 200, "overlap_tokens": 30,
        "boundaries": "page > heading > paragraph > sentence",
    }


def test_a_heading_with_no_text_of_its_own_opens_the_next_sections_chunk():
    text = ("TERMS AND CONDITIONS\n\n0. Definitions.\n\n\"This License\" refers to version 3.\n\n"
            "Rejected Ideas\n==============\n\n.. _why-not:\n\nWhy not a marker per line?\n"
            "--------------------------\n\nBecause linters already own that prefix.\n\nNO WARRANTY\n")
    chunks = chunk_pages([Page(None, text)], "text")
    assert [(c.heading, c.text.split("\n")[0]) for c in chunks] == [
        ("0. Definitions", "TERMS AND CONDITIONS"),
        ("Why not a marker per line?", "Rejected Ideas"),
        ("NO WARRANTY", "NO WARRANTY"),  # a bare heading that ends the document is kept, not dropped
    ]
    assert "Because linters already own that prefix." in chunks[1].text
    markdown = chunk_pages([Page(None, "# Guide\n\n## Setup\n\n### Linux\n\nUse apt.\n")], "markdown")
    assert [(c.heading, c.text) for c in markdown] == [("Linux", "# Guide\n\n## Setup\n\n### Linux\n\nUse apt.")]
