from core.tokens import count_tokens, tail_tokens, truncate_tokens


def test_count_tokens_uses_wordpiece_without_special_tokens():
    assert count_tokens("") == 0
    assert count_tokens("hello") == 1
    assert count_tokens("Hello world, this is a test.") == 8
    assert count_tokens("tokenisation") == 2  # token + ##isation


def test_long_text_is_counted_whole_not_truncated():
    assert count_tokens("word " * 1000) == 1000


def test_truncate_cuts_at_a_token_end():
    text = "Hello world, this is a test."
    assert truncate_tokens(text, 2) == "Hello world"
    assert truncate_tokens(text, 3) == "Hello world,"
    assert truncate_tokens(text, 100) == text
    assert truncate_tokens(text, 0) == ""
    assert count_tokens(truncate_tokens("word " * 500, 256)) == 256


def test_tail_keeps_the_end():
    assert tail_tokens("one two three four", 2) == "three four"
    assert tail_tokens("one two", 5) == "one two"
