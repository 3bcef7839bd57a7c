"""Controlled English to formulas: the sentence forms of ProofWriter and PrOntoQA.

Both sets are written from templates in a small language. This module reads that language
and writes this project's ASCII formulas, in the conventions folgen's gold chains use
(`Big(anne)`, `Likes(x, cow)`, `forall x (Wumpus(x) -> Impus(x))`), so that a
ProofWriter or PrOntoQA problem gets a gold chain replayed through Premises -> Check like
any model's. It makes training targets and measures coverage; the model never calls it.

The forms read (S is something, someone, it, they, a name such as Anne, or the cow):

    facts       S is [not] big [and ...].  S is [not] a wumpus.  S [does not] like(s) the cow.
    rules       If CLAUSES then CLAUSES.   (clauses joined by "and"; "something"/"someone"
                quantifies, "it"/"they" refer back; a rule about named things has no variable)
    generic     [All] big, round things|people are [not] kind.
                Each|Every wumpus is [not] an impus|kind.   Wumpuses are [not] impuses|kind.

A sentence outside these forms raises `Untranslatable`, naming it; nothing is guessed.
"""

from __future__ import annotations

import re

VARIABLE = "x"
QUANTIFYING = {"something", "someone", "everything", "everyone"}
PRONOUNS = {"it", "they"}
COPULAS = {"is", "are"}
AUXILIARIES = {"does", "do"}
KEYWORDS = {"if", "then", "all", "each", "every", "and", "not", "the", "a", "an"}
_IF = re.compile(r"if (.+?) then (.+)", re.I | re.S)
_EACH = re.compile(r"(?:each|every) (\w+) (is .+)", re.I)
_ALL = re.compile(r"(?:all )?(.+?) (things|people) (are .+)", re.I)
_PLURAL_GENERIC = re.compile(r"(?:all )?([a-z]+) (are .+)", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PIECES = re.compile(r",\s*(?:and\s+)?|\s+and\s+")


class Untranslatable(ValueError):
    """A sentence outside the controlled language."""


def split_sentences(text: str) -> list[str]:
    """'A is b. If c then d.' -> ['A is b.', 'If c then d.']."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def singular(noun: str) -> str:
    """'wumpuses' -> 'wumpus', 'ponies' -> 'pony', 'cats' -> 'cat'."""
    noun = noun.lower()
    if noun.endswith(("uses", "sses", "shes", "ches", "xes", "zes")):
        return noun[:-2]
    if noun.endswith("ies") and len(noun) > 4:
        return noun[:-3] + "y"
    if noun.endswith("s") and not noun.endswith(("us", "ss")):
        return noun[:-1]
    return noun


def third_person(verb: str) -> str:
    """The predicate name of a relation is its third-person form: 'chase' -> 'chases'."""
    verb = verb.lower()
    if verb.endswith(("s", "sh", "ch", "x", "z")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def predicate(word: str) -> str:
    return word[:1].upper() + word[1:].lower()


def constant(words: list[str]) -> str:
    """'Anne' -> anne, 'bald eagle' -> bald_eagle."""
    return "_".join(w.lower() for w in words)


def literal(name: str, args: list[str], positive: bool) -> str:
    atom = f"{name}({', '.join(args)})"
    return atom if positive else f"~{atom}"


def _subject(words: list[str]) -> tuple[str, list[str]] | None:
    """(term, the rest) when `words` opens with a subject, else None (a continuation such as
    'not red' after 'is big and')."""
    head = words[0].lower()
    if head in QUANTIFYING or head in PRONOUNS:
        return VARIABLE, words[1:]
    if head == "the":
        end = 1  # the noun phrase runs to the verb: a copula, an auxiliary, or a third-person verb
        while end < len(words) and not (
            words[end].lower() in COPULAS | AUXILIARIES or (end > 1 and words[end].lower().endswith("s"))
        ):
            end += 1
        if end == 1 or end == len(words):
            return None
        return constant(words[1:end]), words[end:]
    if _is_name(words[0]) and len(words) > 1 and _is_verb(words[1]):
        return constant(words[:1]), words[1:]
    return None


def _is_name(word: str) -> bool:
    return word.isalpha() and word[:1].isupper() and word.lower() not in KEYWORDS


def _is_verb(word: str) -> bool:
    """A copula, an auxiliary or a third-person verb: what follows a singular subject."""
    return word.lower() in COPULAS | AUXILIARIES or (word.isalpha() and word.islower() and word.endswith("s"))


def _object(words: list[str], sentence: str) -> str:
    """'the cow' / 'the bald eagle' / 'Anne' -> a constant."""
    if words and words[0].lower() == "the" and 2 <= len(words) <= 3 and all(w.isalpha() for w in words[1:]):
        return constant(words[1:])
    if len(words) == 1 and _is_name(words[0]):
        return constant(words)
    raise Untranslatable(f"expected 'the NOUN' or a name as the object in {sentence!r}, got {' '.join(words)!r}")


def _predicates(subject: str, copula: str, rest: list[str], sentence: str) -> list[str]:
    """'is not big' / 'are kind' / 'is a wumpus' / 'are not wumpuses' -> literals on `subject`."""
    positive = True
    if rest and rest[0].lower() == "not":
        positive, rest = False, rest[1:]
    if not rest:
        raise Untranslatable(f"nothing after '{copula}' in {sentence!r}")
    if rest[0].lower() in ("a", "an"):
        if len(rest) != 2:
            raise Untranslatable(f"expected one noun after '{rest[0]}' in {sentence!r}")
        return [literal(predicate(rest[1]), [subject], positive)]
    if len(rest) != 1:
        raise Untranslatable(f"expected one word after '{copula}' in {sentence!r}, got {' '.join(rest)!r}")
    word = singular(rest[0]) if copula == "are" and rest[0].lower().endswith("s") else rest[0]
    return [literal(predicate(word), [subject], positive)]


def _verb_phrase(subject: str, words: list[str], sentence: str) -> tuple[list[str], str | None]:
    """Literals of one clause's predicate, and its copula (for a continuation like 'and not red')."""
    if not words:
        raise Untranslatable(f"a subject without a verb in {sentence!r}")
    head = words[0].lower()
    if head in COPULAS:
        return _predicates(subject, head, words[1:], sentence), head
    positive = True
    if head in AUXILIARIES:
        if len(words) < 3 or words[1].lower() != "not":
            raise Untranslatable(f"expected '{head} not VERB' in {sentence!r}")
        positive, words = False, words[2:]
        verb = third_person(words[0])
    else:
        verb = words[0].lower() if subject != VARIABLE or head.endswith("s") else third_person(head)
        if subject != VARIABLE and not verb.endswith("s"):
            verb = third_person(verb)
    return [literal(predicate(verb), [subject, _object(words[1:], sentence)], positive)], None


def clauses(text: str, sentence: str) -> tuple[list[str], bool]:
    """'something is big and not red and it likes the cow' -> its literals, and whether the
    variable occurs. Pieces split at 'and' and commas; a piece without a subject continues
    the previous clause's copula ('is big and not red')."""
    literals: list[str] = []
    subject, copula = None, None
    uses_variable = False
    for piece in _PIECES.split(text.strip()):
        words = piece.split()
        if not words:
            raise Untranslatable(f"an empty clause in {sentence!r}")
        opened = _subject(words)
        if opened is not None:
            subject, rest = opened
            uses_variable |= subject == VARIABLE
            found, copula = _verb_phrase(subject, rest, sentence)
        elif subject is not None and copula is not None:
            found = _predicates(subject, copula, words, sentence)
        else:
            raise Untranslatable(f"no subject for {piece!r} in {sentence!r}")
        literals += found
    return literals, uses_variable


def _conjunction(literals: list[str]) -> str:
    return " & ".join(literals)


def _rule(conditions: list[str], results: list[str], quantified: bool) -> str:
    body = f"{_conjunction(conditions)} -> {_conjunction(results)}"
    return f"forall {VARIABLE} ({body})" if quantified else body


def _adjectives(text: str, sentence: str) -> list[str]:
    """'big, round' / 'big and round' -> [Big(x), Round(x)]."""
    found = []
    for word in _PIECES.split(text.strip()):
        if not re.fullmatch(r"[A-Za-z]+", word):
            raise Untranslatable(f"expected adjectives before things/people in {sentence!r}, got {text!r}")
        found.append(literal(predicate(word), [VARIABLE], True))
    return found


def translate(sentence: str) -> str:
    """One sentence of the controlled language -> one formula (ASCII)."""
    text = sentence.strip().rstrip(".").strip()
    if not text:
        raise Untranslatable("an empty sentence")
    if match := _IF.fullmatch(text):
        conditions, in_condition = clauses(match[1], sentence)
        results, in_result = clauses(match[2], sentence)
        return _rule(conditions, results, in_condition or in_result)
    if match := _EACH.fullmatch(text):
        results, _ = clauses(f"it {match[2]}", sentence)
        return _rule([literal(predicate(match[1]), [VARIABLE], True)], results, True)
    if match := _ALL.fullmatch(text):
        results, _ = clauses(f"they {match[3]}", sentence)
        return _rule(_adjectives(match[1], sentence), results, True)
    if (match := _PLURAL_GENERIC.fullmatch(text)) and match[1].lower() not in QUANTIFYING | PRONOUNS:
        results, _ = clauses(f"they {match[2]}", sentence)
        return _rule([literal(predicate(singular(match[1])), [VARIABLE], True)], results, True)
    literals, uses_variable = clauses(text, sentence)
    if uses_variable:
        raise Untranslatable(f"a statement about something unnamed outside a rule: {sentence!r}")
    return _conjunction(literals)


def translate_text(text: str) -> list[str]:
    """Every sentence of a context, in order, one formula each."""
    return [translate(s) for s in split_sentences(text)]


def statement(question: str) -> str:
    """The statement a ProofWriter / PrOntoQA question asks about: the text after its last '?'
    ('Based on the above information, is the following statement true, false, or unknown? The
    tiger is not young.' -> 'The tiger is not young.')."""
    asked = question.rsplit("?", 1)[-1].strip()
    if not asked:
        raise Untranslatable(f"no statement after the question in {question!r}")
    return asked
