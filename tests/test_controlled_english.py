"""The translator from ProofWriter's and PrOntoQA's controlled English to formulas."""

from __future__ import annotations

import pytest

from fcdistill.functions.fol import decide, parse_formula
from fcdistill.tasks.controlled_english import (
    Untranslatable,
    singular,
    split_sentences,
    statement,
    third_person,
    translate,
    translate_text,
)

FORMS = [
    # facts
    ("Anne is big.", "Big(anne)"),
    ("Dave is not nice.", "~Nice(dave)"),
    ("The bald eagle is round.", "Round(bald_eagle)"),
    ("The cow likes the lion.", "Likes(cow, lion)"),
    ("The rabbit does not eat the tiger.", "~Eats(rabbit, tiger)"),
    ("The bald eagle chases the cat.", "Chases(bald_eagle, cat)"),
    ("Max is a yumpus.", "Yumpus(max)"),
    ("Alex is not an impus.", "~Impus(alex)"),
    # rules about something / someone
    ("If something is big then it is furry.", "forall x (Big(x) -> Furry(x))"),
    ("If something is kind and not green then it is rough.", "forall x (Kind(x) & ~Green(x) -> Rough(x))"),
    ("If someone is round then they are not white.", "forall x (Round(x) -> ~White(x))"),
    (
        "If someone is red and they chase the rabbit then they are round.",
        "forall x (Red(x) & Chases(x, rabbit) -> Round(x))",
    ),
    ("If someone is smart and kind then they are round.", "forall x (Smart(x) & Kind(x) -> Round(x))"),
    (
        "If something likes the squirrel then the squirrel likes the rabbit.",
        "forall x (Likes(x, squirrel) -> Likes(squirrel, rabbit))",
    ),
    (
        "If something visits the cow and the cow is blue then the cow visits the squirrel.",
        "forall x (Visits(x, cow) & Blue(cow) -> Visits(cow, squirrel))",
    ),
    (
        "If someone is cold and they visit the bear then the bear does not need the squirrel.",
        "forall x (Cold(x) & Visits(x, bear) -> ~Needs(bear, squirrel))",
    ),
    (
        "If something needs the dog then it does not chase the bald eagle.",
        "forall x (Needs(x, dog) -> ~Chases(x, bald_eagle))",
    ),
    # rules about named things: no variable
    ("If Fiona is blue then Fiona is not kind.", "Blue(fiona) -> ~Kind(fiona)"),
    ("If the tiger is red then the tiger needs the bear.", "Red(tiger) -> Needs(tiger, bear)"),
    ("If Gary is round and Gary is not young then Gary is not rough.", "Round(gary) & ~Young(gary) -> ~Rough(gary)"),
    # generic sentences
    ("All smart people are cold.", "forall x (Smart(x) -> Cold(x))"),
    ("Big people are young.", "forall x (Big(x) -> Young(x))"),
    ("All rough, green people are nice.", "forall x (Rough(x) & Green(x) -> Nice(x))"),
    ("Red, cold things are round.", "forall x (Red(x) & Cold(x) -> Round(x))"),
    ("All kind people are not red.", "forall x (Kind(x) -> ~Red(x))"),
    ("Each yumpus is aggressive.", "forall x (Yumpus(x) -> Aggressive(x))"),
    ("Every wumpus is an impus.", "forall x (Wumpus(x) -> Impus(x))"),
    ("Each numpus is not a dumpus.", "forall x (Numpus(x) -> ~Dumpus(x))"),
    ("Jompuses are not shy.", "forall x (Jompus(x) -> ~Shy(x))"),
    ("Impuses are tumpuses.", "forall x (Impus(x) -> Tumpus(x))"),
    ("Dumpuses are not wumpuses.", "forall x (Dumpus(x) -> ~Wumpus(x))"),
]


@pytest.mark.parametrize(("sentence", "formula"), FORMS)
def test_each_form_translates(sentence, formula):
    assert translate(sentence) == formula
    parse_formula(formula)  # and the project's parser reads what it writes


@pytest.mark.parametrize(
    "sentence",
    [
        "",
        "The cat sat.",  # a verb without an object
        "Someone is big.",  # a statement about something unnamed outside a rule
        "If something is big then.",
        "Anne is very big.",  # two words after the copula
        "Anne is a big cat.",
        "The rabbit does eat the tiger.",
        "If something is big then the.",
    ],
)
def test_sentences_outside_the_language_are_refused_by_name(sentence):
    with pytest.raises(Untranslatable):
        translate(sentence)


def test_words():
    assert [singular(w) for w in ["wumpuses", "impuses", "ponies", "cats", "impus", "glass"]] == [
        "wumpus",
        "impus",
        "pony",
        "cat",
        "impus",
        "glass",
    ]
    assert [third_person(w) for w in ["chase", "see", "need", "fly", "push"]] == [
        "chases",
        "sees",
        "needs",
        "flies",
        "pushes",
    ]
    assert split_sentences(" Anne is big.  If Anne is big then Anne is red. ") == [
        "Anne is big.",
        "If Anne is big then Anne is red.",
    ]
    asked = "Based on the above information, is the following statement true, false, or unknown? The cow is blue."
    assert statement(asked) == "The cow is blue."
    with pytest.raises(Untranslatable):
        statement("Is it?")


def test_a_translated_problem_proves_what_it_says():
    context = (
        "The cow is blue. The cow likes the lion. If something likes the lion then it is nice. "
        "If something is nice and blue then it does not visit the tiger. Nice people are round."
    )
    premises = [parse_formula(f) for f in translate_text(context)]
    for asked, label in [
        ("The cow is round.", "True"),
        ("The cow visits the tiger.", "False"),
        ("The lion is round.", "Uncertain"),
    ]:
        assert decide(premises, parse_formula(translate(asked))).label == label
