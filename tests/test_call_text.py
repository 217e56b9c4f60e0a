"""Plain functions of a call's text: the sentence chunker, text cleaned for speech, barge-in verdicts."""
from __future__ import annotations

from core.call.chunker import Chunker, chunk_text
from core.call.session import barge_in_verdict, is_backchannel, is_echo
from core.call.speakable import for_speech


def test_the_first_piece_goes_at_the_first_sentence_end():
    chunker = Chunker()
    assert chunker.feed("The bakery opens at seven") == []
    assert chunker.feed(". It closes at six") == ["The bakery opens at seven."]
    assert chunker.flush() == ["It closes at six"]


def test_the_first_piece_goes_at_a_comma_after_forty_characters_not_before():
    chunker = Chunker()
    assert chunker.feed("Yes, the bakery is open, ") == []  # commas before 40 characters wait
    assert chunker.feed("from seven in the morning on weekdays, and later ") == [
        "Yes, the bakery is open, from seven in the morning on weekdays,"
    ]
    assert chunker.feed("on weekends. ") == ["and later on weekends."]
    assert chunker.feed("Yes. ") == []  # a later piece waits for 20 characters
    assert chunker.feed("It is. ") == []
    assert chunker.flush() == ["Yes. It is."]


def test_every_completed_sentence_is_dispatched_in_the_tick_it_completes():
    chunker = Chunker()
    assert chunker.feed("First sentence is here. ") == ["First sentence is here."]
    assert chunker.feed("The second one is here too. The third one follows now. And ") == [
        "The second one is here too.", "The third one follows now."
    ]


def test_abbreviations_decimals_urls_and_emails_are_not_sentence_ends():
    pieces = chunk_text("Dr. Ruiz charges 3.5 euros, e.g. for a loaf. See www.example.com/menu.html or "
                        "write to info@example.com for more. Thanks for asking!")
    assert pieces == ["Dr. Ruiz charges 3.5 euros, e.g. for a loaf.",
                      "See www.example.com/menu.html or write to info@example.com for more.", "Thanks for asking!"]


def test_lists_become_spoken_pieces_without_markup():
    pieces = chunk_text("The rules:\n\n- **Wash** your hands [1]\n- Wear a hairnet [2]\n\nThat is all.")
    assert pieces == ["The rules:", "Wash your hands, Wear a hairnet", "That is all."]


def test_a_very_long_sentence_is_cut_at_a_clause_before_250_characters():
    text = ("This trail climbs through the pine forest " * 8).strip() + ", and then it runs along the ridge " * 3 + "."
    assert all(len(piece) <= 250 for piece in chunk_text(text))


def test_text_for_speech_drops_markdown_citations_urls_and_emoji():
    assert for_speech("**Open** from *7:00* [1] 🍞 to `18:00` [2, 3]. See [the menu](http://x.test/m) 😀") == \
        "Open from 7:00 to 18:00. See the menu"
    assert for_speech("## Hours\n| Day | Open |\n|---|---|\n| Mon | closed |") == "Hours Day Open Mon closed"
    assert for_speech("Details at https://example.com/a/b?c=1 today") == "Details at example.com today"


def test_backchannels_and_the_clones_own_words_resume_the_answer_and_real_speech_interrupts():
    spoken = ["The bakery is open from seven to six on weekdays."]
    assert is_backchannel("Mhm.") and is_backchannel("Okay, yeah.") and is_backchannel("")
    assert not is_backchannel("Stop, what about Sundays?")
    assert is_echo("open from seven to six", spoken) and not is_echo("what about the trail", spoken)
    assert barge_in_verdict("uh huh", spoken) == "resume"
    assert barge_in_verdict("the bakery is open from seven", spoken) == "resume"
    assert barge_in_verdict("Wait, tell me about the trail instead.", spoken) == "interrupt"
