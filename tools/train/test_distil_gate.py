"""distil_gate.py against the engine's gate distillation (engine/plas/gate-distill.ts) on the same data: the engine
computes loss, gradient and recall on a fixture of random queries and keys (tools/train/gate_windows.ts fixture);
distil_gate.py's objective must give the same loss and gradient. Also: the prefill-tile / decode-row weighting, and a
gate file the engine loads. Not part of `npm test` (which runs no Python); run it where PyTorch is installed:

    python3 tools/train/test_distil_gate.py
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(__file__))
import distil_gate as dg  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def tsx(*args):
    return subprocess.run(["npx", "tsx", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


class AgainstTheEngine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = os.path.join(cls.tmp.name, "fixture.json")
        tsx("tools/train/gate_windows.ts", "fixture", "--out", path)
        with open(path) as f:
            cls.fx = json.load(f)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def layer(self, s):
        sh = self.fx["shape"]
        h, kv, d = sh["heads"], sh["kvHeads"], sh["D"]
        q = torch.tensor(s["q"], dtype=torch.float64).view(s["T"], h, d).transpose(0, 1)
        k = torch.tensor(s["k"], dtype=torch.float64).view(s["T"], kv, d).transpose(0, 1)
        return q, k, torch.tensor(s["positions"], dtype=torch.long)

    def total(self, W):
        """The mean over every row of both sequences, as the engine averages them."""
        B = self.fx["shape"]["blockSize"]
        losses, rows = [], []
        for s in self.fx["seqs"]:
            q, k, pos = self.layer(s)
            loss, _ = dg.gate_loss(q, k, W, pos, B)
            losses.append(loss * len(pos))
            rows.append(len(pos))
        return sum(losses) / sum(rows)

    def test_same_loss_and_gradient_as_the_engine(self):
        sh = self.fx["shape"]
        for i, (gate, engine) in enumerate(zip(self.fx["gates"], self.fx["engine"])):
            W = torch.tensor(gate, dtype=torch.float64).view(sh["kvHeads"], sh["blockSize"], sh["D"]).requires_grad_()
            loss = self.total(W)
            loss.backward()
            self.assertEqual(engine["rows"], sum(len(s["positions"]) for s in self.fx["seqs"]) * sh["heads"])
            self.assertAlmostEqual(loss.item(), engine["loss"], delta=1e-5 * max(1.0, abs(engine["loss"])),
                                   msg=f"gate {i}: loss")
            want = torch.tensor(engine["grad"], dtype=torch.float64)
            got = W.grad.flatten()
            err = (got - want).abs().max().item()
            self.assertLess(err, 1e-4 * max(1e-3, want.abs().max().item()), f"gate {i}: gradient off by {err}")
            print(f"gate {i}: loss engine {engine['loss']:.6f}, distil_gate.py {loss.item():.6f}; "
                  f"max gradient difference {err:.2e}")

    def test_decode_rows_weigh_as_much_as_a_prefill_tile(self):
        B = self.fx["shape"]["blockSize"]
        q, k, _ = self.layer(self.fx["seqs"][1])
        W = torch.tensor(self.fx["gates"][1], dtype=torch.float64).view(k.shape[0], B, -1)
        gen = torch.Generator().manual_seed(3)
        pos, w = dg.unit_positions(q.shape[1], B, tile=4, tiles=2, decode_rows=3, gen=gen)
        self.assertEqual(len(pos), 2 * 4 + 3)
        self.assertAlmostEqual(w[:8].sum().item(), 2.0)  # two tiles, one unit each
        self.assertEqual(w[8:].tolist(), [1.0, 1.0, 1.0])  # each decode row a unit
        self.assertEqual(pos[8:].tolist(), list(range(q.shape[1] - 3, q.shape[1])))
        weighted, _ = dg.gate_loss(q, k, W, pos, B, w)
        each = torch.stack([dg.gate_loss(q, k, W, pos[i: i + 1], B)[0] for i in range(len(pos))])
        self.assertAlmostEqual(weighted.item(), ((each * w).sum() / w.sum()).item(), delta=1e-9)

    def test_the_engine_loads_the_exported_gate(self):
        sh = self.fx["shape"]
        layers = [torch.randn(sh["kvHeads"], sh["blockSize"], sh["D"]) for _ in range(3)]
        path = os.path.join(self.tmp.name, "plas_attention_mlp_weight.safetensors")
        dg.write_gate(path, layers, {"format": "pt"})
        shape = {"numLayers": 3, "kvHeads": sh["kvHeads"], "blockSize": sh["blockSize"], "headDim": sh["D"]}
        script = (
            "import { loadPlasGateWeights } from './engine/plas/gate-weights.ts';"
            f"const g = await loadPlasGateWeights({json.dumps(self.tmp.name)}, {json.dumps(shape)});"
            "console.log(JSON.stringify(g.layers.map((w) => Array.from(w).reduce((a, b) => a + b, 0))));"
        )
        sums = json.loads(tsx("--input-type=module", "-e", script).strip().splitlines()[-1])
        for got, w in zip(sums, layers):
            self.assertAlmostEqual(got, w.sum().item(), delta=1e-3)

    def test_a_target_power_keeps_the_ranking_and_sharpens_the_target(self):
        B = self.fx["shape"]["blockSize"]
        q, k, pos = self.layer(self.fx["seqs"][1])
        t1, cand = dg.row_targets(q, k, pos, B)
        t4, cand4 = dg.row_targets(q, k, pos, B, power=4.0)
        self.assertTrue(torch.equal(cand, cand4))
        torch.testing.assert_close(t4.sum(-1), torch.ones_like(t4.sum(-1)))
        self.assertTrue(torch.equal(t1.argmax(-1), t4.argmax(-1)), "the same top block")
        self.assertTrue(bool((t4.amax(-1) >= t1.amax(-1) - 1e-12).all()), "more mass on the top block")
        torch.testing.assert_close(t4, (t1**4) / (t1**4).sum(-1, keepdim=True))
        top, _ = dg.row_targets(q, k, pos, B, power=float("inf"))  # the ranking target: the top block alone
        self.assertTrue(torch.equal(top.argmax(-1), t1.argmax(-1)))
        self.assertTrue(torch.equal(top.sum(-1), torch.ones_like(top.sum(-1))))
        self.assertEqual(int((top > 0).sum()), top[..., 0].numel(), "one block a row")

    def test_the_bound_form_starts_at_quests_bound_and_shares_the_file(self):
        sh = self.fx["shape"]
        B = sh["blockSize"]
        q, k, pos = self.layer(self.fx["seqs"][1])
        G = dg.initial_gate("bound", k.shape[0], B, k.shape[2]).double()
        s = dg.bound_gate_scores(q[:, pos], k, G, B)  # (h, n, nb)
        # Quest's bound, channel by channel, and no key of a block scores above it.
        hi, lo = dg.block_bounds(k, B)
        rep = q.shape[0] // k.shape[0]
        qr = q[:, pos][:, :, None, :]  # (h, n, 1, d)
        quest = torch.maximum(qr * hi.repeat_interleave(rep, 0)[:, None], qr * lo.repeat_interleave(rep, 0)[:, None])
        torch.testing.assert_close(s, quest.sum(-1) / sh["D"] ** 0.5)
        nb = k.shape[1] // B
        dots = (q[:, pos] @ k.repeat_interleave(rep, 0)[:, : nb * B].transpose(-1, -2)) / sh["D"] ** 0.5
        self.assertTrue(bool((dots.view(*dots.shape[:2], nb, B).amax(-1) <= s + 1e-9).all()))
        # Both forms in one file, whichever is written last; the engine reads both.
        path = os.path.join(self.tmp.name, "both", "plas_attention_mlp_weight.safetensors")
        os.makedirs(os.path.dirname(path))
        dg.write_gate(path, [torch.randn(k.shape[0], B, sh["D"]) for _ in range(2)], {"format": "pt"})
        dg.write_gate(path, [torch.randn(k.shape[0], 4, sh["D"]) for _ in range(2)], {"form": "bound"}, "bound")
        shape = {"numLayers": 2, "kvHeads": k.shape[0], "blockSize": B, "headDim": sh["D"]}
        script = (
            "import { describeGate, loadPlasGateWeights } from './engine/plas/gate-weights.ts';"
            f"console.log(describeGate(await loadPlasGateWeights({json.dumps(path)}, {json.dumps(shape)})));"
        )
        described = tsx("--input-type=module", "-e", script).strip().splitlines()[-1]
        self.assertEqual(described, "learned gate on layers 0-1; key-bound gate on layers 0-1")

    def test_retrieval_rows_are_the_queries_that_reach_far_back_for_one_block(self):
        B, T, h, kv, d = 8, 256, 4, 2, 16
        gen = torch.Generator().manual_seed(3)
        q = torch.randn(h, T, d, generator=gen, dtype=torch.float64) * 0.1
        k = torch.randn(kv, T, d, generator=gen, dtype=torch.float64) * 0.1
        # Three queries each look up one key far behind them (a pass key's answer and its needle); one looks at a key
        # in its own block (always kept, so no retrieval); the rest attend about evenly.
        lookups = {200: 40, 150: 90, 230: 17}
        for query, key in lookups.items():
            k[0, key] = torch.linspace(-1, 1, d, dtype=torch.float64) * 3
            q[1, query] = k[0, key] * 3
        k[1, 181] = torch.ones(d, dtype=torch.float64) * 3
        q[3, 183] = k[1, 181] * 3
        rows = dg.retrieving_positions(q, k, B, 3, T, torch.Generator().manual_seed(1))
        self.assertEqual(sorted(rows.tolist()), sorted(lookups))
        self.assertEqual(len(dg.retrieving_positions(q, k, B, 3, 20, torch.Generator().manual_seed(1))), 3)
        self.assertTrue(bool((dg.retrieving_positions(q, k, B, 50, T, gen) >= dg.first_eligible(B)).all()))


if __name__ == "__main__":
    unittest.main(verbosity=2)
