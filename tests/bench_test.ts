import assert from "node:assert/strict";
import { DNNL_LIBRARY_PATHS } from "../lib/backend/onednn/_dnnl.ts";

const _BENCH = new URL("../tools/bench.ts", import.meta.url).pathname;

/** The backend setupBackend picks here: onednn where libdnnl 2 is installed, else wasm. */
const _BACKEND = (() => {
  for (const p of DNNL_LIBRARY_PATHS) {
    try {
      if (Deno.statSync(p).isFile) return "onednn";
    } catch {
      // not there
    }
  }
  return "wasm";
})();

Deno.test("tools/bench.ts --json prints one row per config and writes the report", async () => {
  const out = await Deno.makeTempFile({ suffix: ".md" });
  try {
    const configs = ["sr32x4-ip", "sr32x4+unetd3b16-joint", "sr32x4+unetd3b16-gradprom"];
    const o = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        _BENCH,
        "--json",
        "--backends",
        _BACKEND,
        "--configs",
        configs.join(","),
        "--size",
        "16",
        "--batch",
        "2",
        "--warmup",
        "1",
        "--steps",
        "1",
        "--rounds",
        "2",
        "--no-install",
        "--out",
        out,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(o.stderr);
    assert.ok(o.success, stderr);
    const rows = new TextDecoder().decode(o.stdout).trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(rows.map((r) => r.config), configs);
    const torch = !stderr.includes("PyTorch column skipped");
    for (const r of rows) {
      assert.equal(r.backend, _BACKEND);
      assert.equal(r.steps, 1);
      assert.ok(r.median_ms > 0 && Number.isFinite(r.median_ms));
      assert.ok(r.min_ms <= r.median_ms && r.median_ms <= r.max_ms);
      assert.ok(r.rss_peak_mb > 0);
      assert.equal(r.params_ip, 99267); // SR-ResNet 32×4, 9×9 outer kernels, BN
      // Two paired rounds: the row's median is the median of the rounds' medians.
      assert.equal(r.rounds, 2);
      assert.equal(r.rounds_ms.length, 2);
      assert.ok(Math.abs(r.median_ms - (r.rounds_ms[0] + r.rounds_ms[1]) / 2) < 1e-9);
      if (torch) {
        assert.ok(r.pytorch_ms > 0, JSON.stringify(r));
        assert.equal(r.pytorch_params, r.params_ip + r.params_vr);
        // The ratio is the median of the rounds' ratios, each round's sides timed together.
        const ratios = [0, 1].map((i) => r.rounds_ms[i] / r.pytorch_rounds_ms[i]);
        assert.ok(Math.abs(r.ratio - (ratios[0] + ratios[1]) / 2) < 1e-9);
        assert.equal(r.ratio_min, Math.min(...ratios));
        assert.equal(r.ratio_max, Math.max(...ratios));
        assert.equal(
          r.ratio_best,
          Math.min(...r.rounds_ms) / Math.min(...r.pytorch_rounds_ms),
        );
      } else {
        assert.equal(r.pytorch_ms, null);
        assert.equal(r.ratio, null);
      }
    }
    const gp = rows[2];
    const overJoint = [0, 1].map((i) => gp.rounds_ms[i] / rows[1].rounds_ms[i]);
    assert.deepEqual(gp.over_joint_rounds, overJoint);
    assert.ok(Math.abs(gp.over_joint - (overJoint[0] + overJoint[1]) / 2) < 1e-9);
    assert.equal(gp.joint_ms, rows[1].median_ms);
    // The profiled step's convolutions, counted from the kernels' shapes: a GradProm step does
    // more of them than a Joint step (a second backward pass through IP).
    assert.ok(gp.conv_gflop > rows[1].conv_gflop && rows[1].conv_gflop > 0, JSON.stringify(gp));
    assert.ok(!("joint_ms" in rows[1]));
    const md = await Deno.readTextFile(out);
    // The report is deno-fmt formatted: table cells padded, prose wrapped.
    const flat = md.replace(/[ \n]+/g, " ");
    for (const c of configs) {
      assert.match(md, new RegExp(`\\| ${c.replace(/[+.]/g, "\\$&")} +\\| ${_BACKEND} +\\|`));
    }
    assert.match(
      flat,
      /## Where the time goes \*\*(Before|After) [^*]*\*\*: one `sr32x4\+unetd3b16-gradprom` step/,
    );
    assert.match(md, /Deno \d+\.\d+\.\d+, TF\.js 4\.22\.0/);
  } finally {
    await Deno.remove(out);
  }
});

Deno.test("_convFlop() counts a convolution's FLOPs alike for the forward and both backward kernels", async () => {
  const { _convFlop } = await import("../tools/bench.ts");
  const x = [2, 8, 8, 3], w = [5, 5, 3, 4], y = [2, 4, 4, 4]; // stride 2
  const flop = 2 * 2 * 4 * 4 * 4 * 5 * 5 * 3;
  assert.equal(_convFlop("Conv2D", [x, w], [y]), flop);
  assert.equal(_convFlop("FusedConv2D", [x, w, [4]], [y]), flop);
  assert.equal(_convFlop("Conv2DBackpropInput", [y, w], [x]), flop);
  assert.equal(_convFlop("Conv2DBackpropFilter", [x, y], [w]), flop);
  assert.equal(_convFlop("Relu", [x], [x]), undefined);
});
