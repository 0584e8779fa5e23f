import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setupBackend } from "../backend/setup_backend.ts";
import { gradProm } from "../strategies/grad_prom.ts";
import { ipOnly } from "../strategies/ip_only.ts";
import { joint } from "../strategies/joint.ts";
import { simulate } from "./simulate.ts";
import { twoParamProblem } from "./two_param_problem.ts";

await setupBackend({ quiet: true });
const p = twoParamProblem();
const dist = (a: number[], b: number[]) => Math.hypot(a[0] - b[0], a[1] - b[1]);
const last = <T>(xs: T[]) => xs[xs.length - 1];

Deno.test("simulate() IP-only converges to θ*", () => {
  const r = simulate(ipOnly, { steps: 800 });
  assert.equal(r.theta.length, 801);
  assert.equal(r.cosine.length, 800);
  assert.ok(dist(last(r.theta), p.thetaStar) < 1e-3, `${last(r.theta)}`);
  assert.ok(r.auxWeight.every((w) => w === 0));
});

Deno.test("simulate() the path has agreeing and conflicting parts", () => {
  for (const s of [ipOnly, gradProm()]) {
    const r = simulate(s);
    const agree = r.cosine.filter((c) => c >= 0).length;
    assert.ok(agree >= 10 && agree <= 290, `${agree} agreeing steps`);
  }
});

Deno.test("simulate() Joint ends at the compromise, with higher L_IP than GradProm", () => {
  const j = simulate(joint, { steps: 400 });
  assert.ok(dist(last(j.theta), p.jointMinimum(1)) < 1e-3);
  for (const mode of ["gate", "weighted"] as const) {
    const g = simulate(gradProm({ mode }), { steps: 400 });
    assert.ok(last(j.lIp) > 0.4 && last(g.lIp) < 1e-3, `${last(j.lIp)} vs ${last(g.lIp)}`);
    assert.ok(last(j.lVr) < last(g.lVr));
  }
});

/** ∇f(θ) by central differences of the loss itself (exact for these quadratics up to rounding). */
function numericGrad(f: (t: [number, number]) => number, t: [number, number]): number[] {
  const h = 1e-4;
  return [0, 1].map((i) => {
    const up: [number, number] = [t[0], t[1]], down: [number, number] = [t[0], t[1]];
    up[i] += h;
    down[i] -= h;
    return (f(up) - f(down)) / (2 * h);
  });
}

/**
 * Steps of an SGD trajectory where Lemma 3.1's ⟨u, G_IP⟩ ≥ |G_IP|² fails, with u = (θ_t −
 * θ_{t+1}) / lr the update that was applied and G_IP = ∇L_IP(θ_t) by finite differences.
 */
function lemmaViolations(theta: [number, number][], lr: number): number[] {
  const bad: number[] = [];
  for (let t = 0; t + 1 < theta.length; t++) {
    const g = numericGrad(p.lIp, theta[t]), a = numericGrad(p.lVr, theta[t]);
    const u = [0, 1].map((i) => (theta[t][i] - theta[t + 1][i]) / lr);
    const gg = g[0] * g[0] + g[1] * g[1];
    // The strategy computes u in float32: allow its rounding of main + aux.
    const tol = 1e-5 * Math.hypot(...g) * (Math.hypot(...g) + Math.hypot(...a));
    if (u[0] * g[0] + u[1] * g[1] < gg - tol) bad.push(t);
  }
  return bad;
}

Deno.test("simulate() GradProm with SGD keeps Lemma 3.1's guarantee at every step", () => {
  const lr = 0.02;
  for (const mode of ["gate", "weighted"] as const) {
    const r = simulate(gradProm({ mode }), { lr });
    // ⟨update, G_IP⟩ ≥ |G_IP|² from the trajectory and gradients computed here: never less IP
    // descent (to first order) than IP-only.
    assert.deepEqual(lemmaViolations(r.theta, lr), [], mode);
    for (let t = 0; t < r.cosine.length; t++) {
      const g = numericGrad(p.lIp, r.theta[t]);
      const descent = g[0] * (r.theta[t][0] - r.theta[t + 1][0]) +
        g[1] * (r.theta[t][1] - r.theta[t + 1][1]);
      // The simulator's recorded IP descent and |G_IP|² agree with those computed here.
      assert.ok(Math.abs(r.ipDescent[t] - descent) <= 1e-6 * (1 + Math.abs(descent)));
      assert.ok(Math.abs(r.ipGradSq[t] - (g[0] ** 2 + g[1] ** 2)) <= 1e-6 * (1 + r.ipGradSq[t]));
      if (r.auxWeight[t] === 0) {
        // Gate shut: the step is exactly IP-only's step from the same θ.
        const one = simulate(ipOnly, { lr, steps: 1, start: r.theta[t] });
        assert.ok(dist(one.theta[1], r.theta[t + 1]) < 1e-9);
        assert.ok(r.lIp[t + 1] <= r.lIp[t]);
      }
    }
    assert.ok(r.auxWeight.some((w) => w > 0) && r.auxWeight.some((w) => w === 0));
  }
  // The check can fail: Joint, which always adds the conflicting gradient, breaks the Lemma.
  assert.ok(lemmaViolations(simulate(joint, { lr }).theta, lr).length > 0);
  // With this small lr, GradProm's L_IP never rises on this problem.
  const r = simulate(gradProm(), { lr });
  assert.ok(r.lIp.every((l, i) => i === 0 || l <= r.lIp[i - 1] + 1e-12));
});

Deno.test("simulate() with Adam, steps can go uphill for L_IP (the Lemma is for plain steps)", () => {
  const r = simulate(gradProm(), { optimizer: "adam", lr: 0.05 });
  assert.ok(r.ipDescent.some((d) => d < 0));
  assert.ok(r.lIp.some((l, i) => i > 0 && l > r.lIp[i - 1]));
  assert.ok(last(r.lIp) < 0.1);
});

Deno.test("simulate() leaks no tensors", () => {
  const before = tf.memory().numTensors;
  simulate(gradProm({ mode: "weighted" }), { steps: 20, optimizer: "adam" });
  simulate(joint, { steps: 20 });
  assert.equal(tf.memory().numTensors, before);
});

Deno.test("simulate() rejects bad options", () => {
  assert.throws(() => simulate(joint, { steps: 0 }), /steps to be a positive integer but found 0/);
  assert.throws(() => simulate(joint, { lr: -1 }), /lr to be a positive number but found -1/);
  assert.throws(() => simulate(joint, { lambda: -1 }), /non-negative number but found -1/);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => simulate(joint, { optimizer: "rmsprop" as any }),
    /"sgd" or "adam" but found "rmsprop"/,
  );
  // deno-lint-ignore no-explicit-any
  assert.throws(() => simulate(joint, { step: 3 } as any), /but found "step"/);
});
