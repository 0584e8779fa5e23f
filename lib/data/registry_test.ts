import assert from "node:assert/strict";
import { readManifest } from "./manifest.ts";
import {
  DATASET_IDS,
  DATASETS,
  datasetTasks,
  getDataset,
  inspectionTasks,
  resolveTask,
} from "./registry.ts";

Deno.test("DATASETS holds each descriptor under its id, with a manifest that agrees", async () => {
  assert.deepEqual(DATASET_IDS.slice(0, 4), ["isic2018", "covid_ct", "lizard", "camus"]);
  for (const id of DATASET_IDS) {
    const d = DATASETS[id];
    assert.equal(d.id, id);
    const m = await readManifest(id);
    assert.equal(m.synthetic?.version, d.synthetic.version, `${id}: synthetic.version`);
    assert.equal(m.synthetic?.completion_marker, d.synthetic.marker, `${id}: completion_marker`);
    const classes = [d.tasks.diagnosis?.classes, d.tasks.segmentation?.classes].map((c) =>
      JSON.stringify(c)
    );
    assert.ok(classes.includes(JSON.stringify(m.classes)), `${id}: manifest classes`);
    assert.ok(d.tasks[d.inspect.defaultTask], `${id}: inspect's default task`);
  }
});

Deno.test("datasetTasks() and the descriptors' classes give the experiments' tasks and shapes", () => {
  // As the experiments had them before the descriptors (channels, classes, tasks).
  const expected = {
    isic2018: [3, 7, 2, "diagnosis segmentation"],
    covid_ct: [1, 2, 0, "diagnosis"],
    lizard: [3, 6, 7, "diagnosis segmentation diagnosis+segmentation"],
    camus: [1, 2, 4, "diagnosis segmentation diagnosis+segmentation"],
  };
  for (const [id, want] of Object.entries(expected)) {
    const d = getDataset(id);
    const n = (t: "diagnosis" | "segmentation") => d.tasks[t]?.classes.length ?? 0;
    assert.deepEqual(
      [d.channels, n("diagnosis"), n("segmentation"), datasetTasks(d).join(" ")],
      want,
      id,
    );
  }
});

Deno.test("resolveTask() maps the old and the dataset's own words onto the one vocabulary", () => {
  assert.deepEqual(inspectionTasks(DATASETS.camus), [
    "segmentation",
    "diagnosis",
    "phase",
    "quality",
  ]);
  assert.equal(resolveTask(DATASETS.covid_ct, "classification"), "diagnosis");
  assert.equal(resolveTask(DATASETS.lizard, "diagnosis"), "diagnosis");
  assert.equal(resolveTask(DATASETS.camus, "view"), "diagnosis");
  assert.equal(resolveTask(DATASETS.camus, "quality"), "quality");
  assert.throws(
    () => resolveTask(DATASETS.covid_ct, "segmentation"),
    /Expected task diagnosis for covid_ct but found "segmentation"/,
  );
  assert.throws(() => resolveTask(DATASETS.lizard, "view"), /Expected task segmentation or/);
  assert.throws(() => resolveTask(DATASETS.lizard, "constructor"), /found "constructor"/);
  assert.throws(() => getDataset("toString"), /Expected dataset isic2018, covid_ct, lizard, camus/);
});
