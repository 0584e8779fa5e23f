import assert from "node:assert/strict";
import { twoParamProblem, type Vec2 } from "./two_param_problem.ts";

const p = twoParamProblem();
const points: Vec2[] = [[-4, -3], [0.3, 2], [2.5, -1], [1, 1], [-1.5, 2.5]];

Deno.test("twoParamProblem() gradients match central differences", () => {
  const h = 1e-5;
  for (const t of points) {
    for (const [f, g] of [[p.lIp, p.gradIp], [p.lVr, p.gradVr]] as const) {
      const fd = [0, 1].map((i) => {
        const up: Vec2 = [...t], dn: Vec2 = [...t];
        up[i] += h;
        dn[i] -= h;
        return (f(up) - f(dn)) / (2 * h);
      });
      const an = g(t);
      for (const i of [0, 1]) assert.ok(Math.abs(fd[i] - an[i]) < 1e-6, `${t}: ${fd} vs ${an}`);
    }
  }
});

Deno.test("twoParamProblem() minima, Hessian and the joint minimum", () => {
  assert.equal(p.lIp(p.thetaStar), 0);
  assert.equal(p.lVr(p.thetaVr), 0);
  const [[a, b], [c, d]] = p.hessianIp;
  assert.equal(b, c);
  assert.ok(Math.abs(a + d - 11) < 1e-12 && Math.abs(a * d - b * c - 10) < 1e-12);
  for (const lambda of [0.1, 1, 5]) {
    const j = p.jointMinimum(lambda), g = p.gradIp(j), v = p.gradVr(j);
    assert.ok(Math.hypot(g[0] + lambda * v[0], g[1] + lambda * v[1]) < 1e-12);
    // Joint's minimum lies where the two gradients conflict.
    assert.ok(g[0] * v[0] + g[1] * v[1] < 0);
  }
});

Deno.test("twoParamProblem() gradients agree far away and conflict between the minima", () => {
  const dot = (t: Vec2) => {
    const g = p.gradIp(t), v = p.gradVr(t);
    return g[0] * v[0] + g[1] * v[1];
  };
  assert.ok(dot([-4, -3]) > 0);
  assert.ok(dot([10, 10]) > 0);
  assert.ok(dot([(1 - 1.5) / 2, (1 + 2.5) / 2]) < 0);
});

Deno.test("twoParamProblem() rejects bad options", () => {
  assert.throws(() => twoParamProblem({ eigenvalues: [1, 0] }), /positive eigenvalues but found 0/);
  assert.throws(
    () => twoParamProblem({ thetaStar: [1, NaN] }),
    /thetaStar to be two finite numbers but found \[1,NaN\]/,
  );
});
