"""The offline extractive answerer: grounded, cited, streamed, honest when nothing fits."""
from __future__ import annotations

import re

from core.providers import get_llm
from core.providers.base import ChatRequest, Delta, Source, Usage
from core.providers.offline_llm import NOT_FOUND, extractive_answer, passage_units, split_sentences

HOURS = Source(
    n=1, document="bakery.md", page=None, score=0.62, heading="",
    text=(
        "## Opening hours\n\nThe bakery is open from 7:00 to 18:00, Tuesday to Friday. "
        "It is closed on Mondays, when the ovens are serviced.\n\n"
        "## Orders\n\nCustom cakes must be ordered three days in advance."
    ),
)
TRAIL = Source(
    n=2, document="trail.pdf", page=4, score=0.31,
    text="The trail is 12 kilometres long. Dogs must be kept on a lead from April to July.",
)
PRICES = Source(
    n=3, document="prices.md", page=None, score=0.4,
    text="Prices for bread:\n- Rye loaf: 4.50 euros\n- Cardamom bun: 2 euros\n\nPrices change in January.",
)


def _stream(question: str, sources) -> tuple[list, str]:
    request = ChatRequest(
        messages=[{"role": "system", "content": "sources"}, {"role": "user", "content": question}],
        model="extractive", question=question, sources=sources,
    )
    events = list(get_llm("offline").stream(request))
    return events, "".join(e.text for e in events if isinstance(e, Delta))


def test_answers_with_the_most_relevant_sentence_and_its_marker():
    answer = extractive_answer("What are the bakery's opening hours?", [TRAIL, HOURS])
    assert "open from 7:00 to 18:00" in answer
    assert "[1]" in answer
    assert "[2]" not in answer
    assert "Custom cakes" not in answer


def test_a_following_sentence_that_continues_the_thought_comes_along():
    answer = extractive_answer("When is the bakery open?", [HOURS])
    assert "closed on Mondays" in answer


def test_quotes_are_verbatim_text_from_the_sources():
    answer = extractive_answer("How long is the trail?", [HOURS, TRAIL])
    quoted = re.sub(r"\s*\[\d+\]", "", answer)
    assert quoted in TRAIL.text
    assert answer.endswith("[2].")


def test_list_items_are_answered_as_a_list_with_their_lead():
    answer = extractive_answer("How much is a rye loaf?", [PRICES])
    assert "- Rye loaf: 4.50 euros" in answer
    assert "Prices for bread [3]:" in answer


def test_nothing_relevant_says_so_instead_of_inventing():
    assert extractive_answer("What is the capital of Mongolia?", [HOURS, TRAIL]) == NOT_FOUND
    assert extractive_answer("What are the opening hours?", []) == NOT_FOUND


def test_a_greeting_gets_an_invitation_not_a_quote():
    answer = extractive_answer("Hello!", [HOURS])
    assert "[1]" not in answer
    assert "knowledge base" in answer


def test_stream_is_small_pieces_then_usage_with_token_counts():
    events, text = _stream("When is the bakery open?", [HOURS])
    deltas = [e for e in events if isinstance(e, Delta)]
    assert len(deltas) > 5
    assert all(len(d.text.split()) <= 1 for d in deltas)
    assert isinstance(events[-1], Usage)
    assert events[-1].input_tokens > 0
    assert events[-1].output_tokens > 0
    assert "7:00" in text


def test_falls_back_to_the_last_user_message_when_no_question_is_given():
    request = ChatRequest(messages=[{"role": "user", "content": "How long is the trail?"}],
                          model="extractive", sources=[TRAIL])
    text = "".join(e.text for e in get_llm("offline").stream(request) if isinstance(e, Delta))
    assert "12 kilometres" in text


def test_sentence_splitting_respects_abbreviations_and_initials():
    assert split_sentences("Bring water, e.g. two litres. Ask Dr. Berg or J. Smith. Done!") == [
        "Bring water, e.g. two litres.", "Ask Dr. Berg or J. Smith.", "Done!",
    ]


def test_pdf_lines_are_joined_into_sentences():
    source = Source(n=1, document="a.pdf", page=1, score=0.5,
                    text="The shelter is two kilo-\nmetres before the car\npark. It has a table.")
    units = passage_units(source)
    assert [u.text for u in units] == ["The shelter is two kilometres before the car park.", "It has a table."]


def test_registered_as_the_offline_provider():
    llm = get_llm("offline")
    assert llm.offline is True
    assert llm.default_model == "extractive"


def test_word_forms_match_by_prefix():
    museum = Source(n=1, document="museum.pdf", page=2, score=0.3,
                    text="The east wing holds the paintings. Photography without flash is allowed in every gallery.")
    assert extractive_answer("Can I take photos?", [museum]) == "Photography without flash is allowed in every gallery [1]."


def test_a_generic_verb_alone_is_not_a_match():
    assert extractive_answer("Can I take photos?", [TRAIL, HOURS]) == NOT_FOUND


def test_a_section_whose_heading_answers_is_quoted_as_a_paragraph():
    guide = Source(n=1, document="guide.md", page=None, score=0.6, text=(
        "## Creating a clone\n\nOpen the Clones page and choose New clone. A clone needs a name. "
        "The system prompt can be edited later.\n\n## Chatting\n\nEach clone has threads."))
    answer = extractive_answer("How do I create a clone?", [guide])
    assert answer == ("Open the Clones page and choose New clone. A clone needs a name. "
                      "The system prompt can be edited later [1].")


def test_a_weak_match_in_another_passage_is_left_out():
    rules = Source(n=3, document="bakery.md", page=None, score=0.05,
                   text="The kitchen cannot rule out cross-contact with wheat flour.")
    answer = extractive_answer("What are the rules for dogs?", [TRAIL, rules])
    assert "lead from April to July [2]" in answer and "[3]" not in answer and "wheat" not in answer


def test_a_pdf_title_line_is_a_heading_not_part_of_the_quote():
    pdf = Source(1, "observatory.pdf", 3, "The great telescope\nThe telescope mirror is 4 metres wide and was cast in 1998.", 0.7)
    answer = extractive_answer("How wide is the telescope mirror?", [pdf])
    assert answer.startswith("The telescope mirror is 4 metres wide")
    wrapped = Source(2, "notes.pdf", 1, "Staff get twenty-five days of annual leave each\nyear, and five can be carried over.", 0.7)
    assert "each year" in extractive_answer("How many days of annual leave do staff get?", [wrapped])
