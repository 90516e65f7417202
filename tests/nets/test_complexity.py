"""Table VI FLOPs and sizes."""
from __future__ import annotations

import pytest

import fusionlib.nets as nets


class TestCountTable6Flops:
    @pytest.mark.parametrize("name,key", [("aenetv2", "AE-Netv2"), ("aenetv2_plus", "AE-Netv2+"),
                                          ("aenetv2_pp", "AE-Netv2++"), ("ifcnn", "IFCNN")])
    def test_known_value(self, name, key):
        """Table VI of Fang et al. (FLOPs of one 400x400 forward pass), exactly."""
        flops, params = nets.TABLE6[key]
        model = nets.build(name)
        assert nets.count_table6_flops(model, size=400) == flops
        assert sum(p.numel() for p in model.parameters()) == params

    def test_invariants(self):
        # scales with the number of pixels; per-pixel count = parameters for single-pass nets
        m = nets.build("aenetv2")
        assert nets.count_table6_flops(m, size=(10, 20)) == 200 * 5_378

    def test_torch_counter(self):
        """FlopCounterMode: 2 FLOPs per conv MAC, bias and BN not counted."""
        m = nets.build("aenetv2")
        conv_weights = 3_456 + 1_152 + 576
        assert nets.count_torch_flops(m, size=16) == 2 * conv_weights * 256


class TestSizes:
    def test_checkpoint_about_12_bytes_per_parameter(self):
        m = nets.build("aenetv2_plus")
        per_param = nets.checkpoint_bytes(m) / m.parameter_count()
        assert 12.0 <= per_param < 13.0
        assert 4.0 <= nets.state_dict_bytes(m) / m.parameter_count() < 4.5
