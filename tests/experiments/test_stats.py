"""Verdict words of experiments.stats."""
import pytest

from fusionlib.experiments.stats import claim_verdict, smallest_p_wilcoxon


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
