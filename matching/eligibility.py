"""Which mentors may take a request, with what score and why.

Scores are small integers so that the assignment can rank them exactly:
an exact topic (or a synonym) scores 10, a related topic 6; for
informational interviews a mentor whose title names the role, or who offers
the role as a program topic, scores 10, and one with a matching tag 8.
Under the "other-preferred" site rule a mentor at another site gets 2 more.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from matching.model import Mentor, ProgramRules, Request

logger = logging.getLogger(__name__)

EXACT_SCORE = 10
SYNONYM_SCORE = 10
RELATED_SCORE = 6
TITLE_SCORE = 10
TAG_SCORE = 8
OTHER_SITE_BONUS = 2
MAX_SCORE = max(EXACT_SCORE, TITLE_SCORE) + OTHER_SITE_BONUS


def normalise(text: str) -> str:
    """Casefold text and collapse spaces, to compare topics, titles and tags."""
    return " ".join(text.casefold().split())


@dataclass(frozen=True, slots=True)
class TopicFit:
    """A mentor's fit for a request's topic: score and the sentence saying why."""

    score: int
    reason: str


class TopicIndex:
    """Mentors by normalised topic, title and tag, with synonym groups."""

    def __init__(self, mentors: Sequence[Mentor], rules: ProgramRules) -> None:
        self.by_topic: dict[str, list[int]] = {}
        self.by_title: dict[str, list[int]] = {}
        self.by_tag: dict[str, list[int]] = {}
        for index, mentor in enumerate(mentors):
            for topic in mentor.topics:
                self.by_topic.setdefault(normalise(topic), []).append(index)
            if mentor.title:
                self.by_title.setdefault(normalise(mentor.title), []).append(index)
            for tag in mentor.tags:
                self.by_tag.setdefault(normalise(tag), []).append(index)

        self.synonyms = _group_lookup(rules.synonyms)
        self.related = _group_lookup(rules.related)
        self.informational = rules.kind == "informational"
        self.mentors = mentors

    def fits(self, wanted: str) -> dict[int, TopicFit]:
        """Return the best fit of every mentor that fits ``wanted``."""
        key = normalise(wanted)
        if self.informational:
            return self._role_fits(key, wanted)

        found: dict[int, TopicFit] = {}
        for index in self.by_topic.get(key, ()):
            found[index] = TopicFit(EXACT_SCORE, f"Both work on {wanted}.")
        self._add_group(
            found, key, wanted, self.synonyms, SYNONYM_SCORE, "a synonym of"
        )
        self._add_group(
            found, key, wanted, self.related, RELATED_SCORE, "a topic related to"
        )
        return found

    def _add_group(
        self,
        found: dict[int, TopicFit],
        key: str,
        wanted: str,
        groups: dict[str, frozenset[str]],
        score: int,
        relation: str,
    ) -> None:
        for other in sorted(groups.get(key, frozenset()) - {key}):
            for index in self.by_topic.get(other, ()):
                if index in found and found[index].score >= score:
                    continue
                mentor_topic = _original_topic(self.mentors[index], other)
                reason = f"Mentor works on {mentor_topic}, {relation} {wanted}."
                found[index] = TopicFit(score, reason)

    def _role_fits(self, key: str, wanted: str) -> dict[int, TopicFit]:
        found: dict[int, TopicFit] = {}
        for index in self.by_tag.get(key, ()):
            found[index] = TopicFit(TAG_SCORE, f"Mentor is tagged {wanted}.")
        for index in self.by_topic.get(key, ()):
            role = _original_topic(self.mentors[index], key)
            found[index] = TopicFit(TITLE_SCORE, f"Mentor offers {role} interviews.")
        for index in self.by_title.get(key, ()):
            title = self.mentors[index].title
            found[index] = TopicFit(TITLE_SCORE, f"Mentor works as {title}.")
        return found


def _group_lookup(groups: Sequence[frozenset[str]]) -> dict[str, frozenset[str]]:
    lookup: dict[str, set[str]] = {}
    for group in groups:
        members = {normalise(word) for word in group}
        for member in members:
            lookup.setdefault(member, set()).update(members)
    return {member: frozenset(words) for member, words in lookup.items()}


def _original_topic(mentor: Mentor, key: str) -> str:
    return next((t for t in sorted(mentor.topics) if normalise(t) == key), key)


def site_allows(rules: ProgramRules, mentor: Mentor, request: Request) -> bool:
    """Whether the site rule lets this mentor take this request."""
    return allows_sites(rules, normalise(mentor.site) == normalise(request.site))


def allows_sites(rules: ProgramRules, same: bool) -> bool:
    """Whether the site rule allows a pair at the same (or another) site."""
    if rules.kind == "informational" or rules.site_rule == "other-required":
        return not same
    if rules.site_rule == "same":
        return same
    return True


def site_bonus(rules: ProgramRules, same: bool) -> int:
    """Extra score for another site under the "other-preferred" rule."""
    if rules.site_rule == "other-preferred" and not same:
        return OTHER_SITE_BONUS
    return 0


def site_reason(mentor: Mentor, request: Request) -> str:
    """Say whether the pair shares a site."""
    if normalise(mentor.site) == normalise(request.site):
        return f"Same site: {mentor.site}."
    return f"Different sites: {mentor.site} and {request.site}."


def is_excluded(rules: ProgramRules, mentor: Mentor, request: Request) -> bool:
    """Whether the pair is the same person or a forbidden pair."""
    if mentor.id == request.mentee_id:
        return True
    return (request.mentee_id, mentor.id) in rules.forbidden
