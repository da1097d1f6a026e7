from __future__ import annotations

import random
import re

import pytest

from dockyard.tracking import names
from dockyard.tracking.names import random_run_name
from dockyard.tracking.validation import MAX_RUN_NAME_LENGTH, check_key

PATTERN = re.compile(r"([a-z]+)-([a-z]+)-(\d{1,3})")


def test_word_lists_are_lowercase_unique_and_nonempty() -> None:
    for words in (names._ADJECTIVES, names._NOUNS):
        assert len(words) >= 50
        assert len(set(words)) == len(words)
        assert all(re.fullmatch(r"[a-z]+", w) for w in words)


def test_example_words_from_the_docstring_exist() -> None:
    assert "brave" in names._ADJECTIVES
    assert "otter" in names._NOUNS


@pytest.mark.parametrize("seed", range(20))
def test_shape_of_a_name(seed: int) -> None:
    name = random_run_name(random.Random(seed))
    match = PATTERN.fullmatch(name)
    assert match is not None, name
    adjective, noun, number = match.groups()
    assert adjective in names._ADJECTIVES
    assert noun in names._NOUNS
    assert 0 <= int(number) <= 999
    assert str(int(number)) == number  # no zero padding


@pytest.mark.parametrize("seed", [0, 1, 42, 2**32])
def test_seeded_rng_is_deterministic(seed: int) -> None:
    assert random_run_name(random.Random(seed)) == random_run_name(random.Random(seed))


def test_seeded_rng_matches_choice_choice_randint() -> None:
    expected_rng = random.Random(7)
    expected = (
        f"{expected_rng.choice(names._ADJECTIVES)}-{expected_rng.choice(names._NOUNS)}-{expected_rng.randint(0, 999)}"
    )
    assert random_run_name(random.Random(7)) == expected


def test_rng_is_consumed_so_consecutive_names_differ() -> None:
    rng = random.Random(3)
    generated = [random_run_name(rng) for _ in range(50)]
    assert len(set(generated)) > 45


def test_default_rng_gives_varied_valid_names() -> None:
    generated = {random_run_name() for _ in range(200)}
    assert len(generated) > 150  # ~ 60 * 60 * 1000 combinations
    assert all(PATTERN.fullmatch(n) for n in generated)


def test_default_rng_is_not_affected_by_global_seed() -> None:
    random.seed(123)
    first = [random_run_name() for _ in range(5)]
    random.seed(123)
    second = [random_run_name() for _ in range(5)]
    assert first != second


@pytest.mark.parametrize("seed", range(10))
def test_names_are_valid_run_names_and_keys(seed: int) -> None:
    name = random_run_name(random.Random(seed))
    assert len(name) <= MAX_RUN_NAME_LENGTH
    assert check_key(name, "run name") == name


def test_all_numbers_reachable() -> None:
    class Fixed(random.Random):
        def __init__(self, number: int) -> None:
            super().__init__(0)
            self.number = number

        def randint(self, a: int, b: int) -> int:
            assert (a, b) == (0, 999)
            return self.number

    assert random_run_name(Fixed(0)).endswith("-0")
    assert random_run_name(Fixed(999)).endswith("-999")
