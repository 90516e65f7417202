"""Verdict words of experiments.stats."""
import pytest

import math

from fusionlib.experiments.stats import NOT_TESTABLE, can_reject, claim_verdict, smallest_p_wilcoxon

#: Every word claim_verdict gives; the chapters' verdict tables use no other (iaoa's included).
WORDS = {"supported", "not reproduced", "not shown", "not testable at this n"}


class TestClaimVerdict:
    @pytest.mark.parametrize("n, m, supported, contradicted, expected", [
        (2, 1, True, False, "not testable at this n"),      # floor 0.5
        (6, 3, True, True, "not testable at this n"),       # floor 3 * 2/64 = 0.094
        (6, 1, True, False, "supported"),                   # floor 0.031
        (6, 1, False, True, "not reproduced"),
        (21, 7, False, False, "not shown"),
    ])
    def test_known_value(self, n, m, supported, contradicted, expected):
        floor = smallest_p_wilcoxon(n, m=m)
        assert claim_verdict(supported=supported, contradicted=contradicted, floor=floor) == expected

    def test_alpha(self):
        assert claim_verdict(supported=True, contradicted=False, floor=0.031, alpha=0.01) == "not testable at this n"

    def test_not_testable_wins_over_every_result(self):
        """A design that cannot reject gives 'not testable at this n' whatever the caller's decisions."""
        for supported in (False, True):
            for contradicted in (False, True):
                assert claim_verdict(supported=supported, contradicted=contradicted, floor=0.05) == NOT_TESTABLE
                assert claim_verdict(supported=supported, contradicted=contradicted, floor=math.nan) == NOT_TESTABLE

    def test_contradicted_wins_over_supported(self):
        assert claim_verdict(supported=True, contradicted=True, floor=0.0) == "not reproduced"

    def test_every_branch_is_one_of_the_words(self):
        got = {claim_verdict(supported=s, contradicted=c, floor=f) for s in (False, True) for c in (False, True)
               for f in (0.0, 0.5)}
        assert got == WORDS


class TestCanReject:
    @pytest.mark.parametrize("floor, alpha, expected", [
        (0.0, 0.05, True), (0.049, 0.05, True), (0.05, 0.05, False), (0.5, 0.05, False),
        (math.nan, 0.05, False), (0.031, 0.01, False),
    ])
    def test_known_value(self, floor, alpha, expected):
        assert can_reject(floor, alpha) is expected

    def test_the_wilcoxon_floor(self):
        """n = 5 pairs reach 2/32 = 0.0625 at best: not below 0.05; n = 6 reach 0.031."""
        assert not can_reject(smallest_p_wilcoxon(5)) and can_reject(smallest_p_wilcoxon(6))
