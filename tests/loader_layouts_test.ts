/**
 * The four loaders against copies of the datasets written independently of the project: by
 * `tools/fixtures/make_layout_fixtures.py` (PIL, scipy.io, nibabel, MetaImage by hand), from
 * `DATA_LAYOUTS.md` only, never from the synthetic generators or the loaders' layout constants.
 * The script runs into a temporary folder when the tests start and writes `manifest.json`: what
 * each copy holds (ids, labels, splits, folds, every image and mask as PIL / nibabel read it
 * back). Each layout variant is a test step; every image is compared at its native size. The same
 * variants pass `verifyDataset` (only their counts differ from the real dataset's, accepted with
 * `updateLock`) and `inspectDataset` (every image decodes, every item counted).
 *
 * Needs Debian's /usr/bin/python3 with python3-numpy, python3-scipy, python3-nibabel and
 * python3-pil; without them the tests are ignored, the reason in their names.
 *
 * @module
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadIsic2018 } from "../lib/data/isic2018.ts";
import { loadCovidCt } from "../lib/data/covid_ct.ts";
import { loadLizard } from "../lib/data/lizard.ts";
import { loadCamus } from "../lib/data/camus.ts";
import { inspectDataset, verifyDataset } from "../lib/data/manifest.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = new URL("../tools/fixtures/make_layout_fixtures.py", import.meta.url);

/** Why the fixtures cannot be written here, or undefined when they can. */
async function whyNoPython(): Promise<string | undefined> {
  const modules: [string, string][] = [
    ["numpy", "python3-numpy"],
    ["scipy.io", "python3-scipy"],
    ["nibabel", "python3-nibabel"],
    ["PIL", "python3-pil"],
  ];
  const probe = modules.map(([m]) =>
    `try:\n import ${m}\nexcept Exception:\n print(${JSON.stringify(m)})`
  ).join("\n");
  const out = await new Deno.Command(PYTHON, { args: ["-c", probe], stderr: "null" }).output()
    .catch(() => undefined);
  if (!out?.success) {
    return `${PYTHON} not found; apt-get install ${modules.map((m) => m[1]).join(" ")}`;
  }
  const missing = new TextDecoder().decode(out.stdout).split("\n").filter((s) => s);
  if (missing.length === 0) return undefined;
  const debs = modules.filter(([m]) => missing.includes(m)).map((m) => m[1]);
  return `${PYTHON} cannot import ${missing.join(", ")}; apt-get install ${debs.join(" ")}`;
}

const SKIP = await whyNoPython();
const suffix = SKIP ? ` (skipped: ${SKIP})` : "";

// ----------------------------------------------------------------------------- the manifest

interface IsicItem {
  id: string;
  label?: string;
  height: number;
  width: number;
  lossy: boolean;
  pixels: string;
  mask?: string;
}
interface CovidItem {
  folder: string;
  name: string;
  label: "COVID" | "NonCOVID";
  split: "train" | "val" | "test";
  mode: string;
  height: number;
  width: number;
  lossy: boolean;
  grey: string;
}
interface LizardItem {
  id: string;
  source: string;
  fold: number;
  height: number;
  width: number;
  pixels: string;
  mask: string;
  majority: number;
}
interface CamusItem {
  id: string;
  patient: string;
  view: string;
  phase: string;
  quality: string | null;
  height: number;
  width: number;
  image: string;
  mask: string;
}
interface Variant {
  name: string;
  dataset: "isic2018" | "covid_ct" | "lizard" | "camus";
  root: string;
  note: string;
  diagnosis?: IsicItem[] | null;
  segmentation?: IsicItem[] | null;
  items?: (CovidItem | LizardItem | CamusItem)[];
  /** File names a split list of the copy names twice. */
  duplicates?: string[];
  expect_error?: string | null;
  class_names?: string[];
  release?: "nifti" | "mhd";
  patients?: Record<string, string[]>;
  /** Tiles listed in info.csv whose image archive is not in the copy (Lizard). */
  left_out?: string[];
}

let fixtures: Promise<{ dir: string; variants: Variant[] }> | undefined;
let tmp: string | undefined;
globalThis.addEventListener("unload", () => {
  if (tmp) Deno.removeSync(tmp, { recursive: true });
});

/** Runs the fixture script once (into a temporary folder) and reads its manifest. */
function layoutFixtures(): Promise<{ dir: string; variants: Variant[] }> {
  fixtures ??= (async () => {
    tmp = await Deno.makeTempDir({ prefix: "gradprom_layouts_" });
    const out = await new Deno.Command(PYTHON, { args: [fileURLToPath(SCRIPT), tmp] }).output();
    if (!out.success) {
      throw new Error(
        `make_layout_fixtures.py failed: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
      );
    }
    const manifest = JSON.parse(await Deno.readTextFile(join(tmp, "manifest.json")));
    return { dir: tmp, variants: manifest.variants as Variant[] };
  })();
  return fixtures;
}

async function variantsOf(dataset: Variant["dataset"]) {
  const { dir, variants } = await layoutFixtures();
  const chosen = variants.filter((v) => v.dataset === dataset);
  assert.ok(chosen.length > 0, `no ${dataset} variant in the manifest`);
  return chosen.map((v) => ({ ...v, path: join(dir, v.root) }));
}

// ---------------------------------------------------------------------------------- helpers

function bytes(b64: string): Uint8Array {
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

/** Asserts `actual` (values in [0, 1]) is `expected` / 255 within `tolerance` grey levels. */
function assertPixels(actual: Float32Array, expected: Uint8Array, tolerance: number, what: string) {
  assert.equal(actual.length, expected.length, `${what}: number of values`);
  let worst = 0, at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] * 255 - expected[i]);
    if (d > worst) (worst = d, at = i);
  }
  assert.ok(
    worst <= tolerance + 1e-3,
    `${what}: value ${at} is ${actual[at] * 255} but ${
      expected[at]
    } was written (tolerance ${tolerance})`,
  );
}

/** Groups items by native `[height, width]`, so that each group loads at its own size. */
function bySize<T extends { height: number; width: number }>(items: T[]) {
  const groups = new Map<string, { size: [number, number]; items: T[] }>();
  for (const it of items) {
    const key = `${it.height}x${it.width}`;
    if (!groups.has(key)) groups.set(key, { size: [it.height, it.width], items: [] });
    groups.get(key)!.items.push(it);
  }
  assert.ok(groups.size >= 1);
  return [...groups.values()];
}

/** Every file under `dir` with its size and modification time (to check nothing is written). */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = join(d, e.name);
      const s = await Deno.stat(p);
      out.push(`${p} ${s.size} ${s.mtime?.getTime()}`);
      if (e.isDirectory) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

const sorted = (xs: Iterable<string>) => [...xs].sort();
/** JPEG: PIL and libvips may decode a sample a level or two apart. */
const JPEG_TOLERANCE = 2;

// ------------------------------------------------------------------------------------ ISIC 2018

Deno.test({
  name: `loadIsic2018() reads independently written copies of each published layout${suffix}`,
  ignore: SKIP !== undefined,
  fn: async (t) => {
    for (const v of await variantsOf("isic2018")) {
      await t.step(`${v.name}: ${v.note}`, async () => {
        const before = await snapshot(v.path);
        if (v.diagnosis) {
          const want = new Map(v.diagnosis.map((it) => [it.id, it]));
          for (const { size, items } of bySize(v.diagnosis)) {
            const ds = await loadIsic2018({ root: v.path, task: "diagnosis", size, cacheBytes: 0 });
            assert.deepEqual([...ds.ids], sorted(want.keys()));
            assert.deepEqual(
              ds.ids.map((id, i) => `${id} ${ds.classNames[ds.labels![i]]}`),
              ds.ids.map((id) => `${id} ${want.get(id)!.label}`),
            );
            for (const it of items) {
              const got = await ds.item(ds.ids.indexOf(it.id));
              assertPixels(got.image, bytes(it.pixels), JPEG_TOLERANCE, `${v.name} ${it.id}`);
            }
          }
        }
        if (v.segmentation) {
          const ids = sorted(v.segmentation.map((it) => it.id));
          for (const { size, items } of bySize(v.segmentation)) {
            const ds = await loadIsic2018({ root: v.path, task: "segmentation", size });
            assert.deepEqual([...ds.ids], ids);
            for (const it of items) {
              const got = await ds.item(ds.ids.indexOf(it.id));
              assertPixels(got.image, bytes(it.pixels), JPEG_TOLERANCE, `${v.name} ${it.id}`);
              assert.deepEqual(got.mask, bytes(it.mask!), `${v.name} ${it.id} mask`);
            }
          }
        }
        assert.deepEqual(await snapshot(v.path), before, "nothing written into the copy");
      });
    }
  },
});

// ------------------------------------------------------------------------------------- COVID-CT

Deno.test({
  name: `loadCovidCt() reads independently written copies of each published layout${suffix}`,
  ignore: SKIP !== undefined,
  fn: async (t) => {
    for (const v of await variantsOf("covid_ct")) {
      await t.step(`${v.name}: ${v.note}`, async () => {
        const items = v.items as CovidItem[];
        const id = (it: CovidItem) => `${it.folder}/${it.name}`;
        if (v.expect_error) {
          // Not unpacked: refused, naming what was found instead of the folders.
          await assert.rejects(
            loadCovidCt({ root: v.path, size: [16, 16] }),
            (e: Error) => {
              assert.ok(e.message.includes(v.expect_error!), e.message);
              assert.match(e.message, /\(unzip Images-processed\/CT_\w+\.zip where it is\)/);
              return true;
            },
          );
          return;
        }
        const before = await snapshot(v.path);
        for (const split of ["train", "val", "test"] as const) {
          const ds = await loadCovidCt({ root: v.path, size: [16, 16], split, strict: true });
          const want = items.filter((it) => it.split === split);
          assert.deepEqual(sorted(ds.ids), sorted(want.map(id)), split);
          for (const it of want) {
            assert.equal(ds.classNames[ds.labels[ds.ids.indexOf(id(it))]], it.label, id(it));
          }
        }
        const all = await loadCovidCt({ root: v.path, size: [16, 16] });
        assert.equal(all.length, items.length);
        assert.equal(all.unlisted.length, 0);
        assert.equal(new Set(all.ids).size, all.length, "a name listed twice is read once");
        for (const name of v.duplicates!) {
          assert.ok(all.notes.some((n) => n.includes(name)), `no note names ${name}`);
        }
        for (const { size, items: group } of bySize(items)) {
          const ds = await loadCovidCt({ root: v.path, size, cacheBytes: 0 });
          for (const it of group) {
            const got = await ds.item(ds.ids.indexOf(id(it)));
            const tolerance = it.lossy ? JPEG_TOLERANCE : 0;
            assertPixels(got.image, bytes(it.grey), tolerance, `${v.name} ${id(it)} (${it.mode})`);
          }
        }
        assert.deepEqual(await snapshot(v.path), before, "nothing written into the copy");
      });
    }
  },
});

// --------------------------------------------------------------------------------------- Lizard

Deno.test({
  name: `loadLizard() reads independently written copies of each published layout${suffix}`,
  ignore: SKIP !== undefined,
  fn: async (t) => {
    for (const v of await variantsOf("lizard")) {
      await t.step(`${v.name}: ${v.note}`, async () => {
        const before = await snapshot(v.path);
        const items = v.items as LizardItem[];
        const want = new Map(items.map((it) => [it.id, it]));
        for (const { size, items: group } of bySize(items)) {
          const ds = await loadLizard({ root: v.path, size, cacheBytes: 0 });
          assert.deepEqual([...ds.ids], sorted(want.keys()));
          assert.deepEqual([...ds.sources], ds.ids.map((id) => want.get(id)!.source));
          assert.deepEqual([...ds.folds], ds.ids.map((id) => want.get(id)!.fold));
          for (const it of group) {
            const got = await ds.item(ds.ids.indexOf(it.id));
            assertPixels(got.image, bytes(it.pixels), 0, `${v.name} ${it.id}`);
            assert.deepEqual(got.mask, bytes(it.mask), `${v.name} ${it.id} mask`);
          }
        }
        const all = await loadLizard({ root: v.path, size: [8, 8] });
        for (const id of v.left_out!) {
          assert.ok(all.notes.some((n) => n.includes(id)), `no note names ${id}: ${all.notes}`);
        }
        if (!v.left_out!.length) assert.deepEqual(all.notes, []);
        const test = await loadLizard({ root: v.path, size: [8, 8], split: "test" });
        assert.deepEqual(
          [...test.ids],
          sorted(items.filter((it) => it.fold === 3).map((it) => it.id)),
        );
        const cls = await loadLizard({ root: v.path, size: [8, 8], task: "diagnosis" });
        const labelled = items.filter((it) => it.majority > 0);
        assert.deepEqual([...cls.ids], sorted(labelled.map((it) => it.id)));
        assert.deepEqual(
          sorted(cls.excludedIds),
          sorted(items.filter((it) => it.majority === 0).map((it) => it.id)),
        );
        for (const [i, id] of cls.ids.entries()) {
          const name = v.class_names![want.get(id)!.majority - 1]; // "connective tissue", …
          assert.equal(cls.classNames[cls.labels![i]].toLowerCase(), name.split(" ")[0], id);
        }
        assert.deepEqual(await snapshot(v.path), before, "nothing written into the copy");
      });
    }
  },
});

// ---------------------------------------------------------------------------------------- CAMUS

Deno.test({
  name: `loadCamus() reads independently written copies of each published layout${suffix}`,
  ignore: SKIP !== undefined,
  fn: async (t) => {
    for (const v of await variantsOf("camus")) {
      await t.step(`${v.name}: ${v.note}`, async () => {
        const before = await snapshot(v.path);
        const items = v.items as CamusItem[];
        const want = new Map(items.map((it) => [it.id, it]));
        for (const { size, items: group } of bySize(items)) {
          const ds = await loadCamus({ root: v.path, size, cacheBytes: 0 });
          assert.equal(ds.release, v.release);
          assert.deepEqual(sorted(ds.ids), sorted(want.keys()));
          assert.deepEqual(
            ds.ids.map((id, i) => `${id} ${ds.labelNames[ds.labels[i]]} ${ds.patients[i]}`),
            ds.ids.map((id) => `${id} ${want.get(id)!.view} ${want.get(id)!.patient}`),
          );
          for (const it of group) {
            const got = await ds.item(ds.ids.indexOf(it.id));
            assertPixels(got.image, bytes(it.image), 0, `${v.name} ${it.id}`);
            assert.deepEqual(got.mask, bytes(it.mask), `${v.name} ${it.id} mask`);
          }
        }
        const phase = await loadCamus({ root: v.path, size: [8, 8], label: "phase" });
        assert.deepEqual(
          phase.ids.map((id, i) => `${id} ${phase.labelNames[phase.labels[i]]}`),
          phase.ids.map((id) => `${id} ${want.get(id)!.phase}`),
        );
        if (v.release === "nifti") {
          for (const split of ["train", "val", "test"] as const) {
            const ds = await loadCamus({ root: v.path, size: [8, 8], split });
            assert.deepEqual(sorted(new Set(ds.patients)), sorted(v.patients![split]), split);
          }
          const q = await loadCamus({ root: v.path, size: [8, 8], label: "quality" });
          assert.deepEqual(
            q.ids.map((id, i) => `${id} ${q.labelNames[q.labels[i]]}`),
            q.ids.map((id) => `${id} ${want.get(id)!.quality}`),
          );
        } else {
          const ds = await loadCamus({ root: v.path, size: [8, 8] });
          assert.deepEqual(sorted(new Set(ds.patients)), v.patients!.all, "testing/ is ignored");
        }
        assert.deepEqual(await snapshot(v.path), before, "nothing written into the copy");
      });
    }
  },
});

// ------------------------------------------------------------------- verify and inspect

Deno.test({
  name: `verifyDataset() and inspectDataset() accept every published layout variant${suffix}`,
  ignore: SKIP !== undefined,
  fn: async (t) => {
    const { dir, variants } = await layoutFixtures();
    for (const v of variants.filter((v) => !v.expect_error)) {
      await t.step(`${v.name}: ${v.note}`, async () => {
        const path = join(dir, v.root);
        const before = await snapshot(path);
        const lockPath = join(dir, "..", `${v.name}.lock.json`);
        try {
          // A tiny copy: only its counts differ from the manifest's real ones.
          const first = await verifyDataset(v.dataset, path, { lockPath });
          const failed = first.checks.filter((c) => c.status === "fail");
          assert.ok(failed.length > 0, "counts differ from the real dataset's");
          for (const c of failed) {
            assert.match(
              c.detail,
              /\(manifest expected_counts\) but found/,
              `${c.name}: ${c.detail}`,
            );
          }
          assert.equal(first.lock, "not-written");
          const accepted = await verifyDataset(v.dataset, path, { lockPath, updateLock: true });
          const notOk = accepted.checks.filter((c) => c.status === "fail");
          assert.deepEqual(notOk, [], JSON.stringify(notOk));
          assert.equal(accepted.lock, "created");
          assert.ok(accepted.checks.some((c) => c.status === "warn"));
        } finally {
          await Deno.remove(lockPath).catch(() => {});
        }
        const inspected = await inspectDataset(v.dataset, path);
        assert.deepEqual(inspected.unreadable, []);
        const samples = Object.values(inspected.splits).reduce((a, s) => a + s.samples, 0);
        // inspect's default task: ISIC diagnosis, the others every item (Lizard segmentation).
        const items = v.dataset === "isic2018" ? (v.diagnosis ?? v.segmentation)! : v.items!;
        assert.equal(samples, items.length);
        assert.deepEqual(await snapshot(path), before, "nothing written into the copy");
      });
    }
  },
});
