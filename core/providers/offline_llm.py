"""The offline answerer: an extractive, grounded responder.

It never writes facts of its own. It splits the retrieved passages into sentences and list
items, scores them against the question (stemmed term overlap weighted by rarity, the
heading they sit under, the passage's retrieval score and the kind of answer the question
asks for), and quotes the best few with [n] markers that match `Source.n`. When nothing
retrieved is relevant it says so plainly.
"""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterator, Sequence

import snowballstemmer

from core.knowledge.answer_types import MONEY, TIME, VERSION, required, unnamed_versions
from core.providers.base import LLM, ChatRequest, Delta, Source, Usage
from core.providers.registry import register_llm

NOT_FOUND = (
    "I couldn't find anything about that in my knowledge base. "
    "Try asking it another way, or add a document that covers it."
)
NO_QUESTION = (
    "Hello! Ask me about anything in my knowledge base and I'll answer with quotes "
    "from my documents, citing each one."
)
CLOSEST = "I couldn't find a clear answer to that in my knowledge base. The closest I have is:"
CLOSEST_ASK = "Is this what you mean? If not, try asking it another way."
CLOSEST_PASSAGES = 2
RELEVANCE_THRESHOLD = 0.45  # for passages without a rerank score: ½ coverage + ½ cosine (README)
RERANK_THRESHOLD = 0.57  # the best passage's rerank score without its document-naming part; chosen with --sweep (README)
NOTHING_COSINE = 0.35  # below this, with no shared term, nothing retrieved is related at all

MAX_WORDS = 120
MAX_UNITS = 6
MAX_LIST = 10
BRIEF_TOKENS = 120  # a request this short (a voice call) gets a brief answer
BRIEF_UNITS, BRIEF_WORDS = 2, 45
PARAGRAPH_WORDS = 80

_STOPWORDS = frozenset("""
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each either else ever few for from further get gets got had
hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just know
let let's like may me might more most much must mustn't my myself need no nor not now of off
on once only or other ought our ours ourselves out over own please really same say shan't she
she'd she'll she's should shouldn't so some such tell than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've thing things this
those through to too under until up upon us very want was wasn't way we we'd we'll we're
we've were weren't what what's whats when when's where where's whether which while who who's
whom whose why why's will with won't would wouldn't yes yet you you'd you'll you're you've
your yours yourself yourselves hi hello hey thanks thank ok okay explain describe give show
take takes bring make makes go goes going use using see find look come put anything something
""".split())

_ABBREVIATIONS = frozenset(
    "e.g i.e mr mrs ms dr prof st sr jr vs etc approx no nos fig vol p pp ca inc ltd co min max".split()
)
_CONTINUATION = re.compile(r"^(it|its|this|these|they|their|that|those|he|she|also|however|but|so|then)\b", re.I)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?", re.UNICODE)
TITLE_WORDS = 8
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_BOLD_HEADING = re.compile(r"^\s*(?:\*\*|__)([^*_]{1,80})(?:\*\*|__)\s*:?\s*$")
_ITEM = re.compile(r"^\s*(?:[-*+•▪◦]|\d{1,3}[.)])\s+(.*)$")
_UNDERLINE = re.compile(r"^\s*([=\-~^*+#])\1{2,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")
_BOUNDARY = re.compile(r"[.!?…]+[\"”’)\]]*\s+(?=[\"“‘(\[]?[A-Z0-9])")
_END_PUNCT = re.compile(r"([.!?…:;]+[\"”’)]*)$")
_INLINE_MD = re.compile(r"(\*\*|__|`|\[([^\]]*)\]\([^)]*\))")

_QUANTITY = re.compile(r"\b\d+(?:[.,]\d+)?\b")
_INTENTS = (
    (re.compile(r"\b(when|what time|hours?|open|opens|opening|close|closes|closing|schedule|days?)\b", re.I), TIME),
    (re.compile(r"\b(how much|cost|costs|price|prices|fee|fees|pay|charge|expensive|cheap)\b", re.I), MONEY),
    (re.compile(r"\b(how many|how long|how far|how high|how big|distance|length|elevation|duration|number of)\b", re.I),
     _QUANTITY),
)

_local = threading.local()


@lru_cache(maxsize=50_000)
def stem(word: str) -> str:
    stemmer = getattr(_local, "stemmer", None)
    if stemmer is None:
        stemmer = _local.stemmer = snowballstemmer.stemmer("english")
    return stemmer.stemWord(word)


def terms(text: str) -> list[str]:
    """Stemmed content words of a text, in order."""
    words = (w.lower().replace("’", "'") for w in _WORD.findall(_INLINE_MD.sub(r"\2", text)))
    return [stem(w.split("'")[0] if w.endswith("'s") else w) for w in words if w not in _STOPWORDS]


# ---------------------------------------------------------------- passages -> units


@dataclass
class Unit:
    """A sentence or list item of one retrieved passage."""

    source: Source
    text: str
    heading: str
    kind: str  # sentence / item
    block: int
    pos: int
    lead: int | None = None  # pos of the sentence that introduces this list ("...:")
    opens_section: bool = False
    body: frozenset = field(default_factory=frozenset)
    head: frozenset = field(default_factory=frozenset)
    score: float = 0.0
    coverage: float = 0.0
    body_coverage: float = 0.0
    similarity: float = 0.0


def split_sentences(paragraph: str) -> list[str]:
    sentences, start = [], 0
    for match in _BOUNDARY.finditer(paragraph):
        before = paragraph[start:match.start()].rsplit(None, 1)
        last = before[-1].lower().rstrip(".") if before else ""
        if last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()):
            continue
        sentences.append(paragraph[start:match.end()].strip())
        start = match.end()
    sentences.append(paragraph[start:].strip())
    return [s for s in sentences if s]


def _join_lines(lines: list[str]) -> str:
    text = ""
    for line in lines:
        line = line.strip()
        if text.endswith("-") and line[:1].islower():
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return text


def _is_title(line: str, following: str) -> bool:
    """A short capitalised line with no closing punctuation, above a line that starts a sentence."""
    line, following = line.strip(), following.strip()
    return (len(line.split()) <= TITLE_WORDS and line[:1].isupper() and following[:1].isupper()
            and not _END_PUNCT.search(line) and not line.endswith(","))


def passage_units(source: Source) -> list[Unit]:
    """Split one passage into units, remembering headings, list blocks and list leads."""
    units: list[Unit] = []
    state = {"heading": source.heading or "", "block": 0, "kind": None, "fresh": False}
    paragraph: list[str] = []

    def add(text: str, kind: str) -> None:
        if kind != state["kind"]:
            state["block"] += 1
            state["kind"] = kind
        lead = None
        if kind == "item" and units and units[-1].kind == "sentence" and units[-1].text.endswith(":"):
            lead = units[-1].pos if units[-1].block == state["block"] - 1 else None
        if kind == "item" and units and units[-1].kind == "item" and units[-1].block == state["block"]:
            lead = units[-1].lead
        units.append(Unit(source, text, state["heading"], kind, state["block"], len(units), lead, state["fresh"]))
        state["fresh"] = False

    def flush() -> None:
        if len(paragraph) > 1 and _is_title(paragraph[0], paragraph[1]):  # a PDF's heading line
            state["heading"], state["kind"], state["fresh"] = paragraph.pop(0).strip(), None, True
        if paragraph:
            for sentence in split_sentences(_join_lines(paragraph)):
                add(sentence, "sentence")
            paragraph.clear()

    lines = source.text.splitlines()
    for i, line in enumerate(lines):
        if _UNDERLINE.match(line):
            continue  # the rule under a reStructuredText heading, taken with the heading's line
        underlined = i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) and len(line.split()) <= 20 and line.strip()
        if underlined:
            flush()
            state["heading"], state["kind"], state["fresh"] = line.strip(), None, True
            continue
        heading = _HEADING.match(line) or _BOLD_HEADING.match(line)
        item = _ITEM.match(line)
        if not line.strip() or _TABLE_RULE.match(line):
            flush()
            state["kind"] = None if not line.strip() else state["kind"]
        elif heading:
            flush()
            state["heading"], state["kind"], state["fresh"] = heading.group(1).strip(), None, True
        elif item:
            flush()
            add(item.group(1).strip(), "item")
        elif line.lstrip().startswith("|"):
            flush()
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            add(" — ".join(cell for cell in cells if cell), "item")
        else:
            paragraph.append(line)
    flush()
    return units


# ---------------------------------------------------------------- scoring


def match(term: str, words: frozenset) -> float:
    """1 for the same stem; 0.8 when one word starts the other (photo / photography)."""
    if term in words:
        return 1.0
    if len(term) >= 4 and any(w.startswith(term) or (len(w) >= 4 and term.startswith(w)) for w in words):
        return 0.8
    return 0.0


# Passages that retrieval reranked come in the order that weighed meaning, term proximity, the
# document named and the heading. Measured on both evaluation sets, trusting that order picked the
# passage that answers more often than embedding every sentence (weight 3, ~190 ms per answer), so
# reranked passages are scored by their place and term coverage, without sentence embeddings.
# Passages without a rerank score (from another caller) are scored by meaning as before.
SEMANTIC_WEIGHT = 3.0  # unranked passages: how much a unit's meaning (cosine to the question) counts
MAX_EMBEDDED = 96
COVERAGE_WEIGHT = 1.0
RANK_WEIGHT = 2.0  # reranked passages: how much the passage's place in the retrieval order counts
TIE_MARGIN = 0.03  # the next passage, when its rerank score is this close to the best one's, is quoted too (a near tie)


def _similarities(question: str, units: list[Unit]) -> list[float] | None:
    """Cosine of each unit (with its heading as context) to the question, by the offline
    embedder; None when it is unavailable (the answer then rests on term coverage alone)."""
    if not units or SEMANTIC_WEIGHT <= 0:
        return None
    try:
        from core.providers.registry import get_embedder

        embedder = get_embedder("minilm")
        texts = [f"{u.heading}: {u.text}" if u.heading else u.text for u in units[:MAX_EMBEDDED]]
        vectors = embedder.embed([question, *texts])
    except Exception:  # noqa: BLE001 - the extractive answer must not fail because of the embedder
        return None
    sims = (vectors[1:] @ vectors[0]).tolist()
    return sims + [0.0] * (len(units) - len(sims))


def score_units(question: str, units: list[Unit], similarity: list[float] | None = None,
                by_rank: bool = False) -> list[str]:
    """Score every unit in place (`by_rank`: the passages' order counts); returns the question's terms."""
    query = list(dict.fromkeys(terms(question)))
    for unit in units:
        unit.body = frozenset(terms(unit.text))
        unit.head = frozenset(terms(unit.heading)) - unit.body
    if not query:
        return query
    body = {id(u): {t: match(t, u.body) for t in query} for u in units}
    head = {id(u): {t: match(t, u.head) for t in query} for u in units}
    n = len(units)
    df = {t: sum(1 for u in units if body[id(u)][t] or head[id(u)][t]) for t in query}
    present = [math.log(1 + n / df[t]) for t in query if df[t]]
    rare = max(present, default=1.0)
    weight = {t: math.log(1 + n / df[t]) if df[t] else rare for t in query}
    total = sum(weight.values())
    intents = [pattern for asks, pattern in _INTENTS if asks.search(question)]
    last = max(u.source.n for u in units)
    for i, unit in enumerate(units):
        unit.similarity = similarity[i] if similarity else 0.0
        in_body = sum(weight[t] * body[id(unit)][t] for t in query)
        in_head = sum(weight[t] * head[id(unit)][t] for t in query if not body[id(unit)][t])
        unit.body_coverage = in_body / total
        unit.coverage = (in_body + 0.7 * in_head) / total
        bonus = 0.15 if any(p.search(unit.text) for p in intents) else 0.0
        words = len(unit.text.split())
        short = 0.1 if words < 4 and unit.kind == "sentence" else 0.0
        long = 0.1 if words > 70 else 0.0
        topic = 0.1 if unit.opens_section and unit.coverage > 0 else 0.0
        rank = RANK_WEIGHT * (1 - (unit.source.n - 1) / max(1, last)) if by_rank else 0.0
        unit.score = (COVERAGE_WEIGHT * unit.coverage + SEMANTIC_WEIGHT * unit.similarity + 0.25 * unit.source.score
                      + rank + bonus + topic - short - long - 0.002 * unit.pos)
    return query


def is_relevant(best: Unit) -> bool:
    """The best unit matches most of the question, or part of it in a passage that is close in meaning."""
    return best.coverage >= 0.5 or (best.coverage >= 0.3 and best.source.score >= 0.35)


# ---------------------------------------------------------------- selection


def _key(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _words(units) -> int:
    return sum(len(u.text.split()) for u in units)


def select_units(ranked: list[Unit], by_source: dict[int, list[Unit]], max_units: int = MAX_UNITS,
                 max_words: int = MAX_WORDS) -> list[Unit]:
    """The best unit, the others close to it, and the context that makes them readable."""
    best = ranked[0]
    chosen: dict[tuple[int, int], Unit] = {}
    seen: set[str] = set()

    def take(unit: Unit) -> bool:
        key = _key(unit.text)
        if (unit.source.n, unit.pos) in chosen or not key or any(key in s or s in key for s in seen):
            return False
        chosen[(unit.source.n, unit.pos)] = unit
        seen.add(key)
        return True

    tied = _tied(ranked, best)
    for unit in ranked:
        if len(chosen) >= max_units or _words(chosen.values()) >= max_words:
            break
        if unit is best or unit is tied or _close_to(unit, best):
            if take(unit):
                _add_context(unit, by_source[unit.source.n], take)
        if unit is best and _section_answers(best) and max_units >= MAX_UNITS:  # a brief answer skips the paragraph
            _add_paragraph(best, by_source[best.source.n], take)
    return sorted(chosen.values(), key=lambda u: (_source_rank(ranked, u.source.n), u.pos))


def _tied(ranked: list[Unit], best: Unit) -> Unit | None:
    """The best unit of the next passage when retrieval could hardly tell it from the best one's."""
    if best.source.rerank <= 0:
        return None
    for unit in ranked:
        if unit.source.n != best.source.n:
            near = best.source.rerank - unit.source.rerank <= TIE_MARGIN and unit.source.n == best.source.n + 1
            return unit if near and unit.coverage > 0 else None
    return None


def _close_to(unit: Unit, best: Unit) -> bool:
    """Worth quoting next to the best unit: nearly as good, and clearly on topic if from elsewhere."""
    if unit.body_coverage < 0.5 * best.coverage and unit.kind == "sentence":
        return False
    if unit.source.n == best.source.n:
        return unit.coverage > 0 and unit.score >= 0.7 * best.score
    close_in_meaning = unit.source.score >= 0.3 or unit.coverage >= 0.8
    return close_in_meaning and unit.coverage >= 0.5 and unit.score >= 0.85 * best.score


def _section_answers(best: Unit) -> bool:
    """The heading, more than the sentence itself, matches the question ("Creating a clone")."""
    return best.kind == "sentence" and best.body_coverage < 0.6 and best.coverage - best.body_coverage >= 0.2


def _add_paragraph(best: Unit, siblings: list[Unit], take) -> None:
    words = len(best.text.split())
    for unit in siblings[best.pos + 1:]:
        words += len(unit.text.split())
        if unit.block != best.block or words > PARAGRAPH_WORDS:
            break
        take(unit)


def _add_context(unit: Unit, siblings: list[Unit], take) -> None:
    if unit.kind == "item":
        block = [u for u in siblings if u.block == unit.block]
        if unit.lead is not None:
            take(siblings[unit.lead])
        if len(block) <= MAX_LIST:
            for item in block:
                take(item)
        return
    following = siblings[unit.pos + 1] if unit.pos + 1 < len(siblings) else None
    if following and following.block == unit.block and _CONTINUATION.match(following.text):
        take(following)
    if unit.text.endswith(":"):
        for item in siblings[unit.pos + 1:]:
            if item.lead != unit.pos:
                break
            take(item)


def _source_rank(ranked: list[Unit], n: int) -> int:
    return next(i for i, u in enumerate(ranked) if u.source.n == n)


# ---------------------------------------------------------------- composing


def _cite(text: str, n: int) -> str:
    """`text [n].` — the marker goes before the closing punctuation."""
    text = text.rstrip()
    match = _END_PUNCT.search(text)
    if not match:
        return f"{text} [{n}]"
    punct = "." if match.group(1).startswith(";") else match.group(1)
    return f"{text[:match.start()]} [{n}]{punct}"


def compose(units: list[Unit]) -> str:
    """Paragraphs of quoted sentences and bullet lists, each ending with its [n]."""
    blocks: list[str] = []
    i = 0
    while i < len(units):
        run = [units[i]]
        while i + len(run) < len(units):
            nxt = units[i + len(run)]
            if nxt.source.n != run[0].source.n or nxt.kind != run[0].kind:
                break
            if nxt.kind == "item" and nxt.block != run[-1].block:
                break
            run.append(nxt)
        i += len(run)
        n = run[0].source.n
        if run[0].kind == "sentence":
            blocks.append(_cite(" ".join(u.text for u in run), n))
        else:
            intro = "" if blocks and blocks[-1].endswith(f"[{n}]:") else _list_intro(run[0], n)
            items = "\n".join(f"- {u.text}" for u in run)
            blocks.append(f"{intro}\n{items}" if intro else items)
    return _attach_leads(blocks)


def _list_intro(item: Unit, n: int) -> str:
    return f"{item.heading} [{n}]:" if item.heading else f"From my notes [{n}]:"


def _attach_leads(blocks: list[str]) -> str:
    """A paragraph that introduces a list ("...:") sits directly above it."""
    text = ""
    for block in blocks:
        if text.endswith(":") and block.startswith("- "):
            text += "\n" + block
        else:
            text += ("\n\n" if text else "") + block
    return text


@dataclass
class Reply:
    """An extractive reply: its text, what kind it is, how sure the answerer was, what it cites."""

    text: str
    kind: str  # answer / closest (candidates, none cleared the bar) / nothing / greeting
    confidence: float = 0.0
    cited: set = field(default_factory=set)


def confidence(best: Unit) -> tuple[float, float]:
    """(how well the best unit answers, the threshold it must clear). Passages that retrieval
    reranked carry their rerank score (meaning, proximity of the question's terms, the document
    named, the heading): the best unit's passage's score, less the part that only says the question
    names its document, is the confidence. (That part says which document, not whether a passage
    answers; it is never there in a clone of one document, whose good answers it would refuse.)
    Otherwise: the unit's
    coverage of the question's terms (heading included) blended with its passage's cosine."""
    if best.source.rerank:
        return best.source.rerank - best.source.named, RERANK_THRESHOLD
    return 0.5 * best.coverage + 0.5 * max(best.similarity, best.source.score), RELEVANCE_THRESHOLD


TYPE_PASSAGES = 3


def lacks_answer_type(question: str, units: list[Unit]) -> bool:
    """The question asks for a date, an amount of money or a size and none of the best passages
    holds one, or it names a version number that no passage mentions: whatever they say, they
    cannot answer it."""
    if VERSION.search(question):
        seen = {u.source.n: " ".join((u.source.text, u.source.heading, u.source.title, u.source.document))
                for u in units}
        if unnamed_versions(question, " ".join(seen.values())):
            return True
    near = set(sorted({u.source.n for u in units})[:TYPE_PASSAGES])
    return any(not any(kind.search(u.text) for u in units if u.source.n in near) for kind in required(question))


def _closest(ranked: list[Unit]) -> list[Unit]:
    """The best unit of each of the two closest passages, for "is this what you mean?"."""
    chosen, seen = [], set()
    for unit in ranked:
        if unit.source.n not in seen:
            chosen.append(unit)
            seen.add(unit.source.n)
        if len(chosen) == CLOSEST_PASSAGES:
            break
    return chosen


def respond(question: str, sources: Sequence[Source], threshold: float | None = None, brief: bool = False) -> Reply:
    """Quote the sentences that best cover the question, each cited; below `threshold` say so
    and show the closest passages instead; with nothing related, say that. `brief` (a voice call)
    quotes fewer sentences."""
    units = [u for source in sources for u in passage_units(source)]
    if not units:
        return Reply(NOT_FOUND, "nothing") if terms(question) else Reply(NO_QUESTION, "greeting")
    if not terms(question):
        return Reply(NO_QUESTION, "greeting")
    reranked = any(source.rerank for source in sources)
    similarity = None if reranked else _similarities(question, units)
    score_units(question, units, similarity, by_rank=reranked)
    ranked = sorted(units, key=lambda u: u.score, reverse=True)
    best = ranked[0]
    sure, bar = confidence(best)
    threshold = bar if threshold is None else threshold
    if sure < threshold or lacks_answer_type(question, units):
        closeness = max(similarity) if similarity else max(u.source.score for u in units)
        if all(u.coverage <= 0 for u in units) and closeness < NOTHING_COSINE:
            return Reply(NOT_FOUND, "nothing", sure)
        closest = _closest(ranked)
        quotes = "\n".join(f"> {_cite(u.text, u.source.n)}" for u in closest)
        return Reply(f"{CLOSEST}\n\n{quotes}\n\n{CLOSEST_ASK}", "closest", sure, {u.source.n for u in closest})
    by_source: dict[int, list[Unit]] = {}
    for unit in units:
        by_source.setdefault(unit.source.n, []).append(unit)
    limits = (BRIEF_UNITS, BRIEF_WORDS) if brief else (MAX_UNITS, MAX_WORDS)
    chosen = select_units(ranked, by_source, *limits)
    return Reply(compose(chosen), "answer", sure, {u.source.n for u in chosen})


def extractive_answer(question: str, sources: Sequence[Source], brief: bool = False) -> str:
    return respond(question, sources, brief=brief).text


def pieces(text: str) -> Iterator[str]:
    """Small streaming pieces: one word with its following whitespace at a time."""
    yield from re.findall(r"\S+\s*|\s+", text)


@register_llm
class ExtractiveLLM(LLM):
    name = "offline"
    label = "Offline (extractive)"
    offline = True
    default_model = "extractive"
    models = ("extractive",)

    def stream(self, request: ChatRequest) -> Iterator[Delta | Usage]:
        from core.tokens import count_tokens

        brief = request.max_tokens <= BRIEF_TOKENS
        answer = extractive_answer(request.question or _last_user(request.messages), request.sources, brief)
        for piece in pieces(answer):
            yield Delta(piece)
        prompt = "\n".join(str(m.get("content", "")) for m in request.messages)
        yield Usage(input_tokens=count_tokens(prompt), output_tokens=count_tokens(answer))


def _last_user(messages: list[dict]) -> str:
    return next((m.get("content", "") for m in reversed(messages) if m.get("role") == "user"), "")


def is_refusal(text: str) -> bool:
    """Both "nothing matched" and "the closest I have is …" are refusals to answer."""
    return text.startswith(NOT_FOUND) or text.startswith(CLOSEST)
